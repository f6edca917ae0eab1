// Sweep grids: a TOML file naming base configurations and arrays of values for any configuration
// key, expanded into one training run per combination with a stable, readable name.
//
//   base = "../cpu/listops_luna.toml"         # or config = ["a.toml", "b.toml"], an axis
//   [grid]
//   "model.architecture" = ["luna", "preluna"]
//   model.luna.memory_len = [1, 8]            # dotted TOML keys work too
//   "train.seed" = [0, 1, 2, 3, 4]
//   [set]                                      # fixed overrides for every run
//   "train.steps" = 600
//
// Configuration paths are relative to the grid file; the other values are passed to
// `lunar train --set key=value` as TOML text.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lunar::study {

// One key=value override; `value` is TOML text (strings quoted).
struct Setting {
  std::string key;
  std::string value;
};

struct GridAxis {
  std::string key;
  std::vector<std::string> values;  // TOML text
};

struct Grid {
  std::filesystem::path file;
  std::vector<std::filesystem::path> configs;  // resolved against the grid file's folder
  std::vector<GridAxis> axes;                  // sorted by key
  std::vector<Setting> fixed;                  // [set], sorted by key
};

// One run of a sweep.
struct GridRun {
  std::string name;                // e.g. "luna_M8_seed0", unique within the sweep
  std::filesystem::path config;    // base configuration
  std::string config_label;        // the configuration's part of the name ("" for one config)
  std::vector<Setting> settings;   // the grid axes' values for this run, axis order
  std::vector<Setting> overrides;  // fixed settings, then the grid settings
};

// Reads a grid file. `keys` are the dotted configuration keys (train::describe_keys); an unknown
// key (with the closest known one suggested), an empty or non-array axis, a missing
// configuration file or an unexpected top-level entry throws lunar::DataError naming the file,
// the line and the key.
Grid load_grid(const std::filesystem::path& file, const std::vector<std::string>& keys);

// The grid of a command line: one base configuration, `grid_sets` as `key=v1,v2,...` axes
// (values are `lunar train --set` text, split at commas) and `sets` as `key=value` fixed
// settings. An unknown key (with the closest known one), a key given twice, an empty value or a
// missing configuration throws lunar::Error naming the option.
Grid command_line_grid(const std::filesystem::path& config,
                       const std::vector<std::string>& grid_sets,
                       const std::vector<std::string>& sets, const std::vector<std::string>& keys);

// All combinations, the last axis varying fastest. Names join the configuration's label (when
// there are several configurations) and one part per axis: `M<v>` for model.luna.memory_len,
// `seed<v>` for train.seed, the bare value for model.architecture and task.name, `<leaf>-<v>`
// otherwise; characters other than [A-Za-z0-9.-] become '-'.
std::vector<GridRun> expand_grid(const Grid& grid);

// Removes the setting of `key` from the runs for which `drop(run)` is true (e.g. memory sizes of
// models without memory), renames them and keeps the first of runs that become identical.
std::vector<GridRun> drop_setting(std::vector<GridRun> runs, const std::string& key,
                                  const std::function<bool(const GridRun&)>& drop);

// The run's name from its configuration label and settings (as expand_grid names it).
std::string run_name(const std::string& config_label, const std::vector<Setting>& settings);

// Quotes `word` for a POSIX shell when it holds anything beyond [A-Za-z0-9_./=:,+-].
std::string shell_quote(const std::string& word);

// `args` as one shell command line, each argument quoted by shell_quote.
std::string command_line(const std::vector<std::string>& args);

// The argument vector of `lunar train` for `run` in `run_dir` (argv[0] = `executable`).
std::vector<std::string> train_arguments(const std::string& executable, const GridRun& run,
                                         const std::filesystem::path& run_dir, bool resume,
                                         int threads);

}  // namespace lunar::study
