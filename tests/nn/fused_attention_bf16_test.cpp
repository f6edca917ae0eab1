// Fused attention's bf16 path and its dispatch, and PackUnpack's `fused` option.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "lunar/nn/attention.h"
#include "lunar/nn/fused_attention.h"
#include "lunar/nn/pack_unpack.h"
#include "support/tensor_compare.h"
#include "support/threads.h"

namespace lunar::nn {
namespace {

struct Leaves {
  at::Tensor query, key, value, divisor;
  std::vector<at::Tensor> all() const { return {query, key, value, divisor}; }
};

// bf16 inputs and the same values in fp32 (bf16 → fp32 is exact).
std::pair<Leaves, Leaves> bf16_and_float(int64_t lq, int64_t lk, double divisor) {
  const auto q = at::randn({2, 4, lq, 32}).to(at::kBFloat16);
  const auto k = at::randn({2, 4, lk, 32}).to(at::kBFloat16);
  const auto v = at::randn({2, 4, lk, 32}).to(at::kBFloat16);
  const auto leaves = [&](at::ScalarType dtype) {
    return Leaves{q.to(dtype).requires_grad_(), k.to(dtype).requires_grad_(),
                  v.to(dtype).requires_grad_(), at::full({}, divisor).requires_grad_()};
  };
  return {leaves(at::kBFloat16), leaves(at::kFloat)};
}

std::vector<at::Tensor> gradients(const at::Tensor& output, const Leaves& in,
                                  const at::Tensor& upstream) {
  return torch::autograd::grad({output}, in.all(), {upstream});
}

at::Tensor max_error(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max();
}

TEST(FusedAttentionBf16, SelectsTheKernelByDtypeAndCpu) {
  EXPECT_EQ(select_fused_kernel(at::kDouble, true), FusedKernel::kFloat64);
  EXPECT_EQ(select_fused_kernel(at::kFloat, true), FusedKernel::kFloat32);
  EXPECT_EQ(select_fused_kernel(at::kBFloat16, true), FusedKernel::kBFloat16);
  EXPECT_EQ(select_fused_kernel(at::kBFloat16, false), FusedKernel::kBFloat16ViaFloat32);
}

TEST(FusedAttentionBf16, NativePathAgreesWithFloat32WithinBf16Rounding) {
  // bf16 has an 8-bit significand: unit roundoff u = 2⁻⁸ ≈ 3.9e-3. The native kernels (this
  // CPU) round the probabilities and the output to bf16 and keep logits and sums in fp32; an
  // output is a weighted mean of values with |v| ≲ 4.5, so its worst element is off by about
  // 2u·4.5 ≈ 0.035, and errors of opposite signs mostly cancel, so the mean error is below u.
  // The at::mm path (bf16_native on a CPU without AVX512-BF16) also rounds each block's logits
  // (|s| ≲ 5 here) and P·V, up to (5u + 2u)·4.5 in the worst case. Gradients take the same
  // roundings twice more (dS, and the products of backward). The bounds: 4.5u·4.5 ≈ 0.08 for
  // the worst output, u for the mean; the native kernels are also held to an elementwise bound
  // derived from their inputs in fused_attention_native_bf16_test.cpp.
  const lunar::testing::IntraOpThreads threads;  // the kernel's tasks run at once
  at::manual_seed(11);
  const auto [low, full] = bf16_and_float(100, 300, std::sqrt(32.0));
  FusedAttentionConfig native;
  native.bf16_native = true;
  const auto upstream = at::randn({2, 4, 100, 32});
  const auto out_low =
      fused_attention(low.query, low.key, low.value, {}, low.divisor, 0, true, native);
  const auto out_full =
      fused_attention(full.query, full.key, full.value, {}, full.divisor, 0, true);
  ASSERT_EQ(out_low.scalar_type(), at::kBFloat16);
  constexpr double u = 1.0 / 256;
  EXPECT_LT(max_error(out_low, out_full).item<double>(), 4.5 * u * 4.5);
  EXPECT_LT((out_low.to(at::kFloat) - out_full).abs().mean().item<double>(), u);
  const auto want = gradients(out_full, full, upstream);
  const auto got = gradients(out_low, low, upstream.to(at::kBFloat16));
  for (size_t i = 0; i < want.size(); ++i) {
    const double scale = want[i].abs().max().item<double>();
    EXPECT_LT(max_error(got[i], want[i]).item<double>(), 12 * u * scale) << "input " << i;
    EXPECT_LT((got[i].to(at::kFloat) - want[i]).abs().mean().item<double>(), 2 * u * scale)
        << "input " << i;
  }
}

TEST(FusedAttentionBf16, WithoutAvx512Bf16ComputesInFloat32) {
  // The fallback is the fp32 kernel on the same values, rounded once at the end: with a power
  // of two as the divisor (exact in both dtypes) it equals the fp32 kernel bit for bit.
  at::manual_seed(12);
  const auto [low, full] = bf16_and_float(70, 90, 2.0);
  FusedAttentionConfig fallback;
  fallback.bf16_native = false;
  const auto upstream = at::randn({2, 4, 70, 32}).to(at::kBFloat16);
  const auto out_low =
      fused_attention(low.query, low.key, low.value, {}, low.divisor, 0, true, fallback);
  const auto out_full =
      fused_attention(full.query, full.key, full.value, {}, full.divisor, 0, true);
  ASSERT_EQ(out_low.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(out_low.equal(out_full.to(at::kBFloat16)));
  const auto want = gradients(out_full, full, upstream.to(at::kFloat));
  const auto got = gradients(out_low, low, upstream);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(got[i].scalar_type(), at::kBFloat16);
    EXPECT_TRUE(got[i].equal(want[i].to(at::kBFloat16))) << "input " << i;
  }
}

TEST(FusedAttentionBf16, PackUnpackFusedEqualsTheReferencePath) {
  // The same module with `fused` off and on, in float64: outputs and every parameter gradient
  // agree; fused results carry no weights while gradients are recorded, and the reference path
  // (with weights) serves evaluation without gradients.
  at::manual_seed(13);
  PackUnpack module(PackUnpackOptions(16, 4).dropout(0.1));
  module->to(at::kDouble);
  const auto memory = at::randn({2, 5, 16}, at::kDouble);
  const auto x = at::randn({2, 40, 16}, at::kDouble);
  auto mask = at::ones({2, 40}, at::kBool);
  mask[1].narrow(0, 30, 10).fill_(false);
  const auto run = [&](bool fused) {
    module->options.fused(fused);
    module->eval();  // dropout off: the two paths draw different masks
    module->zero_grad();
    const auto packed = module->pack(memory, x, mask);
    const auto unpacked = module->unpack(x, packed.packed);
    EXPECT_EQ(packed.weights.defined(), !fused);
    EXPECT_EQ(unpacked.weights.defined(), !fused);
    (packed.packed.sin().sum() + unpacked.sequence.cos().sum()).backward();
    std::vector<at::Tensor> out{packed.packed.detach(), unpacked.sequence.detach()};
    for (const auto& p : module->parameters()) out.push_back(p.grad().clone());
    return out;
  };
  const auto reference = run(false);
  const auto fused = run(true);
  ASSERT_EQ(reference.size(), fused.size());
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_TENSORS_CLOSE(fused[i], reference[i], 1e-10, 1e-12) << "tensor " << i;
  }
  at::NoGradGuard no_grad;
  EXPECT_TRUE(module->pack(memory, x, mask).weights.defined());
}

}  // namespace
}  // namespace lunar::nn
