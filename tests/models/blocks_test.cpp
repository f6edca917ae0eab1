// Every block against a hand composition of the equations of docs/models.md, using the module's own
// weights: LayerNorm, GELU, projections, softmax and the ConvLuna filters written out here.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "lunar/models/blocks.h"
#include "lunar/models/encoder.h"
#include "support/tensor_compare.h"
#include "tiny_models.h"

namespace {

using namespace lunar::models;
using namespace lunar::models::testing;

constexpr int64_t kHeads = 2;
const double kSqrtHeadDim = 2.0;  // d_h = 8 / 2
// The frozen τ = ½·ln d_h of Luna's temperatures is created in float32 before the model moves
// to float64, so its √d_h carries a ~1e-8 relative error: comparisons through it use these.
constexpr double kSqrtRtol = 1e-7, kSqrtAtol = 1e-9;

at::Tensor linear(const torch::nn::Linear& layer, const at::Tensor& x) {
  return at::matmul(x, layer->weight.t()) + layer->bias;
}

// LN with biased variance and eps 1e-6.
at::Tensor layer_norm(const torch::nn::LayerNorm& norm, const at::Tensor& x) {
  const auto mean = x.mean(-1, true);
  const auto variance = (x - mean).pow(2).mean(-1, true);
  return (x - mean) / at::sqrt(variance + 1e-6) * norm->weight + norm->bias;
}

at::Tensor exact_gelu(const at::Tensor& x) { return 0.5 * x * (1.0 + at::erf(x / std::sqrt(2.0))); }

at::Tensor ffn(const lunar::nn::FeedForward& f, const at::Tensor& x) {
  return linear(f->output, exact_gelu(linear(f->input, x)));
}

at::Tensor heads_of(const at::Tensor& x) {  // [B, L, H·Dh] -> [B, H, L, Dh]
  return x.reshape({x.size(0), x.size(1), kHeads, x.size(2) / kHeads}).permute({0, 2, 1, 3});
}
at::Tensor merged(const at::Tensor& x) {  // [B, H, L, Dh] -> [B, L, H·Dh]
  return x.permute({0, 2, 1, 3}).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

// softmax(Q Kᵀ / divisor) V over heads, padded keys excluded. q, k, v already in heads.
at::Tensor softmax_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             double divisor, const at::Tensor& key_mask) {
  auto logits = at::matmul(q, k.transpose(-2, -1)) / divisor;
  if (key_mask.defined()) {
    logits =
        logits.masked_fill(key_mask.logical_not().view({k.size(0), 1, 1, k.size(2)}), -INFINITY);
  }
  return at::matmul(at::softmax(logits, -1), v);
}

// Att(q_in, kv_in) with all four projections W_q, W_k, W_v, W_o.
at::Tensor full_attention(const lunar::nn::AttentionProjections& p, const at::Tensor& q_in,
                          const at::Tensor& kv_in, double divisor, const at::Tensor& mask) {
  return linear(p->output_proj,
                merged(softmax_attention(heads_of(linear(p->query_proj, q_in)),
                                         heads_of(linear(p->key_proj, kv_in)),
                                         heads_of(linear(p->value_proj, kv_in)), divisor, mask)));
}

// ConvLuna's conv filter as a sum of shifted copies: y[t] = Σ_i w[h, i] x[t·s + i − left], with
// 'same' padding (left = ⌊(k−1)/2⌋, the rest right) at stride 1 and none at stride > 1.
at::Tensor conv_filter(const at::Tensor& x, const at::Tensor& weight, int64_t stride,
                       const at::Tensor& mask) {
  const int64_t length = x.size(2), k = weight.size(1);
  const int64_t left = stride == 1 ? (k - 1) / 2 : 0, right = stride == 1 ? k - 1 - left : 0;
  auto input = x;
  if (mask.defined()) input = x * mask.view({x.size(0), 1, length, 1}).to(x.scalar_type());
  const auto padded = at::constant_pad_nd(input, {0, 0, left, right});
  const int64_t outputs = length + left + right - k + 1;  // at stride 1
  auto out = at::zeros_like(x.slice(2, 0, outputs));
  for (int64_t i = 0; i < k; ++i) {
    out = out + weight.select(1, i).view({1, -1, 1, 1}) * padded.slice(2, i, i + outputs);
  }
  return out.slice(2, 0, outputs, stride);
}

// Which windows of k positions, stride s, are real: all their keys are.
at::Tensor window_mask(const at::Tensor& mask, int64_t k, int64_t stride) {
  std::vector<at::Tensor> real;
  for (int64_t t = 0; t * stride + k <= mask.size(1); ++t) {
    real.push_back(mask.slice(1, t * stride, t * stride + k).all(1));
  }
  return at::stack(real, 1);
}

// Max over each window of k positions, stride s; a window is real when all its keys are.
std::pair<at::Tensor, at::Tensor> maxpool_filter(const at::Tensor& x, int64_t k, int64_t stride,
                                                 const at::Tensor& mask) {
  const int64_t length = x.size(2), out_length = (length - k) / stride + 1;
  const auto input =
      mask.defined() ? x * mask.view({x.size(0), 1, length, 1}).to(x.scalar_type()) : x;
  std::vector<at::Tensor> windows;
  for (int64_t t = 0; t < out_length; ++t) {
    windows.push_back(std::get<0>(input.slice(2, t * stride, t * stride + k).max(2)));
  }
  return {at::stack(windows, 2), mask.defined() ? window_mask(mask, k, stride) : at::Tensor()};
}

class BlockReference : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(31);
    x = at::randn({2, 7, 8}, at::kDouble);
    memory = at::randn({2, 3, 8}, at::kDouble);
    mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong)
               .to(at::kBool)
               .view({2, 7});
  }
  LunarModel model_for(const std::string& variant) {
    auto config = tiny_config(variant);
    config.num_blocks = 1;
    auto model = build_double(config);
    randomize_norms(*model);
    return model;
  }
  at::Tensor x, memory, mask;
};

TEST_F(BlockReference, TransformerPostLn) {
  auto config = tiny_config("transformer");
  config.norm = Norm::post;
  auto model = build_double(config);
  randomize_norms(*model);
  auto& block = transformer_encoder_of(model)->blocks.at(0);
  ASSERT_FALSE(block->options.pre_norm());
  // X_A = LN(X + Att(X, X)); X' = LN(X_A + FFN(X_A)), s = √d_h.
  const auto x_a = layer_norm(block->attention_norm,
                              x + full_attention(block->attention, x, x, kSqrtHeadDim, mask));
  const auto expected = layer_norm(block->feedforward_norm, x_a + ffn(block->feedforward, x_a));
  EXPECT_TENSORS_CLOSE(block->forward(x, mask).sequence, expected, 1e-9, 1e-11);
}

TEST_F(BlockReference, TransformerPreLn) {
  auto model = model_for("transformer-pre");
  auto& block = transformer_encoder_of(model)->blocks.at(0);
  ASSERT_TRUE(block->options.pre_norm());
  // X_A = X + Att(LN(X), LN(X)); X' = X_A + FFN(LN(X_A)).
  const auto normed = layer_norm(block->attention_norm, x);
  const auto x_a = x + full_attention(block->attention, normed, normed, kSqrtHeadDim, mask);
  const auto expected = x_a + ffn(block->feedforward, layer_norm(block->feedforward_norm, x_a));
  EXPECT_TENSORS_CLOSE(block->forward(x, mask).sequence, expected, 1e-9, 1e-11);
}

TEST_F(BlockReference, LunaFullSharing) {
  auto model = model_for("luna");
  auto& block = luna_encoder_of(model)->blocks.at(0);
  const auto& att = block->attention->pack_attention;  // one module for pack and unpack
  for (const auto& m : {at::Tensor(), mask}) {
    // Yp = Att(P, X); Yx = Att(X, Yp); X_A = LN_x(X + Yx); P' = LN_p(P + Yp);
    // X' = LN_f(X_A + FFN(X_A)).
    const auto y_p = full_attention(att, memory, x, kSqrtHeadDim, m);
    const auto y_x = full_attention(att, x, y_p, kSqrtHeadDim, at::Tensor());
    const auto x_a = layer_norm(block->sequence_norm, x + y_x);
    const auto p_next = layer_norm(block->memory_norm, memory + y_p);
    const auto x_next = layer_norm(block->feedforward_norm, x_a + ffn(block->feedforward, x_a));
    const auto out = block->forward(x, memory, m);
    EXPECT_TENSORS_CLOSE(out.sequence, x_next, kSqrtRtol, kSqrtAtol);
    EXPECT_TENSORS_CLOSE(out.memory, p_next, kSqrtRtol, kSqrtAtol);
  }
}

TEST_F(BlockReference, LunaOfficialSharingNone) {
  auto model = model_for("luna-none");
  auto encoder = luna_encoder_of(model);
  auto& block = encoder->blocks.at(0);
  const auto& pack = block->attention->pack_attention;
  const auto& unpack = block->attention->unpack_attention;
  // Pack: only the memory queries are projected; keys = values = X; no output projection.
  const auto y_p = merged(softmax_attention(heads_of(linear(pack->query_proj, memory)), heads_of(x),
                                            heads_of(x), kSqrtHeadDim, mask));
  const auto y_x = full_attention(unpack, x, y_p, kSqrtHeadDim, at::Tensor());
  const auto x_a = layer_norm(block->sequence_norm, x + y_x);
  const auto p_next = layer_norm(block->memory_norm, memory + y_p);
  const auto x_next = layer_norm(block->feedforward_norm, x_a + ffn(block->feedforward, x_a));
  const auto out = block->forward(x, memory, mask);
  EXPECT_TENSORS_CLOSE(out.sequence, x_next, kSqrtRtol, kSqrtAtol);
  EXPECT_TENSORS_CLOSE(out.memory, p_next, kSqrtRtol, kSqrtAtol);

  // The official encoder normalises the embeddings and P (init N(0, d^-1/2)) first.
  ASSERT_TRUE(encoder->embedding_norm);
  const auto p = encoder->memory.unsqueeze(0).expand({2, 3, 8});
  const auto first = block->forward(layer_norm(encoder->embedding_norm, x),
                                    layer_norm(encoder->memory_norm, p), mask);
  const auto encoded = encoder->forward(x, mask);
  EXPECT_TENSORS_CLOSE(encoded.sequence, first.sequence, 1e-12, 1e-12);
  EXPECT_TENSORS_CLOSE(encoded.memory, first.memory, 1e-12, 1e-12);
}

TEST_F(BlockReference, PreLuna) {
  auto model = model_for("preluna");
  auto& block = luna_encoder_of(model)->blocks.at(0);
  ASSERT_TRUE(block->packed_norm);
  const auto& att = block->attention->pack_attention;
  // x = LN_x(X); m = LN_p(P); Yp = LN_y(Att(m, x)); Yx = Att(x, Yp);
  // X_A = X + Yx; P' = P + Yp; X' = X_A + FFN(LN_f(X_A)).
  const auto xn = layer_norm(block->sequence_norm, x);
  const auto mn = layer_norm(block->memory_norm, memory);
  const auto y_p = layer_norm(block->packed_norm, full_attention(att, mn, xn, kSqrtHeadDim, mask));
  const auto y_x = full_attention(att, xn, y_p, kSqrtHeadDim, at::Tensor());
  const auto x_a = x + y_x;
  const auto p_next = memory + y_p;
  const auto x_next = x_a + ffn(block->feedforward, layer_norm(block->feedforward_norm, x_a));
  const auto out = block->forward(x, memory, mask);
  EXPECT_TENSORS_CLOSE(out.sequence, x_next, kSqrtRtol, kSqrtAtol);
  EXPECT_TENSORS_CLOSE(out.memory, p_next, kSqrtRtol, kSqrtAtol);
}

// The simplified ConvLuna: K = F(X W_k), V = F(X) (no W_v); packing ÷ exp(τ), unpacking ÷ 1;
// W_q, W_k, W_o shared; Post-LN as Luna.
void check_simplified_convluna(LunaBlock block, const at::Tensor& x, const at::Tensor& memory,
                               const at::Tensor& mask) {
  const auto& att = block->attention->pack_attention;
  const auto& filter = block->attention->filter;
  const double tau = block->attention->pack_temperature->log_temperature.item<double>();
  at::Tensor keys, values, filtered_mask;
  const auto raw_keys = heads_of(linear(att->key_proj, x));
  if (filter->options.kind() == lunar::nn::FilterKind::conv) {
    keys = conv_filter(raw_keys, filter->weight, filter->options.stride(), mask);
    values = conv_filter(heads_of(x), filter->weight, filter->options.stride(), mask);
    const int64_t k = filter->options.kernel(), s = filter->options.stride();
    if (mask.defined()) filtered_mask = s == 1 ? mask : window_mask(mask, k, s);
  } else {
    const int64_t k = filter->options.kernel(), s = filter->options.stride();
    std::tie(keys, filtered_mask) = maxpool_filter(raw_keys, k, s, mask);
    values = maxpool_filter(heads_of(x), k, s, mask).first;
  }
  const auto y_p = linear(att->output_proj,
                          merged(softmax_attention(heads_of(linear(att->query_proj, memory)), keys,
                                                   values, std::exp(tau), filtered_mask)));
  const auto y_x =
      linear(att->output_proj, merged(softmax_attention(heads_of(linear(att->query_proj, x)),
                                                        heads_of(linear(att->key_proj, y_p)),
                                                        heads_of(y_p), 1.0, at::Tensor())));
  const auto x_a = layer_norm(block->sequence_norm, x + y_x);
  const auto p_next = layer_norm(block->memory_norm, memory + y_p);
  const auto x_next = layer_norm(block->feedforward_norm, x_a + ffn(block->feedforward, x_a));
  const auto out = block->forward(x, memory, mask);
  EXPECT_TENSORS_CLOSE(out.sequence, x_next, kSqrtRtol, kSqrtAtol);
  EXPECT_TENSORS_CLOSE(out.memory, p_next, kSqrtRtol, kSqrtAtol);
}

TEST_F(BlockReference, ConvLunaSimplifiedConv) {
  for (int64_t stride : {1, 2}) {
    auto config = tiny_config("convluna-conv");
    config.num_blocks = 1;
    config.convluna.stride = stride;
    auto model = build_double(config);
    randomize_norms(*model);
    auto& block = luna_encoder_of(model)->blocks.at(0);
    {
      at::NoGradGuard no_grad;
      block->attention->pack_temperature->log_temperature.fill_(0.4);
    }
    SCOPED_TRACE("stride " + std::to_string(stride));
    check_simplified_convluna(block, x, memory, at::Tensor());
    check_simplified_convluna(block, x, memory, mask);
  }
}

TEST_F(BlockReference, ConvLunaSimplifiedMaxPool) {
  auto model = model_for("convluna-maxpool");
  auto& block = luna_encoder_of(model)->blocks.at(0);
  {
    at::NoGradGuard no_grad;
    block->attention->pack_temperature->log_temperature.fill_(-0.2);
  }
  check_simplified_convluna(block, x, memory, at::Tensor());
  check_simplified_convluna(block, x, memory, mask);
}

TEST_F(BlockReference, ConvLunaFull) {
  auto model = model_for("convluna-full");
  auto& block = luna_encoder_of(model)->blocks.at(0);
  {
    at::NoGradGuard no_grad;
    block->attention->pack_temperature->log_temperature.fill_(0.3);
  }
  const auto& pack = block->attention->pack_attention;
  const auto& unpack = block->attention->unpack_attention;
  const auto& w = block->attention->filter->weight;
  // Own W_q, W_k, W_v, W_o for pack and unpack; F on the projected keys and values.
  const auto keys = conv_filter(heads_of(linear(pack->key_proj, x)), w, 1, mask);
  const auto values = conv_filter(heads_of(linear(pack->value_proj, x)), w, 1, mask);
  const auto y_p =
      linear(pack->output_proj, merged(softmax_attention(heads_of(linear(pack->query_proj, memory)),
                                                         keys, values, std::exp(0.3), mask)));
  const auto y_x = full_attention(unpack, x, y_p, 1.0, at::Tensor());
  const auto x_a = layer_norm(block->sequence_norm, x + y_x);
  const auto p_next = layer_norm(block->memory_norm, memory + y_p);
  const auto x_next = layer_norm(block->feedforward_norm, x_a + ffn(block->feedforward, x_a));
  const auto out = block->forward(x, memory, mask);
  EXPECT_TENSORS_CLOSE(out.sequence, x_next, 1e-9, 1e-11);
  EXPECT_TENSORS_CLOSE(out.memory, p_next, 1e-9, 1e-11);
}

// The encoder feeds each block's memory to the next, starting from P broadcast over the batch.
TEST_F(BlockReference, LunaEncoderChainsMemoryFromP) {
  auto model = build_double(tiny_config("luna"));
  randomize_norms(*model);
  auto encoder = luna_encoder_of(model);
  ASSERT_EQ(encoder->blocks.size(), 2u);
  ASSERT_FALSE(encoder->embedding_norm);
  const auto p = encoder->memory.unsqueeze(0).expand({2, 3, 8});
  const auto first = encoder->blocks[0]->forward(x, p, mask);
  const auto second = encoder->blocks[1]->forward(first.sequence, first.memory, mask);
  const auto encoded = encoder->forward(x, mask);
  EXPECT_TENSORS_CLOSE(encoded.sequence, second.sequence, 1e-12, 1e-12);
  EXPECT_TENSORS_CLOSE(encoded.memory, second.memory, 1e-12, 1e-12);
  ASSERT_EQ(encoded.blocks.size(), 2u);
  EXPECT_TENSORS_CLOSE(encoded.blocks[0].memory, first.memory, 1e-12, 1e-12);
}

TEST_F(BlockReference, TransformerBlockWeightsAreMaskedSoftmaxRows) {
  auto model = model_for("transformer");
  auto& block = transformer_encoder_of(model)->blocks.at(0);
  const auto weights = block->forward(x, mask).weights;
  ASSERT_EQ(weights.sizes(), (std::vector<int64_t>{2, 2, 7, 7}));
  EXPECT_TENSORS_CLOSE(weights.sum(-1), at::ones({2, 2, 7}, at::kDouble), 1e-12, 1e-12);
  EXPECT_EQ(weights.select(0, 1).slice(-1, 4).abs().max().item<double>(), 0.0);
}

}  // namespace
