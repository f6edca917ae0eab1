// The one table of architectures (name → defaults and encoder factory). Adding a model adds a
// row in src/models/registry.cpp, nothing else.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lunar/models/config.h"
#include "lunar/models/model.h"

namespace lunar::models {

struct Architecture {
  std::string name;
  std::string summary;
  std::string options;       // the configuration keys that shape this family
  std::string default_norm;  // post | pre
  bool default_masks;        // padding masks when model.masks = auto
  bool has_memory;           // a Luna-style memory (model.luna.*, representation = memory)
  std::function<std::shared_ptr<EncoderImpl>(const ModelConfig&)> build_encoder;
};

const std::vector<Architecture>& architectures();
const Architecture& find_architecture(const std::string& name);  // throws on unknown names

// Fills "auto"/"" settings from the architecture's defaults.
ModelConfig resolve(ModelConfig config);
// Rejects invalid options with a message naming the option.
void validate(const ModelConfig& config);
// Resolves, validates and builds. Parameter initialisation draws from LibTorch's global
// generator: seed it first (lunar::seed_everything) for reproducible weights.
LunarModel build_model(const ModelConfig& config);

int64_t count_parameters(const torch::nn::Module& module);

}  // namespace lunar::models
