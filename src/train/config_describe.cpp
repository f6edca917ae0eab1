// The key listing: describe_keys() for people and docs/configuration.md, describe_keys_json()
// for programs.
#include <nlohmann/json.hpp>

#include "config_keys.h"
#include "lunar/train/config.h"

namespace lunar::train {

std::vector<KeyDescription> describe_keys() {
  const RunConfig defaults;
  std::vector<KeyDescription> rows;
  for (const auto& def : detail::key_table()) {
    rows.push_back({def.key, keys::type_name(def.type), keys::format_value(def.get(defaults)),
                    def.rule.expected, def.rule.values, def.description});
  }
  return rows;
}

std::string describe_keys_json() {
  const RunConfig defaults;
  auto rows = nlohmann::ordered_json::array();
  for (const auto& def : detail::key_table()) {
    nlohmann::ordered_json value;
    std::visit([&value](const auto& v) { value = v; }, def.get(defaults));
    rows.push_back({{"key", def.key},
                    {"type", keys::type_name(def.type)},
                    {"default", value},
                    {"expected", def.rule.expected},
                    {"values", def.rule.values},
                    {"description", def.description}});
  }
  return rows.dump(2) + "\n";
}

}  // namespace lunar::train
