// The table of run-configuration keys (private to src/train): every key's type, accepted values,
// description and accessors, used by loading, overrides, to_toml, equality and describe_keys.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lunar/train/config.h"

namespace lunar::train::detail {

enum class ValueType { integer, floating, boolean, string, integer_list };

// A key's value, of the alternative its ValueType names.
using Value = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>>;

// The values a key accepts: `expected` completes "expected ..., got <value>".
struct Rule {
  std::string expected;
  std::function<bool(const Value&)> accepts;
};

struct KeyDef {
  std::string key;  // dotted: "train.steps", "model.luna.memory_len", "run_dir"
  ValueType type;
  Rule rule;
  std::string description;
  std::function<Value(const RunConfig&)> get;
  std::function<void(RunConfig&, const Value&)> set;
};

// A constraint between keys, reported on `key`: returns "" when satisfied, else the error text
// ("expected ..., got ...").
struct Relation {
  std::string key;
  std::string other_key;  // where to point when `key` was not written in the file
  std::function<std::string(const RunConfig&)> check;
};

// Every key, grouped by table in the order to_toml writes them (top-level keys first).
const std::vector<KeyDef>& key_table();
const KeyDef* find_key(std::string_view key);
// True for "model", "model.luna", ...: a proper prefix of some key.
bool is_table(std::string_view prefix);
const std::vector<Relation>& relations();

std::string type_name(ValueType type);
// TOML text of a value: 42, 0.005, 1e-08, true, "text", [0, 100].
std::string format_value(const Value& value);

}  // namespace lunar::train::detail
