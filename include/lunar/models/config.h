// Plain configuration of a model, filled from TOML (`[model]` table) or the command line.
// Field names are the configuration keys (`model.<field>`, `model.luna.<field>` ...).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lunar/core/choice.h"
#include "lunar/core/keys.h"
#include "lunar/nn/choices.h"

namespace lunar::models {

// The enumerated options of the model; each table gives the names configuration files use.
// `automatic` values (model.norm "", model.masks "auto") take the architecture's default
// (resolve() in registry.h replaces them).
enum class Norm { automatic, post, pre };
constexpr std::array<Named<Norm>, 3> choice_names(Norm) {
  return {{{Norm::automatic, ""}, {Norm::post, "post"}, {Norm::pre, "pre"}}};
}
enum class Masks { automatic, on, off };
constexpr std::array<Named<Masks>, 3> choice_names(Masks) {
  return {{{Masks::automatic, "auto"}, {Masks::on, "on"}, {Masks::off, "off"}}};
}
enum class Representation { cls, mean, memory };
constexpr std::array<Named<Representation>, 3> choice_names(Representation) {
  return {{{Representation::cls, "cls"},
           {Representation::mean, "mean"},
           {Representation::memory, "memory"}}};
}
enum class PairFeatures { uv, full };
constexpr std::array<Named<PairFeatures>, 2> choice_names(PairFeatures) {
  return {{{PairFeatures::uv, "uv"}, {PairFeatures::full, "full"}}};
}
enum class PairActivation { gelu, relu };
constexpr std::array<Named<PairActivation>, 2> choice_names(PairActivation) {
  return {{{PairActivation::gelu, "gelu"}, {PairActivation::relu, "relu"}}};
}
enum class Embedding { token, pixel };
constexpr std::array<Named<Embedding>, 2> choice_names(Embedding) {
  return {{{Embedding::token, "token"}, {Embedding::pixel, "pixel"}}};
}
enum class Sharing { full, none };
constexpr std::array<Named<Sharing>, 2> choice_names(Sharing) {
  return {{{Sharing::full, "full"}, {Sharing::none, "none"}}};
}
enum class ConvLunaVariant { simplified, full };
constexpr std::array<Named<ConvLunaVariant>, 2> choice_names(ConvLunaVariant) {
  return {{{ConvLunaVariant::simplified, "simplified"}, {ConvLunaVariant::full, "full"}}};
}

// How the first block's input and the classifier see the data.
struct InputConfig {
  Embedding embedding = Embedding::token;  // pixel: continuous e = x̂·w + b, x̂ = (p/255 − μ)/σ
  int64_t vocab_size = 0;                  // token embedding size (pad id 0); unused for pixels
  int64_t max_length = 0;    // longest input without CLS (learned positions); CLS is extra
  double pixel_mean = 0.48;  // μ and σ of the pixel normalisation (the task's:
  double pixel_std = 0.24;   // CIFAR-10 0.48/0.24, Pathfinder 0.5/0.5)
};

struct LunaConfig {
  int64_t memory_len = 16;          // M >= 1
  Sharing sharing = Sharing::full;  // full (one attention for pack and unpack, as the research
                                    // ran it) | none (official Luna: separate pack/unpack
                                    // projections)
};

struct ConvLunaConfig {
  // simplified (the paper: no W_v, shared W_q/W_k/W_o) | full (own W_v, no sharing)
  ConvLunaVariant variant = ConvLunaVariant::simplified;
  nn::FilterKind filter = nn::FilterKind::conv;
  int64_t kernel = 4;  // k >= 1; k = 1 is the identity
  int64_t stride = 1;  // s >= 1
  nn::TemperatureMode pack_temperature = nn::TemperatureMode::learn;  // τ learned from 0
  // unit (the authors' code) | sqrt (the paper's text) | learn
  nn::TemperatureMode unpack_temperature = nn::TemperatureMode::unit;
};

// The trainable-kernel linear attention (Yorsh & Kovalenko, ICANN 2022).
struct KernelConfig {
  // φ, shared by Q and K, weights per head: softplus = Softplus(x W); gated1 = one gated layer
  // softplus(x W_o) ⊙ sigmoid(x W_g); gated2 = two (identity, then softplus); gated3 = three with
  // low-rank gates (rank d_h/4), the latest setting.
  nn::FeatureMapKind feature_map = nn::FeatureMapKind::gated3;
  double orthogonality = 0.0;  // λ of the penalty λ·mean((W_o W_oᵀ − I)²) added to the loss
};

// The softmax-free SimpleTRON attention (arXiv 2111.15588): O = Q · Dropout(Kᵀ V / √N).
struct SimpletronConfig {
  // padded: N = padded length with CLS (masks off, as the authors ran it); valid: the real
  // length — with masks on both use the valid length; none: N = 1 (fails ListOps).
  nn::LengthNorm length_norm = nn::LengthNorm::padded;
  bool output_projection = false;
};

struct ModelConfig {
  std::string architecture = "convluna";  // a registry name: transformer, luna, preluna,
                                          // convluna, ffkernel, simpletron
  int64_t dim = 128;                      // d
  int64_t num_heads = 4;                  // h; must divide attention_dim
  int64_t attention_dim = 0;              // width of the Q/K/V projections; 0 = dim. The
                                          // simplified ConvLuna (no W_v) needs it equal to dim
  int64_t ffn_dim = 512;                  // f
  int64_t num_blocks = 2;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  // Luna family: > 0 computes pack and unpack attention this many query rows at a time in
  // training and recomputes the maps in backward (less memory, more time); 0 = all at once.
  int64_t attention_chunk = 0;
  // Luna family: true computes pack and unpack attention in training with the fused CPU kernel
  // (nn::fused_attention: online softmax, no attention map kept, recomputed in backward; takes
  // precedence over attention_chunk); evaluation and diagnostics use the reference kernel.
  bool fused_attention = false;
  Norm norm = Norm::automatic;     // post | pre | automatic: the architecture's default
  Masks masks = Masks::automatic;  // on | off | automatic: the architecture's default
  // cls | mean (over the sequence) | memory (mean of the final memory; Luna family only)
  Representation representation = Representation::cls;
  PairFeatures pair_features = PairFeatures::uv;  // matching head input: [u, v] | [u, v, u·v, u−v]
  // matching head: gelu (the authors' final code) | relu (their workshop-era head, with PreLuna)
  PairActivation pair_activation = PairActivation::gelu;
  int64_t num_classes = 2;
  bool pair = false;  // two-tower matching
  InputConfig input;
  LunaConfig luna;
  ConvLunaConfig convluna;
  KernelConfig ffkernel;
  SimpletronConfig simpletron;
};

// The `[model]` keys, named relative to the table ("dim", "luna.memory_len"): the ones every
// family reads, then each registry row's own (registry.h). train composes them into the run
// configuration's keys.
std::vector<keys::Key<ModelConfig>> model_keys();

}  // namespace lunar::models
