// The one table of architectures. A family is one row: its defaults, its own validation, the
// keys that shape it and its encoder (which picks the blocks and the attention kernel). The
// built-in rows live in src/models/families.cpp; register_architecture adds one at run time
// (docs/adding-a-model.md).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lunar/models/config.h"
#include "lunar/models/model.h"

namespace lunar::models {

struct Architecture {
  std::string name;     // the value of model.architecture
  std::string summary;  // one line for `lunar models`
  // The `model.*` keys beyond the common ones that shape this family, named relative to
  // `[model]` ("luna.memory_len"): its own keys and any it shares. Each must be a key.
  std::vector<std::string> options;
  Norm default_norm;   // post | pre, for model.norm = ""
  bool default_masks;  // padding masks when model.masks = auto
  bool has_memory;     // a Luna-style memory (model.luna.*, representation = memory)
  // The family's own keys, its `model.<family>.*` table (named "<family>.<field>"), bound to
  // its struct in ModelConfig; families sharing a table list its keys in one row.
  std::vector<keys::Key<ModelConfig>> keys;
  // The family's own checks on a configuration (its `model.<family>.*` keys); throws
  // lunar::Error `[model] expected model.<key> ..., got ...`. Empty when it has none.
  std::function<void(const ModelConfig&)> validate;
  // Builds the encoder from a resolved, validated configuration.
  std::function<std::shared_ptr<EncoderImpl>(const ModelConfig&)> build_encoder;
};

// The built-in rows, then those registered, in order.
const std::vector<Architecture>& architectures();
const Architecture& find_architecture(const std::string& name);  // throws on unknown names
// The names of architectures(), in order.
std::vector<std::string> architecture_names();
// Adds a row; throws lunar::Error when the name is empty or taken, build_encoder is empty, or
// an option is not a `model.*` key (model_keys() or the row's own keys).
// Not thread-safe: register before building models or reading configurations.
void register_architecture(Architecture architecture);

// Fills "auto"/"" settings from the architecture's defaults.
ModelConfig resolve(ModelConfig config);
// Rejects invalid options with a message naming the option.
void validate(const ModelConfig& config);
// Resolves, validates and builds. Parameter initialisation draws from LibTorch's global
// generator: seed it first (lunar::seed_everything) for reproducible weights.
LunarModel build_model(const ModelConfig& config);

int64_t count_parameters(const torch::nn::Module& module);

}  // namespace lunar::models
