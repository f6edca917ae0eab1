// Transformer and Luna-family blocks.
#include "lunar/models/blocks.h"

#include <cmath>

#include "lunar/nn/attention.h"

namespace lunar::models {

namespace {
torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps));
}
}  // namespace

TransformerBlockImpl::TransformerBlockImpl(TransformerBlockOptions options_)
    : options(std::move(options_)) {
  reset();
}

AttentionKernel softmax_kernel(torch::nn::Module& /*block*/, const TransformerBlockOptions& options,
                               int64_t head_dim) {
  const double dropout = options.attention_dropout();
  const double scale = std::sqrt(static_cast<double>(head_dim));
  return {[dropout, scale](const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                           const at::Tensor& mask, bool training) -> KernelOutput {
            // The divisor in the residual stream's precision (float32 under bf16 autocast).
            const auto type = query.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
            const auto divisor = at::full({}, scale, query.options().dtype(type));
            auto result = nn::scaled_attention(query, key, value, mask, divisor, dropout, training);
            return {result.output, result.weights};
          },
          {}};
}

void TransformerBlockImpl::reset() {
  attention = register_module(
      "attention",
      nn::AttentionProjections(nn::AttentionProjectionsOptions(options.dim(), options.num_heads())
                                   .attention_dim(options.attention_dim())
                                   .output(options.output_projection())));
  kernel = options.kernel()(*this, options, attention->head_dim());
  feedforward = register_module(
      "feedforward",
      nn::FeedForward(
          nn::FeedForwardOptions(options.dim(), options.ffn_dim()).dropout(options.dropout())));
  attention_norm = register_module("attention_norm", layer_norm(options.dim()));
  feedforward_norm = register_module("feedforward_norm", layer_norm(options.dim()));
}

TransformerBlockOutput TransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const auto input = options.pre_norm() ? attention_norm->forward(x) : x;
  const auto attended = kernel.attend(attention->query(input), attention->key(input),
                                      attention->value(input), mask, is_training());
  const auto output = attention->output(attended.heads);
  if (options.pre_norm()) {
    const auto x_a = x + output;
    return {x_a + feedforward->forward(feedforward_norm->forward(x_a)), attended.weights};
  }
  const auto x_a = attention_norm->forward(x + output);
  return {feedforward_norm->forward(x_a + feedforward->forward(x_a)), attended.weights};
}

at::Tensor TransformerBlockImpl::regularization() const {
  return kernel.regularization ? kernel.regularization() : at::Tensor();
}

LunaBlockImpl::LunaBlockImpl(LunaBlockOptions options_) : options(std::move(options_)) { reset(); }

void LunaBlockImpl::reset() {
  const int64_t dim = options.attention().dim();
  attention = register_module("attention", nn::PackUnpack(options.attention()));
  feedforward = register_module(
      "feedforward",
      nn::FeedForward(nn::FeedForwardOptions(dim, options.ffn_dim()).dropout(options.dropout())));
  sequence_norm = register_module("sequence_norm", layer_norm(dim));
  memory_norm = register_module("memory_norm", layer_norm(dim));
  feedforward_norm = register_module("feedforward_norm", layer_norm(dim));
  if (options.pre_norm()) packed_norm = register_module("packed_norm", layer_norm(dim));
}

LunaBlockOutput LunaBlockImpl::forward(const at::Tensor& x, const at::Tensor& memory,
                                       const at::Tensor& mask) {
  if (options.pre_norm()) {
    const auto normed_x = sequence_norm->forward(x);
    auto packed = attention->pack(memory_norm->forward(memory), normed_x, mask);
    const auto y_p = packed_norm->forward(packed.packed);
    auto unpacked = attention->unpack(normed_x, y_p);
    const auto x_a = x + unpacked.sequence;
    return {x_a + feedforward->forward(feedforward_norm->forward(x_a)), memory + y_p,
            packed.weights, packed.mask, unpacked.weights};
  }
  auto packed = attention->pack(memory, x, mask);
  auto unpacked = attention->unpack(x, packed.packed);
  const auto x_a = sequence_norm->forward(x + unpacked.sequence);
  return {feedforward_norm->forward(x_a + feedforward->forward(x_a)),
          memory_norm->forward(memory + packed.packed), packed.weights, packed.mask,
          unpacked.weights};
}

}  // namespace lunar::models
