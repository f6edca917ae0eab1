// The fast CPU dropout against the semantics of the reference at::dropout.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lunar/nn/dropout.h"
#include "support/expectations.h"
#include "support/tensor_compare.h"
#include "support/threads.h"

namespace lunar::nn {
namespace {

TEST(Dropout, KeepsTheExpectedFractionAndScalesByIt) {
  at::manual_seed(3);
  const int64_t n = 1 << 20;
  for (double p : {0.1, 0.5}) {
    const auto x = at::ones({n / 256, 256});
    const auto y = fast_dropout(x, p, true);
    const double keep = 1.0 - std::round(p * 32768) / 32768;
    const auto kept = y.ne(0);
    // Binomial standard deviation of the kept fraction is below 5e-4 here; allow 5 of them.
    EXPECT_NEAR(kept.to(at::kDouble).mean().item<double>(), keep, 2.5e-3) << p;
    // Kept elements carry x / keep exactly, as at::dropout's x / (1 − p).
    EXPECT_TRUE(at::allclose(y.masked_select(kept), at::full({1}, 1.0 / keep), 0, 1e-6));
  }
}

TEST(Dropout, MatchesTheReferenceInMeanAndVarianceOfTheOutput) {
  at::manual_seed(4);
  const auto x = at::randn({512, 512});
  const auto fast = fast_dropout(x, 0.1, true);
  const auto reference = at::dropout(x, 0.1, true);
  EXPECT_NEAR(fast.mean().item<double>(), reference.mean().item<double>(), 0.01);
  EXPECT_NEAR(fast.var().item<double>() / reference.var().item<double>(), 1.0, 0.02);
}

TEST(Dropout, MaskBitsAreUnbiasedPerLane) {
  // Each 64-bit draw feeds four elements; every lane must see the same keep rate.
  at::manual_seed(5);
  const auto mask = dropout_keep_mask({1 << 20}, 0.5, at::TensorOptions()).view({-1, 4});
  const auto per_lane = mask.to(at::kDouble).mean(0);
  for (int lane = 0; lane < 4; ++lane) EXPECT_NEAR(per_lane[lane].item<double>(), 0.5, 4e-3);
  // Neighbouring lanes are independent: P(both kept) = 1/4.
  const auto both = mask.select(1, 0).logical_and(mask.select(1, 1)).to(at::kDouble).mean();
  EXPECT_NEAR(both.item<double>(), 0.25, 3e-3);
}

TEST(Dropout, GradientIsTheScaledMask) {
  at::manual_seed(6);
  const auto x = at::randn({64, 32}).requires_grad_();
  const auto y = fast_dropout(x, 0.25, true);
  y.sum().backward();
  // d(sum y)/dx = scale where kept, 0 where dropped: exactly y / x.
  EXPECT_TENSORS_CLOSE(x.grad(), (y / x).detach(), 1e-6, 1e-6);
}

TEST(Dropout, SeedReproducesTheMask) {
  const auto x = at::randn({40, 40});
  at::manual_seed(7);
  const auto a = fast_dropout(x, 0.3, true);
  at::manual_seed(7);
  const auto b = fast_dropout(x, 0.3, true);
  EXPECT_TRUE(a.equal(b));
}

TEST(Dropout, IsTheScaledKeepMaskBitForBit) {
  // fast_dropout builds its scale in one pass; it equals x · (mask.to(dtype) / keep) exactly.
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kDouble, at::kHalf}) {
    for (double p : {0.1, 0.5}) {
      const auto x = at::randn({3, 40, 24}).to(dtype);
      const double keep = 1.0 - std::round(p * 32768) / 32768;
      at::manual_seed(8);
      const auto fast = fast_dropout(x, p, true);
      at::manual_seed(8);
      const auto reference = x * (dropout_keep_mask(x.sizes(), p, x.options()).to(dtype) / keep);
      EXPECT_EQ(fast.scalar_type(), dtype);
      EXPECT_TRUE(fast.equal(reference)) << dtype << " p=" << p;
    }
  }
  // A non-contiguous input: the scale follows the logical order, as the mask did.
  const auto t = at::randn({16, 24}).t();
  at::manual_seed(9);
  const auto fast = fast_dropout(t, 0.3, true);
  at::manual_seed(9);
  const double keep = 1.0 - std::round(0.3 * 32768) / 32768;
  EXPECT_TRUE(
      fast.equal(t * (dropout_keep_mask(t.sizes(), 0.3, t.options()).to(at::kFloat) / keep)));
}

// The keep mask as fast_dropout drew it before draw_random64: random_() on count / 4 int64,
// then the low 15 bits of each 16-bit lane against round(p·2¹⁵).
at::Tensor random_keep_mask(at::IntArrayRef shape, double p) {
  const auto bits = at::empty({c10::multiply_integers(shape) / 4}, at::kLong).random_();
  return bits.view(at::kShort)
      .bitwise_and(0x7fff)
      .ge(static_cast<int64_t>(std::llround(p * 32768)))
      .view(shape);
}

at::Tensor default_generator_state() { return at::detail::getDefaultCPUGenerator().get_state(); }

TEST(Dropout, DrawsTheBitsOfRandomOnInt64AndLeavesTheGeneratorAsItDid) {
  // Every seed must keep giving the masks (and training runs) it gave: same bits, same state
  // after, at one thread and at two (the bits are consumed in parallel).
  const std::vector<std::vector<int64_t>> shapes = {{4}, {3, 40, 24}, {5, 1000, 4}, {1 << 20}};
  for (int threads : {1, 2}) {
    const lunar::testing::IntraOpThreads scope(threads);
    for (const auto& shape : shapes) {
      for (double p : {0.1, 0.5, 0.9}) {
        const auto where = ::testing::Message() << "threads " << threads << " numel "
                                                << c10::multiply_integers(shape) << " p " << p;
        at::manual_seed(21);
        const auto mask = dropout_keep_mask(shape, p, at::TensorOptions());
        const auto mask_state = default_generator_state();
        at::manual_seed(21);
        const auto want_mask = random_keep_mask(shape, p);
        EXPECT_TRUE(mask.equal(want_mask)) << where;
        EXPECT_TRUE(mask_state.equal(default_generator_state())) << where;

        const double keep = 1.0 - std::round(p * 32768) / 32768;
        for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf, at::kDouble}) {
          const auto x = at::randn(shape).to(dtype);
          at::manual_seed(22);
          const auto y = fast_dropout(x, p, true);
          const auto y_state = default_generator_state();
          at::manual_seed(22);
          const auto want = x * (random_keep_mask(shape, p).to(dtype) / keep);
          EXPECT_TRUE(y.equal(want)) << where << " " << dtype;
          EXPECT_TRUE(y_state.equal(default_generator_state())) << where << " " << dtype;
        }
      }
    }
    // Non-contiguous input: the bits follow the logical order.
    const auto t = at::randn({48, 64}).t();
    at::manual_seed(23);
    const auto y = fast_dropout(t, 0.3, true);
    at::manual_seed(23);
    const double keep = 1.0 - std::round(0.3 * 32768) / 32768;
    EXPECT_TRUE(y.equal(t * (random_keep_mask(t.sizes(), 0.3).to(at::kFloat) / keep))) << threads;
  }
}

TEST(Dropout, IsTheIdentityOutsideTrainingOrAtZero) {
  const auto x = at::randn({8, 8});
  EXPECT_TRUE(fast_dropout(x, 0.5, false).equal(x));
  EXPECT_TRUE(fast_dropout(x, 0.0, true).equal(x));
  const auto odd = at::ones({7});  // not a multiple of 4: the reference path, same semantics
  const auto y = fast_dropout(odd, 0.5, true);
  EXPECT_TRUE(y.eq(0).logical_or(y.eq(2)).all().item<bool>());
  lunar::testing::expect_error([] { dropout_keep_mask({8}, 1.0, at::TensorOptions()); },
                               "0 <= p < 1");
}

}  // namespace
}  // namespace lunar::nn
