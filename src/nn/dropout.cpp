// Dropout with a cheap CPU mask.
#include "lunar/nn/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "lunar/core/error.h"
#include "lunar/nn/mt19937_stream.h"

namespace lunar::nn {

namespace {
constexpr int64_t kLevels = 1 << 15;  // 15 random bits per element

int64_t drop_threshold(double p) { return std::llround(p * kLevels); }

// Calls set(i, bits) for each element i < count with its 15 random bits, in parallel. Element
// 4j + k takes the 16-bit lane k (from the least significant) of the default generator's j-th
// random64(), less its top bit: the lanes of random_() on an int64 tensor of count / 4 numbers,
// which drops only the top bit of each, so every seed gives the masks it gave with random_().
template <typename Set>
void for_each_dropout_bits(int64_t count, const Set& set) {
  draw_random64(at::detail::getDefaultCPUGenerator(), count / 4,
                [&](int64_t first, const uint64_t* values, int64_t size) {
                  for (int64_t j = 0; j < size; ++j) {
                    for (int k = 0; k < 4; ++k) {
                      set(4 * (first + j) + k, uint32_t(values[j] >> (16 * k)) & (kLevels - 1));
                    }
                  }
                });
}
}  // namespace

at::Tensor dropout_keep_mask(at::IntArrayRef shape, double p, const at::TensorOptions& options) {
  check(p >= 0 && p < 1, "[dropout] expected 0 <= p < 1, got {}", p);
  const int64_t count = c10::multiply_integers(shape);
  check(count % 4 == 0, "[dropout] the fast mask needs a multiple of 4 elements, got {}", count);
  if (!options.device().is_cpu()) {
    // Another device's random_() is parallel and draws from that device's generator.
    const auto bits = at::empty({count / 4}, options.dtype(at::kLong)).random_();
    return bits.view(at::kShort).bitwise_and(kLevels - 1).ge(drop_threshold(p)).view(shape);
  }
  auto mask = at::empty(shape, options.dtype(at::kBool));
  auto* out = mask.data_ptr<bool>();
  const auto first_kept = static_cast<uint32_t>(drop_threshold(p));
  for_each_dropout_bits(count, [&](int64_t i, uint32_t bits) { out[i] = bits >= first_kept; });
  return mask;
}

at::Tensor fast_dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  if (x.is_cuda() || x.numel() % 4 != 0) return at::dropout(x, p, true);
  const double keep = 1.0 - static_cast<double>(drop_threshold(p)) / kLevels;
  if (!at::isFloatingType(x.scalar_type())) {
    return x * (dropout_keep_mask(x.sizes(), p, x.options()).to(x.scalar_type()) / keep);
  }
  check(p >= 0 && p < 1, "[dropout] expected 0 <= p < 1, got {}", p);
  // The scale dropout_keep_mask(...).to(dtype) / keep in one pass over the random bits (four
  // passes and a bool tensor before): kept elements get the value that division gives.
  const auto kept = at::ones({1}, x.options()) / keep;
  auto scale = at::empty(x.sizes(), x.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "fast_dropout", [&] {
    using bits_t =
        std::conditional_t<sizeof(scalar_t) == 2, uint16_t,
                           std::conditional_t<sizeof(scalar_t) == 4, uint32_t, uint64_t>>;
    static_assert(sizeof(bits_t) == sizeof(scalar_t));
    bits_t value;  // the bits of a kept element's scale; a dropped one's are 0 (+0.0)
    const scalar_t kept_value = kept.item<scalar_t>();
    std::memcpy(&value, &kept_value, sizeof(value));
    auto* out = reinterpret_cast<bits_t*>(scale.data_ptr<scalar_t>());
    const auto first_kept = static_cast<uint32_t>(drop_threshold(p));  // kLevels: nothing kept
    for_each_dropout_bits(x.numel(), [&](int64_t i, uint32_t bits) {
      out[i] = -static_cast<bits_t>(bits >= first_kept) & value;
    });
  });
  return x * scale;
}

}  // namespace lunar::nn
