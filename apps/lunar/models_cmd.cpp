// `lunar models`: the registered architectures, their options and parameter counts; with
// --json, the table's facts for programs (python/lunar_torch reads them).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"

namespace lunar::cli {

namespace {
struct ModelsOptions {
  int64_t dim = 128, num_heads = 4, ffn_dim = 512, num_blocks = 6, memory_len = 256;
  int64_t vocab_size = 17, max_length = 2000, num_classes = 10;
  bool json = false;
};

// "luna.memory_len, luna.sharing (full|none)": a row's options with an enumerated key's values.
std::string describe_options(const models::Architecture& entry) {
  if (entry.options.empty()) return "none beyond the common keys";
  const auto keys = models::model_keys();
  std::vector<std::string> parts;
  for (const auto& option : entry.options) {
    const auto found =
        std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.key == option; });
    const bool listed = found != keys.end() && !found->rule.values.empty();
    parts.push_back(listed ? fmt::format("{} ({})", option, fmt::join(found->rule.values, "|"))
                           : option);
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

// One object per row: name, summary, default_norm, default_masks, has_memory, options.
void print_json() {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& entry : models::architectures()) {
    rows.push_back({{"name", entry.name},
                    {"summary", entry.summary},
                    {"default_norm", std::string(to_string(entry.default_norm))},
                    {"default_masks", entry.default_masks},
                    {"has_memory", entry.has_memory},
                    {"options", entry.options}});
  }
  fmt::print("{}\n", rows.dump(2));
}

void run_models(const ModelsOptions& options) {
  if (options.json) {
    print_json();
    return;
  }
  fmt::print("{:<12} {:>12}  {}\n", "name", "parameters", "summary");
  for (const auto& entry : models::architectures()) {
    models::ModelConfig config;
    config.architecture = entry.name;
    config.dim = options.dim;
    config.num_heads = options.num_heads;
    config.ffn_dim = options.ffn_dim;
    config.num_blocks = options.num_blocks;
    config.luna.memory_len = options.memory_len;
    config.input.vocab_size = options.vocab_size;
    config.input.max_length = options.max_length;
    config.num_classes = options.num_classes;
    seed_everything(0);
    auto model = models::build_model(config);
    fmt::print("{:<12} {:>12}  {}\n", entry.name, models::count_parameters(*model), entry.summary);
    fmt::print("{:<12} {:>12}  options: {}; defaults: norm={}, masks={}\n", "", "",
               describe_options(entry), entry.default_norm, entry.default_masks ? "on" : "off");
  }
  fmt::print(
      "\nParameter counts for d={}, heads={}, ffn={}, blocks={}, memory={}, vocab={}, "
      "max_length={}, classes={}.\n",
      options.dim, options.num_heads, options.ffn_dim, options.num_blocks, options.memory_len,
      options.vocab_size, options.max_length, options.num_classes);
}
}  // namespace

void register_models(CLI::App& app) {
  auto options = std::make_shared<ModelsOptions>();
  auto* cmd = app.add_subcommand("models", "List the model architectures with parameter counts");
  cmd->add_option("--dim", options->dim, "model width d")->capture_default_str();
  cmd->add_option("--heads", options->num_heads, "attention heads")->capture_default_str();
  cmd->add_option("--ffn", options->ffn_dim, "feed-forward width")->capture_default_str();
  cmd->add_option("--blocks", options->num_blocks, "encoder blocks")->capture_default_str();
  cmd->add_option("--memory", options->memory_len, "Luna memory length M")->capture_default_str();
  cmd->add_option("--vocab", options->vocab_size, "token vocabulary size")->capture_default_str();
  cmd->add_option("--max-length", options->max_length, "input length")->capture_default_str();
  cmd->add_option("--classes", options->num_classes, "output classes")->capture_default_str();
  cmd->add_flag("--json", options->json,
                "list the table as JSON (name, summary, default_norm, default_masks, has_memory, "
                "options) instead");
  cmd->callback([options] { run_models(*options); });
}

}  // namespace lunar::cli
