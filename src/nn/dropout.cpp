// Dropout with a cheap CPU mask.
#include "lunar/nn/dropout.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

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
  if (!at::isFloatingType(x.scalar_type())) {
    return x * (dropout_keep_mask(x.sizes(), p, x.options()).to(x.scalar_type()) / keep);
  }
  check(p >= 0 && p < 1, "[dropout] expected 0 <= p < 1, got {}", p);
  // The scale dropout_keep_mask(...).to(dtype) / keep in one pass over the same random bits
  // (four passes and a bool tensor before): kept elements get the value that division gives.
  const int64_t count = x.numel();
  const auto bits = at::empty({count / 4}, x.options().dtype(at::kLong)).random_();
  const auto kept = at::ones({1}, x.options()) / keep;
  auto scale = at::empty(x.sizes(), x.options());
  const int64_t threshold = drop_threshold(p);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "fast_dropout", [&] {
    using bits_t =
        std::conditional_t<sizeof(scalar_t) == 2, uint16_t,
                           std::conditional_t<sizeof(scalar_t) == 4, uint32_t, uint64_t>>;
    static_assert(sizeof(bits_t) == sizeof(scalar_t));
    bits_t value;  // the bits of a kept element's scale; a dropped one's are 0 (+0.0)
    const scalar_t kept_value = kept.item<scalar_t>();
    std::memcpy(&value, &kept_value, sizeof(value));
    const auto* lanes = reinterpret_cast<const uint16_t*>(bits.data_ptr<int64_t>());
    auto* out = reinterpret_cast<bits_t*>(scale.data_ptr<scalar_t>());
    const auto level = static_cast<uint16_t>(kLevels - 1);
    const auto first_kept = static_cast<uint32_t>(threshold);  // kLevels: nothing kept
    at::parallel_for(0, count, 1 << 15, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const bits_t keep_all = -static_cast<bits_t>(uint32_t(lanes[i] & level) >= first_kept);
        out[i] = keep_all & value;
      }
    });
  });
  return x * scale;
}

}  // namespace lunar::nn
