// Depthwise-per-head convolution and max-pool along the sequence axis.
#include "lunar/nn/filter.h"

#include <torch/nn/init.h>

#include <cmath>

#include "lunar/core/error.h"

namespace lunar::nn {

SequenceFilterImpl::SequenceFilterImpl(SequenceFilterOptions options_)
    : options(std::move(options_)) {
  reset();
}

void SequenceFilterImpl::reset() {
  check(options.kernel() >= 1, "[model] expected convluna.kernel >= 1, got {}", options.kernel());
  check(options.stride() >= 1, "[model] expected convluna.stride >= 1, got {}", options.stride());
  if (options.kind() == FilterKind::conv && !is_identity()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.kernel()));
    weight = register_parameter("weight", at::empty({options.num_heads(), options.kernel()}));
    torch::nn::init::uniform_(weight, -bound, bound);
  }
}

bool SequenceFilterImpl::is_identity() const { return options.kernel() == 1; }

bool SequenceFilterImpl::pads() const {
  return options.kind() == FilterKind::conv && options.stride() == 1;
}

int64_t SequenceFilterImpl::output_length(int64_t length) const {
  if (is_identity() || pads()) return length;
  return length < options.kernel() ? 0 : (length - options.kernel()) / options.stride() + 1;
}

FilterResult SequenceFilterImpl::forward(const at::Tensor& x, const at::Tensor& mask) const {
  if (is_identity()) return {x, mask};
  check(x.dim() == 4 && x.size(1) == options.num_heads(),
        "[filter] expected [B, H={}, L, Dh], got {}-D with {} heads", options.num_heads(), x.dim(),
        x.dim() > 1 ? x.size(1) : 0);
  const int64_t batch = x.size(0), heads = x.size(1), length = x.size(2), width = x.size(3);
  check(output_length(length) >= 1,
        "[filter] expected a sequence of at least kernel = {} positions for an unpadded filter, "
        "got {}",
        options.kernel(), length);
  auto input = x;
  if (mask.defined()) input = x.masked_fill(mask.logical_not().view({batch, 1, length, 1}), 0);
  const int64_t k = options.kernel(), s = options.stride();
  at::Tensor values, out_mask;
  if (options.kind() == FilterKind::conv) {
    values = sequence_conv(input, weight, s, pads() ? (k - 1) / 2 : 0, output_length(length));
  } else {
    // [B, H, L, Dh] -> [B, H·Dh, L]: each (head, feature) channel is pooled independently.
    auto channels = input.permute({0, 1, 3, 2}).reshape({batch, heads * width, length});
    const auto pooled = at::max_pool1d(channels, {k}, {s});
    values = pooled.view({batch, heads, width, pooled.size(2)}).permute({0, 1, 3, 2});
  }
  if (mask.defined() && pads()) {
    out_mask = mask;
  } else if (mask.defined()) {
    // A window is real only if all its positions are: min-pool of the mask.
    auto real = mask.to(at::kFloat).unsqueeze(1);
    out_mask = at::max_pool1d(-real, {k}, {s}).neg().squeeze(1) > 0.5;
    // Keep the first window when a sequence is shorter than k, so no row is fully masked.
    auto none = out_mask.any(1).logical_not();
    out_mask.select(1, 0).logical_or_(none);
  }
  return {values, out_mask};
}

}  // namespace lunar::nn
