// The architecture table, resolution of "auto" settings and the checks common to every family.
#include "lunar/models/registry.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "families.h"
#include "lunar/core/error.h"
#include "lunar/core/spelling.h"

namespace lunar::models {

namespace {
std::vector<Architecture>& table() {
  static std::vector<Architecture> rows = detail::builtin_architectures();
  return rows;
}
}  // namespace

const std::vector<Architecture>& architectures() { return table(); }

std::vector<std::string> architecture_names() {
  std::vector<std::string> names;
  for (const auto& entry : architectures()) names.push_back(entry.name);
  return names;
}

const Architecture& find_architecture(const std::string& name) {
  for (const auto& entry : architectures()) {
    if (entry.name == name) return entry;
  }
  const auto names = architecture_names();
  const auto closest = closest_spelling(name, names);
  throw Error(fmt::format("[model] expected model.architecture one of {}, got '{}'{}",
                          fmt::join(names, "|"), name,
                          closest ? fmt::format(" (did you mean {}?)", *closest) : ""));
}

void register_architecture(Architecture architecture) {
  check(!architecture.name.empty(), "[model] expected an architecture name, got an empty one");
  for (const auto& entry : architectures()) {
    check(entry.name != architecture.name,
          "[model] expected a new architecture name, got '{}' (already registered)",
          architecture.name);
  }
  check(static_cast<bool>(architecture.build_encoder),
        "[model] expected architecture '{}' to have build_encoder", architecture.name);
  auto known = model_keys();
  known.insert(known.end(), architecture.keys.begin(), architecture.keys.end());
  for (const auto& option : architecture.options) {
    check(std::any_of(known.begin(), known.end(), [&](const auto& k) { return k.key == option; }),
          "[model] expected architecture '{}' to list model.* keys as options, got '{}'",
          architecture.name, option);
  }
  table().push_back(std::move(architecture));
}

ModelConfig resolve(ModelConfig config) {
  const auto& entry = find_architecture(config.architecture);
  if (config.norm == Norm::automatic) config.norm = entry.default_norm;
  if (config.masks == Masks::automatic) config.masks = entry.default_masks ? Masks::on : Masks::off;
  if (config.attention_dim == 0) config.attention_dim = config.dim;
  return config;
}

void validate(const ModelConfig& c) {
  const auto& entry = find_architecture(c.architecture);
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
  check(c.input.max_length >= 1, "[model] expected model.input.max_length >= 1, got {}",
        c.input.max_length);
  check(c.input.embedding == Embedding::pixel || c.input.vocab_size >= 2,
        "[model] expected model.input.vocab_size >= 2 for token inputs, got {}",
        c.input.vocab_size);
  check(entry.has_memory || c.representation != Representation::memory,
        "[model] expected model.representation cls or mean for the {} (it has no memory), got "
        "'memory'",
        c.architecture);
  if (entry.validate) entry.validate(c);
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
