// Chunked attention with recomputation against the reference scaled_attention, forward and
// backward, and against central differences with dropout on.
#include <gtest/gtest.h>

#include "lunar/nn/attention.h"
#include "lunar/nn/chunked_attention.h"
#include "support/expectations.h"
#include "support/gradcheck.h"
#include "support/tensor_compare.h"

namespace lunar::nn {
namespace {

struct Inputs {
  at::Tensor query, key, value, mask, divisor;
};

Inputs make_inputs(int64_t lq, int64_t lk, bool masked) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  Inputs in;
  in.query = at::randn({2, 3, lq, 4}, f64).requires_grad_();
  in.key = at::randn({2, 3, lk, 4}, f64).requires_grad_();
  in.value = at::randn({2, 3, lk, 5}, f64).requires_grad_();
  in.divisor = at::full({}, 1.7, f64).requires_grad_();  // a learned temperature
  if (masked) {
    in.mask = at::ones({2, lk}, at::kBool);
    in.mask[1].narrow(0, lk - 3, 3).fill_(false);
  }
  return in;
}

std::vector<at::Tensor> gradients(const at::Tensor& output, const Inputs& in,
                                  const at::Tensor& upstream) {
  return torch::autograd::grad({output}, {in.query, in.key, in.value, in.divisor}, {upstream});
}

TEST(ChunkedAttention, EqualsTheReferenceForwardAndBackward) {
  at::manual_seed(1);
  for (int64_t chunk : {1, 3, 4, 7, 50}) {
    for (bool masked : {false, true}) {
      const auto in = make_inputs(7, 9, masked);
      const auto upstream = at::randn({2, 3, 7, 5}, at::kDouble);
      const auto reference =
          scaled_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true).output;
      const auto chunked =
          chunked_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true, chunk);
      EXPECT_TENSORS_CLOSE(chunked, reference, 1e-12, 1e-12);
      const auto want = gradients(reference, in, upstream);
      const auto got = gradients(chunked, in, upstream);
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_TENSORS_CLOSE(got[i], want[i], 1e-10, 1e-12) << "chunk " << chunk << " input " << i;
      }
    }
  }
}

TEST(ChunkedAttention, BackwardRedrawsTheForwardDropoutMasks) {
  // With dropout on, each call is a fixed function only if its masks are fixed: reseed before
  // every call. Central differences then check that backward used the forward's masks.
  const auto in = make_inputs(6, 8, true);
  const auto weights = at::randn({2, 3, 6, 5}, at::kDouble);
  const auto loss = [&] {
    at::manual_seed(11);
    return (chunked_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.3, true, 4) *
            weights)
        .sum();
  };
  EXPECT_TRUE(lunar::testing::gradcheck(loss, {in.query, in.key, in.value, in.divisor}));
}

TEST(ChunkedAttention, LeavesTheGeneratorWhereForwardLeftIt) {
  const auto in = make_inputs(6, 8, false);
  at::manual_seed(5);
  const auto output =
      chunked_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.3, true, 2);
  const auto after_forward = at::randn({4});
  at::manual_seed(5);
  const auto again =
      chunked_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.3, true, 2);
  output.sum().backward();  // recomputes with the saved states, then restores the stream
  EXPECT_TRUE(at::randn({4}).equal(after_forward));
  EXPECT_TRUE(again.equal(output));
}

TEST(ChunkedAttention, RejectsAnEmptyChunk) {
  const auto in = make_inputs(4, 4, false);
  lunar::testing::expect_error(
      [&] { chunked_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true, 0); },
      "chunk of at least 1");
}

}  // namespace
}  // namespace lunar::nn
