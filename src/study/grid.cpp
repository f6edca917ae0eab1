// Grid files: parsing with toml++, expansion into runs, names and command lines.
#include "lunar/study/grid.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lunar/core/error.h"
#include "lunar/core/spelling.h"

namespace lunar::study {

namespace fs = std::filesystem;

namespace {

int64_t line_of(const toml::node& node) { return static_cast<int64_t>(node.source().begin.line); }

// A value as `lunar train --set` reads it: plain strings bare, other strings as TOML basic
// strings, everything else as toml++ writes it.
std::string toml_text(const toml::node& node) {
  if (const auto text = node.value_exact<std::string>()) {
    const bool plain = !text->empty() && text->find_first_not_of(
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789_./-") == std::string::npos;
    if (plain) return *text;
    std::string quoted = "\"";
    for (char c : *text)
      quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    return quoted + "\"";
  }
  std::ostringstream out;
  node.visit([&out](const auto& n) { out << n; });
  return out.str();
}

// The name part of a TOML value: strings unquoted, other values as written.
std::string value_label(const std::string& toml_value) {
  std::string text = toml_value;
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  for (auto& c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    if (!keep) c = '-';
  }
  return text;
}

std::string setting_label(const Setting& setting) {
  const auto value = value_label(setting.value);
  if (setting.key == "model.luna.memory_len") return "M" + value;
  if (setting.key == "train.seed") return "seed" + value;
  if (setting.key == "model.architecture" || setting.key == "task.name") return value;
  const auto dot = setting.key.rfind('.');
  return setting.key.substr(dot == std::string::npos ? 0 : dot + 1) + "-" + value;
}

// Flattens `table` into dotted keys (so `a.b = 1` and `"a.b" = 1` mean the same).
void flatten(const toml::table& table, const std::string& prefix,
             std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (const auto& [key, node] : table) {
    const std::string dotted =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* inner = node.as_table()) {
      flatten(*inner, dotted, out);
    } else {
      out.emplace_back(dotted, &node);
    }
  }
}

fs::path resolve_config(const fs::path& grid_file, const toml::node& node, const std::string& key) {
  const auto text = node.value_exact<std::string>();
  if (!text) {
    throw DataError(grid_file.string(), line_of(node), key,
                    fmt::format("expected a configuration path string, got {}", toml_text(node)));
  }
  const fs::path path = (grid_file.parent_path() / *text).lexically_normal();
  if (!fs::is_regular_file(path)) {
    throw DataError(grid_file.string(), line_of(node), key,
                    fmt::format("expected an existing configuration file, got '{}' ({})", *text,
                                path.string()));
  }
  return path;
}

// Labels of configurations: their paths without the common leading folders and ".toml", with
// '/' as '-'; one configuration needs no label.
std::vector<std::string> config_labels(const std::vector<fs::path>& configs) {
  std::vector<std::string> labels(configs.size());
  if (configs.size() < 2) return labels;
  std::vector<std::vector<std::string>> parts;
  for (const auto& config : configs) {
    std::vector<std::string> p;
    for (const auto& part : config.parent_path()) p.push_back(part.string());
    p.push_back(config.stem().string());
    parts.push_back(p);
  }
  size_t common = 0;
  for (;; ++common) {
    bool same = true;
    for (const auto& p : parts) {
      same = same && common + 1 < p.size() && p[common] == parts[0][common];
    }
    if (!same) break;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string label;
    for (size_t j = common; j < parts[i].size(); ++j) {
      label += (label.empty() ? "" : "-") + value_label(parts[i][j]);
    }
    labels[i] = label;
  }
  return labels;
}

std::string unknown_key_message(const std::string& where, const std::string& key,
                                const std::vector<std::string>& keys) {
  const auto closest = closest_spelling(key, keys);
  return fmt::format(
      "expected a configuration key{}, got an unknown key {}(lunar train --list-keys lists them)",
      where.empty() ? "" : " " + where, closest ? "(did you mean " + *closest + "?) " : "");
}

// `key=value`, the key known.
Setting parse_assignment(const std::string& option, const std::string& text,
                         const std::vector<std::string>& keys) {
  const auto equals = text.find('=');
  check(equals != std::string::npos && equals > 0 && equals + 1 < text.size(),
        "[sweep] {} '{}': expected key=value", option, text);
  Setting setting{text.substr(0, equals), text.substr(equals + 1)};
  check(std::find(keys.begin(), keys.end(), setting.key) != keys.end(), "[sweep] {} '{}': {}",
        option, text, unknown_key_message("", setting.key, keys));
  return setting;
}

}  // namespace

Grid command_line_grid(const fs::path& config, const std::vector<std::string>& grid_sets,
                       const std::vector<std::string>& sets, const std::vector<std::string>& keys) {
  check(fs::is_regular_file(config), "[sweep] --config: expected an existing file, got '{}'",
        config.string());
  Grid grid;
  grid.file = "--grid-set";
  grid.configs = {config};
  std::set<std::string> used;
  for (const auto& text : grid_sets) {
    const auto setting = parse_assignment("--grid-set", text, keys);
    check(used.insert(setting.key).second, "[sweep] --grid-set: key '{}' given twice", setting.key);
    GridAxis axis{setting.key, {}};
    std::set<std::string> seen;
    std::stringstream values(setting.value);
    for (std::string value; std::getline(values, value, ',');) {
      check(!value.empty(), "[sweep] --grid-set '{}': expected values separated by commas", text);
      check(seen.insert(value).second, "[sweep] --grid-set '{}': value '{}' given twice", text,
            value);
      axis.values.push_back(value);
    }
    grid.axes.push_back(axis);
  }
  for (const auto& text : sets) {
    const auto setting = parse_assignment("--set", text, keys);
    check(used.insert(setting.key).second,
          "[sweep] --set '{}': key '{}' is also given by --grid-set or another --set", text,
          setting.key);
    grid.fixed.push_back(setting);
  }
  const auto by_key = [](const auto& a, const auto& b) { return a.key < b.key; };
  std::sort(grid.axes.begin(), grid.axes.end(), by_key);
  std::sort(grid.fixed.begin(), grid.fixed.end(), by_key);
  return grid;
}

Grid load_grid(const fs::path& file, const std::vector<std::string>& keys) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError(file.string(), 0, "", "expected a readable grid file, got no such file");
  std::stringstream contents;
  contents << in.rdbuf();
  toml::table table;
  try {
    table = toml::parse(contents.str(), file.string());
  } catch (const toml::parse_error& error) {
    throw DataError(file.string(), static_cast<int64_t>(error.source().begin.line), "",
                    fmt::format("expected valid TOML: {}", error.description()));
  }
  Grid grid;
  grid.file = file;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == "base") {
      grid.configs.push_back(resolve_config(file, node, name));
    } else if (name == "config") {
      const auto* array = node.as_array();
      if (!array || array->empty()) {
        throw DataError(file.string(), line_of(node), name,
                        "expected a non-empty array of configuration paths");
      }
      for (const auto& element : *array)
        grid.configs.push_back(resolve_config(file, element, name));
    } else if (name == "grid" || name == "set") {
      const auto* inner = node.as_table();
      if (!inner) throw DataError(file.string(), line_of(node), name, "expected a table");
      std::vector<std::pair<std::string, const toml::node*>> entries;
      flatten(*inner, "", entries);
      std::sort(entries.begin(), entries.end());
      for (const auto& [dotted, value] : entries) {
        if (std::find(keys.begin(), keys.end(), dotted) == keys.end()) {
          throw DataError(file.string(), line_of(*value), dotted,
                          unknown_key_message("in [" + name + "]", dotted, keys));
        }
        if (name == "set") {
          grid.fixed.push_back({dotted, toml_text(*value)});
          continue;
        }
        const auto* array = value->as_array();
        if (!array || array->empty()) {
          throw DataError(
              file.string(), line_of(*value), dotted,
              fmt::format("expected a non-empty array of values, got {}", toml_text(*value)));
        }
        GridAxis axis{dotted, {}};
        std::set<std::string> seen;
        for (const auto& element : *array) {
          const auto text = toml_text(element);
          if (!seen.insert(text).second) {
            throw DataError(file.string(), line_of(element), dotted,
                            fmt::format("expected distinct values, got {} twice", text));
          }
          axis.values.push_back(text);
        }
        grid.axes.push_back(axis);
      }
    } else {
      throw DataError(file.string(), line_of(node), name,
                      "expected one of base, config, [grid], [set]");
    }
  }
  check(!grid.configs.empty(), "[sweep] {}: expected `base = \"config.toml\"` or `config = [...]`",
        file.string());
  check(table.contains("base") + table.contains("config") == 1,
        "[sweep] {}: expected either base or config, got both", file.string());
  for (const auto& fixed : grid.fixed) {
    for (const auto& axis : grid.axes) {
      check(fixed.key != axis.key, "[sweep] {}: key '{}' is both in [set] and in [grid]",
            file.string(), fixed.key);
    }
  }
  return grid;
}

std::string run_name(const std::string& config_label, const std::vector<Setting>& settings) {
  std::string name = config_label;
  for (const auto& setting : settings) {
    name += (name.empty() ? "" : "_") + setting_label(setting);
  }
  return name.empty() ? "run" : name;
}

std::vector<GridRun> expand_grid(const Grid& grid) {
  const auto labels = config_labels(grid.configs);
  std::vector<GridRun> runs;
  for (size_t c = 0; c < grid.configs.size(); ++c) {
    std::vector<size_t> index(grid.axes.size(), 0);
    while (true) {
      GridRun run;
      run.config = grid.configs[c];
      run.config_label = labels[c];
      for (size_t a = 0; a < grid.axes.size(); ++a) {
        run.settings.push_back({grid.axes[a].key, grid.axes[a].values[index[a]]});
      }
      run.name = run_name(run.config_label, run.settings);
      run.overrides = grid.fixed;
      run.overrides.insert(run.overrides.end(), run.settings.begin(), run.settings.end());
      runs.push_back(run);
      size_t a = grid.axes.size();
      while (a > 0 && ++index[a - 1] == grid.axes[a - 1].values.size()) index[--a] = 0;
      if (a == 0) break;
    }
  }
  std::set<std::string> names;
  for (const auto& run : runs) {
    check(names.insert(run.name).second,
          "[sweep] {}: two runs would be named '{}' (give the configurations distinct names)",
          grid.file.string(), run.name);
  }
  return runs;
}

std::vector<GridRun> drop_setting(std::vector<GridRun> runs, const std::string& key,
                                  const std::function<bool(const GridRun&)>& drop) {
  std::vector<GridRun> kept;
  std::set<std::string> names;
  for (auto& run : runs) {
    if (drop(run)) {
      const auto without = [&key](const Setting& s) { return s.key == key; };
      run.settings.erase(std::remove_if(run.settings.begin(), run.settings.end(), without),
                         run.settings.end());
      run.overrides.erase(std::remove_if(run.overrides.begin(), run.overrides.end(), without),
                          run.overrides.end());
      run.name = run_name(run.config_label, run.settings);
    }
    if (names.insert(run.name).second) kept.push_back(std::move(run));
  }
  return kept;
}

std::string shell_quote(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of(
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_./=:,+-") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string command_line(const std::vector<std::string>& args) {
  std::string line;
  for (const auto& arg : args) line += (line.empty() ? "" : " ") + shell_quote(arg);
  return line;
}

std::vector<std::string> train_arguments(const std::string& executable, const GridRun& run,
                                         const fs::path& run_dir, bool resume, int threads) {
  std::vector<std::string> args{executable, "train", "--config", run.config.string()};
  if (!run.overrides.empty()) args.push_back("--set");
  for (const auto& setting : run.overrides) args.push_back(setting.key + "=" + setting.value);
  args.push_back("--run-dir");
  args.push_back(run_dir.string());
  if (threads > 0) {
    args.push_back("--threads");
    args.push_back(std::to_string(threads));
  }
  if (resume) args.push_back("--resume");
  return args;
}

}  // namespace lunar::study
