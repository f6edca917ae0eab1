// Chunked attention with recomputation in backward (a custom autograd function).
#include "lunar/nn/chunked_attention.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <mutex>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/nn/attention.h"

namespace lunar::nn {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The default generator of the query's device; its state is what dropout draws from.
at::Generator generator_for(const at::Tensor& x) {
  return x.is_cuda() ? at::globalContext().defaultGenerator(x.device())
                     : at::detail::getDefaultCPUGenerator();
}

at::Tensor generator_state(at::Generator& generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(at::Generator& generator, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

struct Chunk {
  int64_t start, length;
};

std::vector<Chunk> chunks_of(int64_t rows, int64_t chunk) {
  std::vector<Chunk> out;
  for (int64_t start = 0; start < rows; start += chunk)
    out.push_back({start, std::min(chunk, rows - start)});
  return out;
}

class ChunkedAttention : public torch::autograd::Function<ChunkedAttention> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& query, const at::Tensor& key,
                            const at::Tensor& value, const at::Tensor& divisor,
                            const c10::optional<at::Tensor>& optional_mask, double dropout,
                            bool training, int64_t chunk) {
    const auto key_mask = optional_mask.value_or(at::Tensor());
    const bool drops = training && dropout > 0;
    auto generator = generator_for(query);
    std::vector<at::Tensor> outputs, states;
    for (const auto& c : chunks_of(query.size(2), chunk)) {
      if (drops) states.push_back(generator_state(generator));
      outputs.push_back(scaled_attention(query.narrow(2, c.start, c.length), key, value, key_mask,
                                         divisor, dropout, training)
                            .output);
    }
    ctx->save_for_backward({query, key, value, divisor});
    if (key_mask.defined()) ctx->saved_data["key_mask"] = key_mask;
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["training"] = training;
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["states"] = c10::List<at::Tensor>(states);
    return at::cat(outputs, 2);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto found = ctx->saved_data.find("key_mask");
    const auto key_mask = found == ctx->saved_data.end() ? at::Tensor() : found->second.toTensor();
    const double dropout = ctx->saved_data["dropout"].toDouble();
    const bool training = ctx->saved_data["training"].toBool();
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const auto states = ctx->saved_data["states"].toTensorList();
    const auto& grad = grad_outputs[0];  // [B, H, Lq, Dv]

    // Leaves for the recomputation; key, value and divisor gather gradients over the chunks.
    const auto key = saved[1].detach().requires_grad_(saved[1].requires_grad());
    const auto value = saved[2].detach().requires_grad_(saved[2].requires_grad());
    const auto divisor = saved[3].detach().requires_grad_(saved[3].requires_grad());
    std::vector<at::Tensor> query_grads;
    at::Tensor key_grad, value_grad, divisor_grad;
    auto generator = generator_for(saved[0]);
    const auto resume_state = states.empty() ? at::Tensor() : generator_state(generator);
    size_t index = 0;
    for (const auto& c : chunks_of(saved[0].size(2), chunk)) {
      if (!states.empty()) set_generator_state(generator, states.get(index));
      ++index;
      const auto query = saved[0].narrow(2, c.start, c.length).detach().requires_grad_();
      at::AutoGradMode enable(true);
      const auto output =
          scaled_attention(query, key, value, key_mask, divisor, dropout, training).output;
      std::vector<at::Tensor> inputs{query};
      if (key.requires_grad()) inputs.push_back(key);
      if (value.requires_grad()) inputs.push_back(value);
      if (divisor.requires_grad()) inputs.push_back(divisor);
      const auto grads =
          torch::autograd::grad({output}, inputs, {grad.narrow(2, c.start, c.length)},
                                /*retain_graph=*/false, /*create_graph=*/false,
                                /*allow_unused=*/true);
      query_grads.push_back(grads[0]);
      size_t next = 1;
      const auto accumulate = [&](at::Tensor& total, const at::Tensor& leaf) {
        if (!leaf.requires_grad()) return;
        const auto& g = grads[next++];
        if (g.defined()) total = total.defined() ? total + g : g;
      };
      accumulate(key_grad, key);
      accumulate(value_grad, value);
      accumulate(divisor_grad, divisor);
    }
    if (resume_state.defined()) set_generator_state(generator, resume_state);
    return {at::cat(query_grads, 2),
            key_grad,
            value_grad,
            divisor_grad,
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor()};
  }
};
}  // namespace

at::Tensor chunked_attention(const at::Tensor& query, const at::Tensor& key,
                             const at::Tensor& value, const at::Tensor& key_mask,
                             const at::Tensor& divisor, double dropout, bool training,
                             int64_t chunk) {
  check(chunk >= 1, "[attention] expected a chunk of at least 1 query row, got {}", chunk);
  check(query.dim() == 4, "[attention] expected 4-D query [B, H, Lq, Dh], got {}-D", query.dim());
  // An undefined tensor cannot be an argument of an autograd function: pass the mask optional.
  const auto mask = key_mask.defined() ? c10::optional<at::Tensor>(key_mask) : c10::nullopt;
  return ChunkedAttention::apply(query, key, value, divisor, mask, dropout, training, chunk);
}

}  // namespace lunar::nn
