// The architecture registry: the table, defaults, rejected options (the message names the
// option), and each family's parameter structure read from named_parameters().
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/models/registry.h"
#include "support/expectations.h"
#include "tiny_models.h"

namespace {

using namespace lunar::models;
using namespace lunar::models::testing;

TEST(Registry, ListsEveryFamily) {
  std::vector<std::string> names;
  for (const auto& entry : architectures()) {
    names.push_back(entry.name);
    EXPECT_TRUE(static_cast<bool>(entry.build_encoder)) << entry.name;
    EXPECT_FALSE(entry.summary.empty()) << entry.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"transformer", "luna", "preluna", "convluna",
                                             "ffkernel", "simpletron"}));
  EXPECT_EQ(architecture_names(), names);
  EXPECT_EQ(find_architecture("preluna").default_norm, Norm::pre);
  // LRA's Transformer and the authors' TBlock are Pre-LN.
  EXPECT_EQ(find_architecture("transformer").default_norm, Norm::pre);
}

// A row's options are `model.*` keys, its own keys among them; register_architecture refuses a
// name that is not a key.
TEST(Registry, OptionsAreKeysAndIncludeTheRowsOwn) {
  std::vector<std::string> known;
  for (const auto& k : model_keys()) known.push_back(k.key);
  for (const auto& entry : architectures()) {
    for (const auto& option : entry.options) {
      EXPECT_NE(std::find(known.begin(), known.end(), option), known.end())
          << entry.name << ": " << option;
    }
    for (const auto& own : entry.keys) {
      EXPECT_NE(std::find(entry.options.begin(), entry.options.end(), own.key), entry.options.end())
          << entry.name << ": " << own.key;
    }
  }
  auto row = find_architecture("luna");
  row.name = "luna_with_a_typo";
  row.keys.clear();
  row.options = {"luna.memory_length"};
  lunar::testing::expect_error([&] { register_architecture(row); },
                               "to list model.* keys as options, got 'luna.memory_length'");
}

TEST(Registry, ResolveFillsTheArchitectureDefaults) {
  auto transformer = resolve(tiny_config("transformer"));
  EXPECT_EQ(transformer.norm, Norm::pre);
  EXPECT_EQ(transformer.masks, Masks::on);
  EXPECT_EQ(transformer.attention_dim, 8);
  for (const std::string name : {"luna", "convluna"}) {
    auto config = resolve(tiny_config(name));
    EXPECT_EQ(config.norm, Norm::post) << name;
    EXPECT_EQ(config.masks, Masks::off) << name;
  }
  EXPECT_EQ(resolve(tiny_config("preluna")).norm, Norm::pre);
  auto explicit_choice = tiny_config("luna");
  explicit_choice.masks = Masks::on;
  explicit_choice.norm = Norm::pre;
  EXPECT_EQ(resolve(explicit_choice).masks, Masks::on);
  EXPECT_EQ(resolve(explicit_choice).norm, Norm::pre);
  // The built model carries the resolved configuration.
  EXPECT_EQ(build_model(tiny_config("convluna"))->config().masks, Masks::off);
  const ModelConfig defaults;
  EXPECT_EQ(defaults.norm, Norm::automatic);
  EXPECT_EQ(defaults.masks, Masks::automatic);
  EXPECT_EQ(defaults.convluna.pack_temperature, lunar::nn::TemperatureMode::learn);
  EXPECT_EQ(defaults.convluna.unpack_temperature, lunar::nn::TemperatureMode::unit);
  EXPECT_EQ(defaults.convluna.kernel, 4);
  EXPECT_EQ(defaults.convluna.stride, 1);
  EXPECT_EQ(defaults.convluna.filter, lunar::nn::FilterKind::conv);
  EXPECT_EQ(defaults.representation, Representation::cls);
}

// Both validate() and build_model() reject the configuration with a lunar::Error naming `key`.
void expect_rejected(const ModelConfig& config, const std::string& key) {
  const std::function<void()> calls[] = {[&] { validate(config); }, [&] { build_model(config); }};
  for (const auto& call : calls) {
    try {
      call();
      ADD_FAILURE() << "accepted a configuration with a bad " << key;
    } catch (const lunar::Error& error) {
      EXPECT_NE(std::string(error.what()).find(key), std::string::npos)
          << "message does not name " << key << ": " << error.what();
    }
  }
}

TEST(Registry, RejectsInvalidOptionsNamingThem) {
  auto c = tiny_config("luna");
  c.luna.memory_len = 0;
  expect_rejected(c, "model.luna.memory_len");
  c = tiny_config("convluna");
  c.luna.memory_len = 0;
  expect_rejected(c, "model.luna.memory_len");
  c = tiny_config("convluna");
  c.convluna.kernel = 0;
  expect_rejected(c, "model.convluna.kernel");
  c = tiny_config("convluna");
  c.convluna.stride = 0;
  expect_rejected(c, "model.convluna.stride");
  for (const std::string name : {"transformer", "luna", "convluna"}) {
    c = tiny_config(name);
    c.num_heads = 3;
    expect_rejected(c, "model.num_heads");
  }
  c = tiny_config("convluna");
  c.attention_dim = 16;
  expect_rejected(c, "model.attention_dim");
  c = tiny_config("convluna");
  c.architecture = "lunatic";
  expect_rejected(c, "model.architecture");
  c = tiny_config("transformer");
  c.representation = Representation::memory;
  expect_rejected(c, "model.representation");
  c = tiny_config("ffkernel");
  c.ffkernel.orthogonality = -0.5;
  expect_rejected(c, "model.ffkernel.orthogonality");
  c = tiny_config("convluna-maxpool");
  c.convluna.kernel = 18;  // longer than max_length + CLS = 17
  expect_rejected(c, "model.convluna.kernel");
}

TEST(Registry, AcceptsWhatTheOptionsAllow) {
  auto full = tiny_config("convluna-full");
  full.attention_dim = 16;  // the full variant projects values, so any width works
  EXPECT_NO_THROW(build_model(full));
  auto luna = tiny_config("luna");
  luna.attention_dim = 16;
  luna.num_heads = 4;
  EXPECT_NO_THROW(build_model(luna));
  auto preluna_memory = tiny_config("preluna");
  preluna_memory.representation = Representation::memory;
  EXPECT_NO_THROW(build_model(preluna_memory));
  auto one_slot = tiny_config("convluna");
  one_slot.luna.memory_len = 1;
  EXPECT_EQ(build_model(one_slot)->initial_memory().sizes(), (std::vector<int64_t>{1, 8}));
}

// Parameter names of block `block` inside its attention, e.g. "attention.query.weight".
std::vector<std::string> attention_parameters(const LunarModel& model, int block = 0) {
  const std::string prefix = "encoder.block" + std::to_string(block) + ".attention.";
  std::vector<std::string> names;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind(prefix, 0) == 0) names.push_back(item.key().substr(prefix.size()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ParameterStructure, LunaFullSharingHasOneAttentionPerBlock) {
  auto model = build_model(tiny_config("luna"));
  for (int block : {0, 1}) {
    EXPECT_EQ(attention_parameters(model, block),
              sorted({"attention.query.weight", "attention.query.bias", "attention.key.weight",
                      "attention.key.bias", "attention.value.weight", "attention.value.bias",
                      "attention.output.weight", "attention.output.bias"}));
  }
  auto encoder = luna_encoder_of(model);
  EXPECT_EQ(encoder->blocks[0]->attention->pack_attention.ptr(),
            encoder->blocks[0]->attention->unpack_attention.ptr());
  EXPECT_FALSE(encoder->blocks[0]->packed_norm);
  EXPECT_FALSE(encoder->embedding_norm);
}

TEST(ParameterStructure, LunaSharingNoneSeparatesPackAndUnpack) {
  auto model = build_model(tiny_config("luna-none"));
  EXPECT_EQ(
      attention_parameters(model),
      sorted({"pack.query.weight", "pack.query.bias", "unpack.query.weight", "unpack.query.bias",
              "unpack.key.weight", "unpack.key.bias", "unpack.value.weight", "unpack.value.bias",
              "unpack.output.weight", "unpack.output.bias"}));
  auto encoder = luna_encoder_of(model);
  EXPECT_TRUE(encoder->embedding_norm);
  EXPECT_TRUE(encoder->memory_norm);
}

TEST(ParameterStructure, SimplifiedConvLunaSharesQueryKeyOutputAndHasNoValue) {
  auto model = build_model(tiny_config("convluna"));
  const auto names = attention_parameters(model);
  EXPECT_EQ(names, sorted({"attention.query.weight", "attention.query.bias", "attention.key.weight",
                           "attention.key.bias", "attention.output.weight", "attention.output.bias",
                           "filter.weight", "pack_temperature.log_temperature"}));
  for (const auto& name : names) EXPECT_EQ(name.find("value"), std::string::npos) << name;
  const auto block = luna_encoder_of(model)->blocks[0];
  EXPECT_EQ(block->attention->filter->weight.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(block->attention->pack_attention->output_proj->weight.sizes(),
            (std::vector<int64_t>{8, 8}));
}

TEST(ParameterStructure, SimplifiedConvLunaWithMaxPoolHasNoFilterWeight) {
  EXPECT_EQ(attention_parameters(build_model(tiny_config("convluna-maxpool"))),
            sorted({"attention.query.weight", "attention.query.bias", "attention.key.weight",
                    "attention.key.bias", "attention.output.weight", "attention.output.bias",
                    "pack_temperature.log_temperature"}));
}

TEST(ParameterStructure, FullConvLunaHasSeparateFullProjections) {
  std::vector<std::string> expected = {"filter.weight", "pack_temperature.log_temperature"};
  for (const std::string side : {"pack", "unpack"}) {
    for (const std::string proj : {"query", "key", "value", "output"}) {
      expected.push_back(side + "." + proj + ".weight");
      expected.push_back(side + "." + proj + ".bias");
    }
  }
  EXPECT_EQ(attention_parameters(build_model(tiny_config("convluna-full"))), sorted(expected));
}

TEST(ParameterStructure, TemperatureIsAParameterOnlyWhenLearned) {
  const auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  using lunar::nn::TemperatureMode;
  for (const auto mode : {TemperatureMode::learn, TemperatureMode::unit, TemperatureMode::sqrt}) {
    SCOPED_TRACE(lunar::to_string(mode));
    auto config = tiny_config("convluna");
    config.convluna.pack_temperature = mode;
    config.convluna.unpack_temperature = mode;
    auto model = build_model(config);
    const auto names = attention_parameters(model);
    EXPECT_EQ(has(names, "pack_temperature.log_temperature"), mode == TemperatureMode::learn);
    EXPECT_EQ(has(names, "unpack_temperature.log_temperature"), mode == TemperatureMode::learn);
    const auto block = luna_encoder_of(model)->blocks[0];
    const double expected = mode == TemperatureMode::sqrt ? 2.0 : 1.0;  // d_h = 4
    EXPECT_NEAR(block->attention->pack_temperature->divisor().item<double>(), expected, 1e-6);
    EXPECT_NEAR(block->attention->unpack_temperature->divisor().item<double>(), expected, 1e-6);
  }
  // Luna and PreLuna divide both attentions by √d_h, frozen.
  for (const std::string name : {"luna", "preluna"}) {
    auto model = build_model(tiny_config(name));
    const auto block = luna_encoder_of(model)->blocks[0];
    EXPECT_NEAR(block->attention->pack_temperature->divisor().item<double>(), 2.0, 1e-6);
    EXPECT_NEAR(block->attention->unpack_temperature->divisor().item<double>(), 2.0, 1e-6);
    for (const auto& n : attention_parameters(model)) {
      EXPECT_EQ(n.find("temperature"), std::string::npos) << name << ": " << n;
    }
  }
}

TEST(ParameterStructure, InitialMemoryIsALearnedParameter) {
  for (const std::string name : {"luna", "preluna", "convluna"}) {
    auto config = tiny_config(name);
    config.luna.memory_len = 64;
    config.dim = 32;
    auto model = build_model(config);
    const auto names = model->named_parameters();
    ASSERT_TRUE(names.contains("encoder.memory")) << name;
    const auto p = model->initial_memory();
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{64, 32}));
    EXPECT_TRUE(p.requires_grad());
    // N(0, 1) as the research ran it.
    EXPECT_NEAR(p.std().item<double>(), 1.0, 0.1) << name;
  }
  auto official = tiny_config("luna-none");
  official.luna.memory_len = 64;
  official.dim = 64;
  EXPECT_NEAR(build_model(official)->initial_memory().std().item<double>(), 0.125, 0.0125);
  auto transformer = build_model(tiny_config("transformer"));
  EXPECT_FALSE(transformer->initial_memory().defined());
  EXPECT_FALSE(transformer->named_parameters().contains("encoder.memory"));
}

TEST(ParameterStructure, PreLunaAddsTheLayerNormOnThePackedMemory) {
  auto model = build_model(tiny_config("preluna"));
  const auto names = model->named_parameters();
  EXPECT_TRUE(names.contains("encoder.block0.packed_norm.weight"));
  EXPECT_TRUE(names.contains("encoder.block1.packed_norm.bias"));
  EXPECT_FALSE(build_model(tiny_config("luna"))
                   ->named_parameters()
                   .contains("encoder.block0.packed_norm.weight"));
}

TEST(ParameterStructure, CountParametersOfATinyTransformer) {
  auto model = build_model(tiny_config("transformer"));
  const int64_t d = 8, f = 16, vocab = 11, positions = 16, classes = 3;
  const int64_t block = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d;
  const int64_t expected =
      vocab * d + positions * d + d + 2 * block + 2 * d + (d * f + f) + (f * classes + classes);
  EXPECT_EQ(count_parameters(*model), expected);
}

}  // namespace
