// The run configuration's keys (private to src/train): train's own tables composed with the
// `[model]` keys of models and the `[task]` keys of data. Loading, overrides, to_toml, equality
// and describe_keys all read this one list.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lunar/core/keys.h"
#include "lunar/train/config.h"

namespace lunar::train::detail {

using keys::Value;
using keys::ValueType;
using KeyDef = keys::Key<RunConfig>;

// A constraint between keys, reported on `key`: returns "" when satisfied, else the error text
// ("expected ..., got ...").
struct Relation {
  std::string key;
  std::string other_key;  // where to point when `key` was not written in the file
  std::function<std::string(const RunConfig&)> check;
};

// Every key, grouped by table in the order to_toml writes them (top-level keys first). Rebuilt
// when a model family or a task has been registered since the last call.
const std::vector<KeyDef>& key_table();
const KeyDef* find_key(std::string_view key);
// True for "model", "model.luna", ...: a proper prefix of some key.
bool is_table(std::string_view prefix);
const std::vector<Relation>& relations();

}  // namespace lunar::train::detail
