// Pack and unpack attention of the Luna family.
#include "lunar/nn/pack_unpack.h"

#include "lunar/nn/attention.h"
#include "lunar/nn/chunked_attention.h"
#include "lunar/nn/fused_attention.h"

namespace lunar::nn {

namespace {
AttentionProjectionsOptions projection_options(const PackUnpackOptions& o, const ProjectionSet& p) {
  return AttentionProjectionsOptions(o.dim(), o.num_heads())
      .attention_dim(o.attention_dim())
      .query(p.query)
      .key(p.key)
      .value(p.value)
      .output(p.output);
}
}  // namespace

PackUnpackImpl::PackUnpackImpl(PackUnpackOptions options_) : options(std::move(options_)) {
  reset();
}

void PackUnpackImpl::reset() {
  if (options.shared()) {
    pack_attention = register_module(
        "attention", AttentionProjections(projection_options(options, options.pack_projections())));
    unpack_attention = pack_attention;
  } else {
    pack_attention = register_module(
        "pack", AttentionProjections(projection_options(options, options.pack_projections())));
    unpack_attention = register_module(
        "unpack", AttentionProjections(projection_options(options, options.unpack_projections())));
  }
  const int64_t head_dim = pack_attention->head_dim();
  filter = register_module(
      "filter", SequenceFilter(SequenceFilterOptions(options.filter(), options.num_heads(),
                                                     options.kernel(), options.stride())));
  pack_temperature = register_module(
      "pack_temperature", Temperature(TemperatureOptions(options.pack_temperature(), head_dim)));
  unpack_temperature =
      register_module("unpack_temperature",
                      Temperature(TemperatureOptions(options.unpack_temperature(), head_dim)));
}

namespace {
thread_local int weights_unused_depth = 0;
}  // namespace

AttentionWeightsUnused::AttentionWeightsUnused() { ++weights_unused_depth; }
AttentionWeightsUnused::~AttentionWeightsUnused() { --weights_unused_depth; }
bool AttentionWeightsUnused::active() { return weights_unused_depth > 0; }

AttentionResult PackUnpackImpl::attend(const at::Tensor& query, const at::Tensor& key,
                                       const at::Tensor& value, const at::Tensor& key_mask,
                                       const at::Tensor& divisor) const {
  // Without gradients the reference path runs, as it returns the weights, unless the caller
  // said they are unused (evaluation, prediction).
  if (options.fused() && query.device().is_cpu() &&
      (at::GradMode::is_enabled() || AttentionWeightsUnused::active())) {
    return {fused_attention(query, key, value, key_mask, divisor, options.dropout(), is_training()),
            at::Tensor()};
  }
  const int64_t chunk = options.chunk();
  if (chunk > 0 && query.size(2) > chunk && at::GradMode::is_enabled()) {
    return {chunked_attention(query, key, value, key_mask, divisor, options.dropout(),
                              is_training(), chunk),
            at::Tensor()};
  }
  return scaled_attention(query, key, value, key_mask, divisor, options.dropout(), is_training());
}

PackResult PackUnpackImpl::pack(const at::Tensor& memory, const at::Tensor& x,
                                const at::Tensor& key_mask) {
  const auto query = pack_attention->query(memory);  // [B, H, M, Dh]
  // ConvLuna filters the packing keys and values; the same filter F serves both.
  const auto keys = filter->forward(pack_attention->key(x), key_mask);      // [B, H, L', Dh]
  const auto values = filter->forward(pack_attention->value(x), key_mask);  // [B, H, L', Dv]
  auto result = attend(query, keys.values, values.values, keys.mask, pack_temperature->divisor());
  return {pack_attention->output(result.output), result.weights, keys.mask};
}

UnpackResult PackUnpackImpl::unpack(const at::Tensor& x, const at::Tensor& packed) {
  auto result =
      attend(unpack_attention->query(x), unpack_attention->key(packed),
             unpack_attention->value(packed), at::Tensor(), unpack_temperature->divisor());
  return {unpack_attention->output(result.output), result.weights};
}

}  // namespace lunar::nn
