// The built-in families, one row each: defaults, own validation, encoder and attention kernel.
#include "families.h"

#include <cmath>

#include "lunar/core/error.h"
#include "lunar/nn/feature_map.h"
#include "lunar/nn/linear_attention.h"

namespace lunar::models::detail {
namespace {

template <typename... Args>
keys::Key<ModelConfig> key(Args&&... args) {
  return keys::bind<ModelConfig>(std::forward<Args>(args)...);
}

int64_t attention_width(const ModelConfig& c) {
  return c.attention_dim > 0 ? c.attention_dim : c.dim;
}

TransformerBlockOptions transformer_block(const ModelConfig& c) {
  return TransformerBlockOptions(c.dim, c.num_heads, c.ffn_dim)
      .attention_dim(c.attention_dim)
      .dropout(c.dropout)
      .attention_dropout(c.attention_dropout)
      .pre_norm(c.norm == Norm::pre);
}

std::shared_ptr<EncoderImpl> transformer_encoder(const TransformerBlockOptions& block,
                                                 const ModelConfig& c) {
  return std::make_shared<TransformerEncoderImpl>(block, c.num_blocks);
}

// ---- ffkernel: normalised linear attention with a trainable positive feature map φ ----------

// φ is registered on the block as "feature_map"; the penalty is λ·mean((W_o W_oᵀ − I)²).
AttentionKernelFactory ffkernel_kernel(const KernelConfig& config) {
  return [config](torch::nn::Module& block, const TransformerBlockOptions& options,
                  int64_t head_dim) -> AttentionKernel {
    auto phi = block.register_module(
        "feature_map",
        nn::FeatureMap(nn::FeatureMapOptions(config.feature_map, options.num_heads(), head_dim)
                           .dropout(options.attention_dropout())));
    AttentionKernel kernel;
    kernel.attend = [phi](const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                          const at::Tensor& mask, bool /*training*/) -> KernelOutput {
      return {nn::normalized_linear_attention(phi->forward(query), phi->forward(key), value, mask),
              {}};
    };
    if (config.orthogonality > 0) {
      kernel.regularization = [phi, lambda = config.orthogonality] {
        return phi->orthogonality() * lambda;
      };
    }
    return kernel;
  };
}

std::vector<keys::Key<ModelConfig>> ffkernel_keys() {
  return {key(
              "ffkernel.feature_map", [](auto& c) -> auto& { return c.ffkernel.feature_map; },
              "Feature map phi of ffkernel: Softplus(xW), or 1-3 gated layers (gated3: low-rank "
              "gates)"),
          key(
              "ffkernel.orthogonality", [](auto& c) -> auto& { return c.ffkernel.orthogonality; },
              keys::non_negative_number(),
              "lambda of the orthogonality penalty on phi's W_o added to the loss; 0 = off")};
}

void validate_ffkernel(const ModelConfig& c) {
  check(c.ffkernel.orthogonality >= 0, "[model] expected model.ffkernel.orthogonality >= 0, got {}",
        c.ffkernel.orthogonality);
}

// ---- simpletron: softmax-free Q·Dropout(KᵀV/√N) ---------------------------------------------

AttentionKernelFactory simpletron_kernel(const SimpletronConfig& config) {
  return [length_norm = config.length_norm](torch::nn::Module& /*block*/,
                                            const TransformerBlockOptions& options,
                                            int64_t /*head_dim*/) -> AttentionKernel {
    return {[length_norm, dropout = options.attention_dropout()](
                const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                const at::Tensor& mask, bool training) -> KernelOutput {
              return {nn::softmax_free_attention(query, key, value, mask, length_norm, dropout,
                                                 training),
                      {}};
            },
            {}};
  };
}

std::vector<keys::Key<ModelConfig>> simpletron_keys() {
  return {key(
              "simpletron.length_norm", [](auto& c) -> auto& { return c.simpletron.length_norm; },
              "N in K^T V / sqrt(N): padded length with CLS, valid length, or none (1)"),
          key(
              "simpletron.output_projection",
              [](auto& c) -> auto& { return c.simpletron.output_projection; },
              "Add an output projection W_o after the attention")};
}

// ---- The Luna family: pack/unpack through a memory ------------------------------------------

// The model-level settings every Luna-family attention takes: width, dropout and kernel.
nn::PackUnpackOptions family_attention(const ModelConfig& c) {
  return nn::PackUnpackOptions(c.dim, c.num_heads)
      .attention_dim(c.attention_dim)
      .dropout(c.attention_dropout)
      .chunk(c.attention_chunk)
      .fused(c.fused_attention);
}

nn::PackUnpackOptions luna_attention(const ModelConfig& c) {
  auto options = family_attention(c)
                     .pack_temperature(nn::TemperatureMode::sqrt)
                     .unpack_temperature(nn::TemperatureMode::sqrt);
  if (c.luna.sharing == Sharing::none) {
    // Official Luna: the pack projects only its queries (keys = values = X, no W_o on the
    // packed context); the unpack has its own W_q, W_k, W_v, W_o.
    options.shared(false).pack_projections({true, false, false, false});
  }
  return options;
}

// `official`: luna.sharing = none on Luna itself also takes the official initial memory
// N(0, d^-1/2) and the LayerNorms on the embeddings and on P.
std::shared_ptr<EncoderImpl> luna_encoder(const ModelConfig& c, nn::PackUnpackOptions attention,
                                          bool official) {
  auto block = LunaBlockOptions(std::move(attention), c.ffn_dim)
                   .dropout(c.dropout)
                   .pre_norm(c.norm == Norm::pre);
  return std::make_shared<LunaEncoderImpl>(
      LunaEncoderOptions(block, c.num_blocks, c.luna.memory_len)
          .memory_init_std(official ? 1.0 / std::sqrt(static_cast<double>(c.dim)) : 1.0)
          .input_norms(official));
}

// luna.* is read by luna, preluna and convluna; the luna row lists it.
std::vector<keys::Key<ModelConfig>> luna_keys() {
  return {key(
              "luna.memory_len", [](auto& c) -> auto& { return c.luna.memory_len; },
              keys::positive(), "Memory length M of the Luna family"),
          key(
              "luna.sharing", [](auto& c) -> auto& { return c.luna.sharing; },
              "full: one attention for pack and unpack (as researched); none: official Luna")};
}

void validate_luna(const ModelConfig& c) {
  check(c.luna.memory_len >= 1, "[model] expected model.luna.memory_len >= 1, got {}",
        c.luna.memory_len);
}

nn::PackUnpackOptions convluna_attention(const ModelConfig& c) {
  auto options = family_attention(c)
                     .filter(c.convluna.filter)
                     .kernel(c.convluna.kernel)
                     .stride(c.convluna.stride)
                     .pack_temperature(c.convluna.pack_temperature)
                     .unpack_temperature(c.convluna.unpack_temperature);
  if (c.convluna.variant == ConvLunaVariant::simplified) {
    // The paper's model: values are the raw input / raw packed output; W_q, W_k, W_o shared.
    options.shared(true).pack_projections({true, true, false, true});
  } else {
    options.shared(false);  // full: own W_q, W_k, W_v, W_o for pack and for unpack
  }
  return options;
}

std::vector<keys::Key<ModelConfig>> convluna_keys() {
  return {
      key(
          "convluna.variant", [](auto& c) -> auto& { return c.convluna.variant; },
          "simplified: no W_v, shared W_q/W_k/W_o (the paper); full: own W_v, no sharing"),
      key(
          "convluna.filter", [](auto& c) -> auto& { return c.convluna.filter; },
          "Filter on packing keys and values along the sequence"),
      key(
          "convluna.kernel", [](auto& c) -> auto& { return c.convluna.kernel; }, keys::positive(),
          "Filter width k; 1 is the identity"),
      key(
          "convluna.stride", [](auto& c) -> auto& { return c.convluna.stride; }, keys::positive(),
          "Filter stride s"),
      key(
          "convluna.pack_temperature", [](auto& c) -> auto& { return c.convluna.pack_temperature; },
          "Packing logit divisor: learn exp(tau) from 1, unit 1, sqrt sqrt(d_h)"),
      key(
          "convluna.unpack_temperature",
          [](auto& c) -> auto& { return c.convluna.unpack_temperature; },
          "Unpacking logit divisor: unit (authors' code), sqrt (paper text), learn")};
}

void validate_convluna(const ModelConfig& c) {
  validate_luna(c);
  const auto& cl = c.convluna;
  check(cl.kernel >= 1, "[model] expected model.convluna.kernel >= 1, got {}", cl.kernel);
  check(cl.stride >= 1, "[model] expected model.convluna.stride >= 1, got {}", cl.stride);
  check(cl.variant != ConvLunaVariant::simplified || attention_width(c) == c.dim,
        "[model] expected model.attention_dim equal to model.dim ({}) for the simplified "
        "ConvLuna (values are not projected), got {}",
        c.dim, attention_width(c));
  if (cl.filter == nn::FilterKind::maxpool || cl.stride > 1) {
    check(cl.kernel <= c.input.max_length + 1,
          "[model] expected model.convluna.kernel <= sequence length {} for an unpadded filter "
          "(maxpool, or conv with stride > 1), got {}",
          c.input.max_length + 1, cl.kernel);
  }
}

}  // namespace

// Row fields in order: name, summary, options, default norm, default masks, has memory, keys,
// validate, build_encoder.
std::vector<Architecture> builtin_architectures() {
  return {
      {"transformer",
       "softmax self-attention, O(L²) (LRA baseline; Pre-LN, Post-LN option)",
       {},
       Norm::pre,
       true,
       false,
       {},
       {},
       [](const ModelConfig& c) { return transformer_encoder(transformer_block(c), c); }},
      {"luna",
       "pack/unpack through a learned memory of M vectors, O(L·M) (Post-LN)",
       {"luna.memory_len", "luna.sharing"},
       Norm::post,
       false,
       true,
       luna_keys(),
       validate_luna,
       [](const ModelConfig& c) {
         return luna_encoder(c, luna_attention(c), c.luna.sharing == Sharing::none);
       }},
      {"preluna",
       "Luna with Pre-LN placement and an LN on the packed memory",
       {"luna.memory_len", "luna.sharing"},
       Norm::pre,
       false,
       true,
       {},
       validate_luna,
       [](const ModelConfig& c) { return luna_encoder(c, luna_attention(c), false); }},
      {"convluna",
       "Luna with a conv/max-pool filter on packing keys and values and a learnable "
       "softmax temperature",
       {"luna.memory_len", "convluna.variant", "convluna.filter", "convluna.kernel",
        "convluna.stride", "convluna.pack_temperature", "convluna.unpack_temperature"},
       Norm::post,
       false,
       true,
       convluna_keys(),
       validate_convluna,
       [](const ModelConfig& c) { return luna_encoder(c, convluna_attention(c), false); }},
      {"ffkernel",
       "normalised linear attention with a trainable positive feature map, O(L·d_h²) (Pre-LN)",
       {"ffkernel.feature_map", "ffkernel.orthogonality"},
       Norm::pre,
       false,
       false,
       ffkernel_keys(),
       validate_ffkernel,
       [](const ModelConfig& c) {
         return transformer_encoder(transformer_block(c).kernel(ffkernel_kernel(c.ffkernel)), c);
       }},
      {"simpletron",
       "softmax-free attention Q·(KᵀV)/√N, O(L·d_h²) (Pre-LN)",
       {"simpletron.length_norm", "simpletron.output_projection"},
       Norm::pre,
       false,
       false,
       simpletron_keys(),
       {},
       [](const ModelConfig& c) {
         return transformer_encoder(transformer_block(c)
                                        .kernel(simpletron_kernel(c.simpletron))
                                        .output_projection(c.simpletron.output_projection),
                                    c);
       }},
  };
}

}  // namespace lunar::models::detail
