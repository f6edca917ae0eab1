// Dropout with a cheap CPU mask.
#include "lunar/nn/dropout.h"

#include <cmath>

#include "lunar/core/error.h"

namespace lunar::nn {

namespace {
constexpr int64_t kLevels = 1 << 15;  // 15 random bits per element

int64_t drop_threshold(double p) { return std::llround(p * kLevels); }
}  // namespace

at::Tensor dropout_keep_mask(at::IntArrayRef shape, double p, const at::TensorOptions& options) {
  check(p >= 0 && p < 1, "[dropout] expected 0 <= p < 1, got {}", p);
  const int64_t count = c10::multiply_integers(shape);
  check(count % 4 == 0, "[dropout] the fast mask needs a multiple of 4 elements, got {}", count);
  // random_() fills int64 with 63 uniform bits: each 16-bit lane has 15 uniform low bits.
  const auto bits = at::empty({count / 4}, options.dtype(at::kLong)).random_();
  const auto lanes = bits.view(at::kShort).bitwise_and(kLevels - 1);
  return lanes.ge(drop_threshold(p)).view(shape);
}

at::Tensor fast_dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (x.is_cuda() || x.numel() % 4 != 0) return at::dropout(x, p, true);
  const double keep = 1.0 - static_cast<double>(drop_threshold(p)) / kLevels;
  const auto scale = dropout_keep_mask(x.sizes(), p, x.options()).to(x.scalar_type()) / keep;
  return x * scale;
}

}  // namespace lunar::nn
