// Loading, overriding, validating and writing run configurations, all through the key table of
// config_keys.h. Errors name the file (or `--set`), the line and the dotted key.
#include "lunar/train/config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "config_keys.h"
#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/core/spelling.h"

namespace lunar::train {
namespace {

using detail::KeyDef;
using detail::Value;
using detail::ValueType;

constexpr const char* kOverrideSource = "--set";

// Where a key was last written: reported by relation errors.
struct Location {
  std::string path;
  int64_t line = 0;
};
using Locations = std::map<std::string, Location>;

int64_t line_of(const toml::node& node) { return static_cast<int64_t>(node.source().begin.line); }

// TOML text of a node for messages: scalars and arrays as written, tables summarised.
std::string describe_node(const toml::node& node) {
  if (node.is_table()) return "a table";
  if (auto text = node.value_exact<std::string>()) return keys::format_value(Value{*text});
  std::ostringstream out;
  node.visit([&out](const auto& n) { out << n; });
  return out.str();
}

// Converts a TOML node to the key's value type; nullopt when the TOML type does not fit.
std::optional<Value> to_value(ValueType type, const toml::node& node) {
  switch (type) {
    case ValueType::integer:
      if (auto v = node.value_exact<int64_t>()) return Value{*v};
      break;
    case ValueType::floating:  // integers are accepted for floats: `lr = 1`
      if (node.is_floating_point()) return Value{*node.value_exact<double>()};
      if (node.is_integer()) return Value{static_cast<double>(*node.value_exact<int64_t>())};
      break;
    case ValueType::boolean:
      if (auto v = node.value_exact<bool>()) return Value{*v};
      break;
    case ValueType::string:
      if (auto v = node.value_exact<std::string>()) return Value{*v};
      break;
    case ValueType::integer_list:
      if (const auto* array = node.as_array()) {
        std::vector<int64_t> list;
        for (const auto& element : *array) {
          auto v = element.value_exact<int64_t>();
          if (!v) return std::nullopt;
          list.push_back(*v);
        }
        return Value{std::move(list)};
      }
      break;
  }
  return std::nullopt;
}

std::string unknown_key_message(const std::string& key, bool is_table) {
  std::vector<std::string> keys;
  for (const auto& def : detail::key_table()) keys.push_back(def.key);
  std::string message = is_table ? "unknown table" : "unknown key";
  if (const auto closest = closest_spelling(key, keys)) {
    message += fmt::format(" (did you mean {}?)", *closest);
  }
  return message + "; docs/configuration.md lists the keys";
}

std::string join_key(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

// Sets one key from a node, checking type and range.
void set_key(RunConfig& config, const KeyDef& def, const toml::node& node, const std::string& path,
             int64_t line, Locations& locations) {
  auto value = to_value(def.type, node);
  if (!value || !def.rule.accepts(*value)) {
    const std::string hint = value && def.rule.hint ? def.rule.hint(*value) : "";
    throw DataError(
        path, line, def.key,
        fmt::format("expected {}, got {}{}", def.rule.expected, describe_node(node), hint));
  }
  def.set(config, *value);
  locations[def.key] = {path, line};
}

// Applies every entry of `table` (whose dotted name is `prefix`) in the order of the file.
void apply_table(RunConfig& config, const toml::table& table, const std::string& prefix,
                 const std::string& path, Locations& locations) {
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, node] : table) {
    if (prefix.empty() && key.str() == "include") continue;  // applied before, by load_into
    entries.emplace_back(std::string(key.str()), &node);
  }
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return line_of(*a.second) < line_of(*b.second);
  });
  for (const auto& [key, node] : entries) {
    const std::string full = join_key(prefix, key);
    const int64_t line = line_of(*node);
    if (const KeyDef* def = detail::find_key(full)) {
      set_key(config, *def, *node, path, line, locations);
    } else if (detail::is_table(full)) {
      const auto* sub = node->as_table();
      if (!sub) {
        throw DataError(path, line, full,
                        fmt::format("expected a table [{}], got {}", full, describe_node(*node)));
      }
      apply_table(config, *sub, full, path, locations);
    } else {
      throw DataError(path, line, full, unknown_key_message(full, node->is_table()));
    }
  }
}

std::string chain_text(const std::vector<std::filesystem::path>& chain,
                       const std::filesystem::path& last) {
  std::string text;
  for (const auto& p : chain) text += p.string() + " -> ";
  return text + last.string();
}

toml::table parse_file(const std::filesystem::path& path, const std::string& included_from,
                       int64_t include_line) {
  if (std::filesystem::is_directory(path)) {  // an ifstream opens a directory and reads nothing
    if (included_from.empty()) {
      throw DataError(path.string(), 0, "", "expected a TOML file, got a directory");
    }
    throw DataError(included_from, include_line, "include",
                    fmt::format("expected a TOML file, got the directory {}", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (included_from.empty()) {
      throw DataError(path.string(), 0, "", "expected a readable TOML file, got no such file");
    }
    throw DataError(included_from, include_line, "include",
                    fmt::format("expected a readable TOML file, got {}", path.string()));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  try {
    return toml::parse(contents.str(), path.string());
  } catch (const toml::parse_error& error) {
    throw DataError(path.string(), static_cast<int64_t>(error.source().begin.line), "",
                    fmt::format("expected valid TOML: {}", error.description()));
  }
}

// Applies `path` onto `config`: first its includes (recursively), then its own keys.
// `chain` holds the files being loaded (for cycle detection and messages).
void load_into(RunConfig& config, const std::filesystem::path& path,
               std::vector<std::filesystem::path>& chain,
               std::vector<std::filesystem::path>& canonical_chain, Locations& locations,
               const std::string& included_from = "", int64_t include_line = 0) {
  const toml::table table = parse_file(path, included_from, include_line);
  const std::string name = path.string();
  const auto canonical = std::filesystem::weakly_canonical(path);
  chain.push_back(path);
  canonical_chain.push_back(canonical);

  if (const toml::node* include = table.get("include")) {
    std::vector<std::pair<std::string, int64_t>> targets;
    if (auto single = include->value_exact<std::string>()) {
      targets.emplace_back(*single, line_of(*include));
    } else if (const auto* array = include->as_array()) {
      for (const auto& element : *array) {
        auto target = element.value_exact<std::string>();
        if (!target) {
          throw DataError(name, line_of(element), "include",
                          fmt::format("expected a path string, got {}", describe_node(element)));
        }
        targets.emplace_back(*target, line_of(element));
      }
    } else {
      throw DataError(name, line_of(*include), "include",
                      fmt::format("expected a path string or an array of path strings, got {}",
                                  describe_node(*include)));
    }
    for (const auto& [target, line] : targets) {
      const std::filesystem::path resolved = (path.parent_path() / target).lexically_normal();
      const auto resolved_canonical = std::filesystem::weakly_canonical(resolved);
      if (std::find(canonical_chain.begin(), canonical_chain.end(), resolved_canonical) !=
          canonical_chain.end()) {
        throw DataError(
            name, line, "include",
            fmt::format("expected no include cycle, got {}", chain_text(chain, resolved)));
      }
      load_into(config, resolved, chain, canonical_chain, locations, name, line);
    }
  }
  apply_table(config, table, "", name, locations);
  chain.pop_back();
  canonical_chain.pop_back();
}

// Checks every key's rule, then the relations between keys. `locate` gives where a key was
// written, if known.
void validate_at(const RunConfig& config, const std::string& source, const Locations& locations) {
  auto where = [&](const std::string& key, const std::string& other) -> Location {
    if (auto it = locations.find(key); it != locations.end()) return it->second;
    if (auto it = locations.find(other); it != locations.end()) return it->second;
    return {source, 0};
  };
  for (const auto& def : detail::key_table()) {
    const Value value = def.get(config);
    if (!def.rule.accepts(value)) {
      const Location at = where(def.key, def.key);
      const std::string hint = def.rule.hint ? def.rule.hint(value) : "";
      throw DataError(
          at.path, at.line, def.key,
          fmt::format("expected {}, got {}{}", def.rule.expected, keys::format_value(value), hint));
    }
  }
  for (const auto& relation : detail::relations()) {
    const std::string problem = relation.check(config);
    if (!problem.empty()) {
      const Location at = where(relation.key, relation.other_key);
      throw DataError(at.path, at.line, relation.key, problem);
    }
  }
}

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// One `key=value` onto `config`, without the relation checks.
void assign(RunConfig& config, const std::string& assignment, Locations& locations) {
  const auto equals = assignment.find('=');
  const std::string key = equals == std::string::npos ? "" : trim(assignment.substr(0, equals));
  if (key.empty()) {
    throw DataError(kOverrideSource, 0, "",
                    fmt::format("expected key=value, got \"{}\"", assignment));
  }
  const std::string text = trim(std::string_view(assignment).substr(equals + 1));

  // The value as TOML if it parses as exactly one value; otherwise the text as a bare string.
  std::optional<toml::table> parsed;
  try {
    parsed = toml::parse("value = " + text, std::string_view(kOverrideSource));
    if (parsed->size() != 1 || !parsed->get("value")) parsed.reset();
  } catch (const toml::parse_error&) {
    parsed.reset();
  }
  const toml::node* node = parsed ? parsed->get("value") : nullptr;
  const toml::value<std::string> bare(text);

  if (const KeyDef* def = detail::find_key(key)) {
    // String keys take the text as written (`task.path=2024`) unless it is a quoted string.
    if (!node || (def->type == ValueType::string && !node->is_string())) node = &bare;
    set_key(config, *def, *node, kOverrideSource, 0, locations);
  } else if (detail::is_table(key) && !key.empty() && node && node->is_table()) {
    apply_table(config, *node->as_table(), key, kOverrideSource, locations);  // t={a=1, b=2}
  } else if (detail::is_table(key)) {
    throw DataError(kOverrideSource, 0, key,
                    fmt::format("expected a key inside [{}] or an inline table, got {}", key,
                                node ? describe_node(*node) : text));
  } else {
    throw DataError(kOverrideSource, 0, key, unknown_key_message(key, false));
  }
}

}  // namespace

RunConfig load_config(const std::filesystem::path& path) {
  RunConfig config;
  std::vector<std::filesystem::path> chain, canonical_chain;
  Locations locations;
  load_into(config, path, chain, canonical_chain, locations);
  validate_at(config, path.string(), locations);
  return config;
}

RunConfig parse_config(const std::string& text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    throw DataError(source, static_cast<int64_t>(error.source().begin.line), "",
                    fmt::format("expected valid TOML: {}", error.description()));
  }
  if (table.contains("include")) {
    throw DataError(source, line_of(*table.get("include")), "include",
                    "expected a self-contained configuration (include needs a file)");
  }
  RunConfig config;
  Locations locations;
  apply_table(config, table, "", source, locations);
  validate_at(config, source, locations);
  return config;
}

void apply_override(RunConfig& config, const std::string& assignment) {
  apply_overrides(config, {assignment});
}

void apply_overrides(RunConfig& config, const std::vector<std::string>& assignments) {
  RunConfig updated = config;  // all or nothing: a failed assignment leaves `config` unchanged
  Locations locations;
  for (const auto& assignment : assignments) assign(updated, assignment, locations);
  validate_at(updated, kOverrideSource, locations);
  config = std::move(updated);
}

void validate(const RunConfig& config, const std::string& source) {
  validate_at(config, source, {});
}

std::string to_toml(const RunConfig& config) {
  std::string out =
      "# lunar run configuration: every key, defaults included.\n"
      "# docs/configuration.md describes them.\n";
  std::string section;
  for (const auto& def : detail::key_table()) {
    const auto dot = def.key.rfind('.');
    const std::string table = dot == std::string::npos ? "" : def.key.substr(0, dot);
    const std::string name = dot == std::string::npos ? def.key : def.key.substr(dot + 1);
    if (table != section) {
      out += fmt::format("\n[{}]\n", table);
      section = table;
    }
    out +=
        fmt::format("{} = {}  # {}\n", name, keys::format_value(def.get(config)), def.description);
  }
  return out;
}

void save_config(const RunConfig& config, const std::filesystem::path& path) {
  write_atomically(path, to_toml(config));
}

bool operator==(const RunConfig& a, const RunConfig& b) {
  const auto& table = detail::key_table();
  return std::all_of(table.begin(), table.end(),
                     [&](const KeyDef& def) { return def.get(a) == def.get(b); });
}

bool operator!=(const RunConfig& a, const RunConfig& b) { return !(a == b); }

int64_t padded_length(const RunConfig& config) {
  return config.task.padding == data::Padding::max_length ? config.model.input.max_length : 0;
}

int64_t evaluation_batch_size(const RunConfig& config) {
  return config.train.eval_batch_size > 0 ? config.train.eval_batch_size : config.train.batch_size;
}

}  // namespace lunar::train
