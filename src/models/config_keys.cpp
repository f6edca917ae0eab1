// The `[model]` keys: the ones every family reads, then each registry row's own.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "lunar/models/registry.h"

namespace lunar::models {
namespace {

using keys::Key;

template <typename... Args>
Key<ModelConfig> key(Args&&... args) {
  return keys::bind<ModelConfig>(std::forward<Args>(args)...);
}

// model.architecture: a row of the registry, rows registered at run time included.
keys::Rule architecture_rule() {
  auto rule = keys::one_of(architecture_names());
  rule.accepts = [](const keys::Value& v) {
    const auto names = architecture_names();
    return std::find(names.begin(), names.end(), std::get<std::string>(v)) != names.end();
  };
  return rule;
}

}  // namespace

std::vector<Key<ModelConfig>> model_keys() {
  std::vector<Key<ModelConfig>> list = {
      key(
          "architecture", [](auto& c) -> auto& { return c.architecture; }, architecture_rule(),
          fmt::format("Model registry name: {}", fmt::join(architecture_names(), ", "))),
      key(
          "dim", [](auto& c) -> auto& { return c.dim; }, keys::positive(), "Model width d"),
      key(
          "num_heads", [](auto& c) -> auto& { return c.num_heads; }, keys::positive(),
          "Attention heads h; must divide the attention width"),
      key(
          "attention_dim", [](auto& c) -> auto& { return c.attention_dim; }, keys::non_negative(),
          "Width of the Q/K/V projections; 0 = model.dim (the simplified ConvLuna needs it equal "
          "to model.dim)"),
      key(
          "ffn_dim", [](auto& c) -> auto& { return c.ffn_dim; }, keys::positive(),
          "Feed-forward hidden width f"),
      key(
          "num_blocks", [](auto& c) -> auto& { return c.num_blocks; }, keys::positive(),
          "Number of encoder blocks"),
      key(
          "dropout", [](auto& c) -> auto& { return c.dropout; }, keys::fraction(),
          "Dropout inside the feed-forward network (after GELU and after its output)"),
      key(
          "attention_dropout", [](auto& c) -> auto& { return c.attention_dropout; },
          keys::fraction(), "Dropout on attention probabilities"),
      key(
          "attention_chunk", [](auto& c) -> auto& { return c.attention_chunk; },
          keys::non_negative(),
          "Luna family: query rows of pack/unpack attention computed at once in training, maps "
          "recomputed in backward (0 = all at once)"),
      key(
          "fused_attention", [](auto& c) -> auto& { return c.fused_attention; },
          "Luna family: pack/unpack attention on the CPU with the fused kernel in training, "
          "evaluation and prediction (online softmax, no attention map kept, maps recomputed in "
          "backward); diagnostics keep the reference kernel"),
      key(
          "norm", [](auto& c) -> auto& { return c.norm; },
          "LayerNorm placement; \"\" = the architecture's default (post for luna and convluna, "
          "pre for the rest)"),
      key(
          "masks", [](auto& c) -> auto& { return c.masks; },
          "Padding masks; auto = on for transformer, off for the Luna family (as researched)"),
      key(
          "representation", [](auto& c) -> auto& { return c.representation; },
          "Sequence summary for the classifier: CLS token, mean over tokens, or mean of the "
          "final memory (Luna family)"),
      key(
          "pair_features", [](auto& c) -> auto& { return c.pair_features; },
          "Matching head input: uv = [u, v]; full = [u, v, u*v, u-v]"),
      key(
          "pair_activation", [](auto& c) -> auto& { return c.pair_activation; },
          "Matching head activation: gelu (the authors' final code) or relu (their workshop-era "
          "head, used with PreLuna)"),
      key(
          "num_classes", [](auto& c) -> auto& { return c.num_classes; }, keys::at_least_two(),
          "Output classes"),
      key(
          "pair", [](auto& c) -> auto& { return c.pair; },
          "Two-tower matching model (two texts per example)"),

      key(
          "input.embedding", [](auto& c) -> auto& { return c.input.embedding; },
          "token: embedding table; pixel: continuous e = x*w + b of normalised intensities"),
      key(
          "input.vocab_size", [](auto& c) -> auto& { return c.input.vocab_size; },
          keys::non_negative(), "Token embedding rows (pad id 0); unused for pixels"),
      key(
          "input.max_length", [](auto& c) -> auto& { return c.input.max_length; },
          keys::non_negative(),
          "Longest input without CLS (= the learned positions; CLS is prepended after them)"),
      key(
          "input.pixel_mean", [](auto& c) -> auto& { return c.input.pixel_mean; },
          keys::any_number(),
          "Pixel inputs: x = (p/255 - pixel_mean)/pixel_std (set from the task)"),
      key(
          "input.pixel_std", [](auto& c) -> auto& { return c.input.pixel_std; },
          keys::positive_number(), "Pixel inputs: the normalisation's divisor (set from the task)"),
  };
  for (const auto& architecture : architectures()) {
    for (const auto& family_key : architecture.keys) {
      const bool known = std::any_of(list.begin(), list.end(), [&](const Key<ModelConfig>& k) {
        return k.key == family_key.key;
      });
      if (!known) list.push_back(family_key);
    }
  }
  return list;
}

}  // namespace lunar::models
