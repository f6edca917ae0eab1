// Optional Q/K/V/O projections around attention.
#include "lunar/nn/projections.h"

#include "lunar/core/error.h"
#include "lunar/nn/attention.h"
#include "lunar/runtime/compat.h"

namespace lunar::nn {

// torch::nn::Linear's forward (the C++ frontend's F::linear) adds the bias as `output += bias`
// to the product of an input of more than two dimensions. Under CPU autocast the product is
// bf16 and the bias fp32, so that add mixes dtypes: a casting pass over the whole output that
// took about 4% of a bf16 Luna step.
// at::linear is itself an autocast op, which casts the bias with the weight and adds it in bf16
// (as PyTorch's nn.Linear does under autocast). Without autocast the frontend's forward is
// kept, so fp32 results are unchanged bit for bit.
at::Tensor linear_forward(torch::nn::Linear& layer, const at::Tensor& x) {
  if (x.is_cpu() && compat::autocast_enabled(at::kCPU)) {
    return at::linear(x, layer->weight, layer->bias);
  }
  return layer->forward(x);
}

AttentionProjectionsImpl::AttentionProjectionsImpl(AttentionProjectionsOptions options_)
    : options(std::move(options_)) {
  reset();
}

void AttentionProjectionsImpl::reset() {
  const int64_t width = options.attention_dim() > 0 ? options.attention_dim() : options.dim();
  check(options.num_heads() >= 1 && width % options.num_heads() == 0,
        "[model] expected num_heads dividing the attention width {}, got num_heads = {}", width,
        options.num_heads());
  const bool all_projected =
      options.query() && options.key() && options.value() && options.output();
  check(all_projected || width == options.dim(),
        "[model] expected attention_dim equal to dim ({}) when an attention input or output is "
        "not projected (simplified ConvLuna, official Luna's pack), got {}",
        options.dim(), width);
  if (options.query())
    query_proj = register_module("query", torch::nn::Linear(options.dim(), width));
  if (options.key()) key_proj = register_module("key", torch::nn::Linear(options.dim(), width));
  if (options.value())
    value_proj = register_module("value", torch::nn::Linear(options.dim(), width));
  if (options.output()) {
    const int64_t value_width = options.value() ? width : options.dim();
    output_proj = register_module("output", torch::nn::Linear(value_width, options.dim()));
  }
}

at::Tensor AttentionProjectionsImpl::project(torch::nn::Linear& layer, const at::Tensor& x) {
  return split_heads(layer ? linear_forward(layer, x) : x, options.num_heads());
}

at::Tensor AttentionProjectionsImpl::query(const at::Tensor& x) { return project(query_proj, x); }
at::Tensor AttentionProjectionsImpl::key(const at::Tensor& x) { return project(key_proj, x); }
at::Tensor AttentionProjectionsImpl::value(const at::Tensor& x) { return project(value_proj, x); }

at::Tensor AttentionProjectionsImpl::output(const at::Tensor& heads) {
  auto merged = merge_heads(heads);
  return output_proj ? linear_forward(output_proj, merged) : merged;
}

int64_t AttentionProjectionsImpl::head_dim() const {
  const int64_t width = options.attention_dim() > 0 ? options.attention_dim() : options.dim();
  return width / options.num_heads();
}

}  // namespace lunar::nn
