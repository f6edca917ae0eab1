// The architecture table and configuration validation.
#include "lunar/models/registry.h"

#include <fmt/ranges.h>
#include <algorithm>
#include <cmath>

#include "lunar/core/error.h"

namespace lunar::models {

namespace {

void check_one_of(const std::string& key, const std::string& value,
                  const std::vector<std::string>& allowed) {
  check(std::find(allowed.begin(), allowed.end(), value) != allowed.end(),
        "[model] expected {} one of {}, got '{}'", key, fmt::join(allowed, "|"), value);
}

TransformerBlockOptions transformer_block(const ModelConfig& c) {
  return TransformerBlockOptions(c.dim, c.num_heads, c.ffn_dim)
      .attention_dim(c.attention_dim)
      .dropout(c.dropout)
      .attention_dropout(c.attention_dropout)
      .pre_norm(c.norm == "pre");
}

std::shared_ptr<EncoderImpl> transformer_encoder(const TransformerBlockOptions& block,
                                                 const ModelConfig& c) {
  return std::make_shared<TransformerEncoderImpl>(block, c.num_blocks);
}

nn::PackUnpackOptions luna_attention(const ModelConfig& c) {
  auto options = nn::PackUnpackOptions(c.dim, c.num_heads)
                     .attention_dim(c.attention_dim)
                     .dropout(c.attention_dropout)
                     .chunk(c.attention_chunk)
                     .pack_temperature("sqrt")
                     .unpack_temperature("sqrt");
  if (c.luna.sharing == "none") {
    // Official Luna: the pack projects only its queries (keys = values = X, no W_o on the
    // packed context); the unpack has its own W_q, W_k, W_v, W_o.
    options.shared(false).pack_projections({true, false, false, false});
  }
  return options;
}

std::shared_ptr<EncoderImpl> luna_encoder(const ModelConfig& c, nn::PackUnpackOptions attention) {
  const bool official = c.luna.sharing == "none" && c.architecture == "luna";
  auto block = LunaBlockOptions(std::move(attention), c.ffn_dim)
                   .dropout(c.dropout)
                   .pre_norm(c.norm == "pre");
  return std::make_shared<LunaEncoderImpl>(
      LunaEncoderOptions(block, c.num_blocks, c.luna.memory_len)
          .memory_init_std(official ? 1.0 / std::sqrt(static_cast<double>(c.dim)) : 1.0)
          .input_norms(official));
}

nn::PackUnpackOptions convluna_attention(const ModelConfig& c) {
  auto options = nn::PackUnpackOptions(c.dim, c.num_heads)
                     .attention_dim(c.attention_dim)
                     .dropout(c.attention_dropout)
                     .chunk(c.attention_chunk)
                     .filter(c.convluna.filter)
                     .kernel(c.convluna.kernel)
                     .stride(c.convluna.stride)
                     .pack_temperature(c.convluna.pack_temperature)
                     .unpack_temperature(c.convluna.unpack_temperature);
  if (c.convluna.variant == "simplified") {
    // The paper's model: values are the raw input / raw packed output; W_q, W_k, W_o shared.
    options.shared(true).pack_projections({true, true, false, true});
  } else {
    options.shared(false);  // full: own W_q, W_k, W_v, W_o for pack and for unpack
  }
  return options;
}

}  // namespace

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> table = {
      {"transformer", "softmax self-attention, O(L²) (LRA baseline; Pre-LN, Post-LN option)",
       "norm, masks", "pre", true, false,
       [](const ModelConfig& c) { return transformer_encoder(transformer_block(c), c); }},
      {"luna", "pack/unpack through a learned memory of M vectors, O(L·M) (Post-LN)",
       "luna.memory_len, luna.sharing (full|none), masks", "post", false, true,
       [](const ModelConfig& c) { return luna_encoder(c, luna_attention(c)); }},
      {"preluna", "Luna with Pre-LN placement and an LN on the packed memory",
       "luna.memory_len, luna.sharing, masks", "pre", false, true,
       [](const ModelConfig& c) { return luna_encoder(c, luna_attention(c)); }},
      {"convluna",
       "Luna with a conv/max-pool filter on packing keys and values and a learnable "
       "softmax temperature",
       "luna.memory_len, convluna.{variant,filter,kernel,stride,pack_temperature,"
       "unpack_temperature}, masks",
       "post", false, true,
       [](const ModelConfig& c) { return luna_encoder(c, convluna_attention(c)); }},
      {"ffkernel",
       "normalised linear attention with a trainable positive feature map, O(L·d_h²) (Pre-LN)",
       "ffkernel.{feature_map,orthogonality}, masks", "pre", false, false,
       [](const ModelConfig& c) {
         return transformer_encoder(transformer_block(c)
                                        .kernel("ffkernel")
                                        .feature_map(c.ffkernel.feature_map)
                                        .orthogonality(c.ffkernel.orthogonality),
                                    c);
       }},
      {"simpletron", "softmax-free attention Q·(KᵀV)/√N, O(L·d_h²) (Pre-LN)",
       "simpletron.{length_norm,output_projection}, masks", "pre", false, false,
       [](const ModelConfig& c) {
         return transformer_encoder(transformer_block(c)
                                        .kernel("simpletron")
                                        .length_norm(c.simpletron.length_norm)
                                        .output_projection(c.simpletron.output_projection),
                                    c);
       }},
  };
  return table;
}

const Architecture& find_architecture(const std::string& name) {
  for (const auto& entry : architectures()) {
    if (entry.name == name) return entry;
  }
  std::vector<std::string> names;
  for (const auto& entry : architectures()) names.push_back(entry.name);
  throw Error(fmt::format("[model] expected model.architecture one of {}, got '{}'",
                          fmt::join(names, "|"), name));
}

ModelConfig resolve(ModelConfig config) {
  const auto& entry = find_architecture(config.architecture);
  if (config.norm.empty()) config.norm = entry.default_norm;
  if (config.masks == "auto") config.masks = entry.default_masks ? "on" : "off";
  if (config.attention_dim == 0) config.attention_dim = config.dim;
  return config;
}

void validate(const ModelConfig& c) {
  find_architecture(c.architecture);
  check(c.dim >= 1, "[model] expected model.dim >= 1, got {}", c.dim);
  check(c.num_heads >= 1, "[model] expected model.num_heads >= 1, got {}", c.num_heads);
  const int64_t width = c.attention_dim > 0 ? c.attention_dim : c.dim;
  check(width % c.num_heads == 0,
        "[model] expected model.num_heads ({}) to divide the attention width {}", c.num_heads,
        width);
  check(c.ffn_dim >= 1, "[model] expected model.ffn_dim >= 1, got {}", c.ffn_dim);
  check(c.num_blocks >= 1, "[model] expected model.num_blocks >= 1, got {}", c.num_blocks);
  check(c.dropout >= 0 && c.dropout < 1, "[model] expected model.dropout in [0, 1), got {}",
        c.dropout);
  check(c.attention_dropout >= 0 && c.attention_dropout < 1,
        "[model] expected model.attention_dropout in [0, 1), got {}", c.attention_dropout);
  check(c.num_classes >= 2, "[model] expected model.num_classes >= 2, got {}", c.num_classes);
  check_one_of("model.norm", c.norm.empty() ? "post" : c.norm, {"post", "pre"});
  check_one_of("model.masks", c.masks, {"auto", "on", "off"});
  check_one_of("model.representation", c.representation, {"cls", "mean", "memory"});
  check_one_of("model.pair_features", c.pair_features, {"uv", "full"});
  check_one_of("model.pair_activation", c.pair_activation, {"gelu", "relu"});
  check_one_of("model.input.embedding", c.input.embedding, {"token", "pixel"});
  check(c.input.max_length >= 1, "[model] expected model.input.max_length >= 1, got {}",
        c.input.max_length);
  check(c.input.embedding == "pixel" || c.input.vocab_size >= 2,
        "[model] expected model.input.vocab_size >= 2 for token inputs, got {}",
        c.input.vocab_size);
  if (c.architecture == "ffkernel") {
    check_one_of("model.ffkernel.feature_map", c.ffkernel.feature_map,
                 {"softplus", "gated1", "gated2", "gated3"});
    check(c.ffkernel.orthogonality >= 0,
          "[model] expected model.ffkernel.orthogonality >= 0, got {}", c.ffkernel.orthogonality);
  }
  if (c.architecture == "simpletron") {
    check_one_of("model.simpletron.length_norm", c.simpletron.length_norm,
                 {"padded", "valid", "none"});
  }
  if (!find_architecture(c.architecture).has_memory) {
    check(c.representation != "memory",
          "[model] expected model.representation cls or mean for the {} (it has no memory), got "
          "'memory'",
          c.architecture);
    return;
  }
  check(c.luna.memory_len >= 1, "[model] expected model.luna.memory_len >= 1, got {}",
        c.luna.memory_len);
  check_one_of("model.luna.sharing", c.luna.sharing, {"full", "none"});
  if (c.architecture != "convluna") return;
  const auto& cl = c.convluna;
  check_one_of("model.convluna.variant", cl.variant, {"simplified", "full"});
  check_one_of("model.convluna.filter", cl.filter, {"conv", "maxpool"});
  check(cl.kernel >= 1, "[model] expected model.convluna.kernel >= 1, got {}", cl.kernel);
  check(cl.stride >= 1, "[model] expected model.convluna.stride >= 1, got {}", cl.stride);
  check_one_of("model.convluna.pack_temperature", cl.pack_temperature, {"learn", "unit", "sqrt"});
  check_one_of("model.convluna.unpack_temperature", cl.unpack_temperature,
               {"learn", "unit", "sqrt"});
  check(cl.variant != "simplified" || width == c.dim,
        "[model] expected model.attention_dim equal to model.dim ({}) for the simplified "
        "ConvLuna (values are not projected), got {}",
        c.dim, width);
  if (cl.filter == "maxpool" || cl.stride > 1) {
    check(cl.kernel <= c.input.max_length + 1,
          "[model] expected model.convluna.kernel <= sequence length {} for an unpadded filter "
          "(maxpool, or conv with stride > 1), got {}",
          c.input.max_length + 1, cl.kernel);
  }
}

LunarModel build_model(const ModelConfig& config) {
  validate(config);
  auto resolved = resolve(config);
  auto encoder = find_architecture(resolved.architecture).build_encoder(resolved);
  return LunarModel(resolved, std::move(encoder));
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace lunar::models
