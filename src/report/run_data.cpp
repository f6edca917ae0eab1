// Run directories read with toml++ and nlohmann_json.
#include "lunar/report/run_data.h"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "lunar/core/error.h"

namespace lunar::report {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string(), 0, "", "cannot open the file for reading");
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

template <typename T>
T config_value(const toml::table& table, const fs::path& path, const std::string& key) {
  const auto node = table.at_path(key);
  if (!node) throw DataError(path.string(), 0, key, "expected the key, got none");
  const auto value = node.value_exact<T>();
  if (!value) {
    throw DataError(path.string(), static_cast<int64_t>(node.node()->source().begin.line), key,
                    "expected a value of the key's type");
  }
  return *value;
}

void read_config(RunData& run) {
  const auto path = run.dir / "config.toml";
  run.config_text = read_text(path);
  toml::table table;
  try {
    table = toml::parse(run.config_text, path.string());
  } catch (const toml::parse_error& error) {
    throw DataError(path.string(), static_cast<int64_t>(error.source().begin.line), "",
                    fmt::format("expected valid TOML: {}", error.description()));
  }
  run.architecture = config_value<std::string>(table, path, "model.architecture");
  run.memory_len = config_value<int64_t>(table, path, "model.luna.memory_len");
  run.task = config_value<std::string>(table, path, "task.name");
  run.seed = config_value<int64_t>(table, path, "train.seed");
  if (table.at_path("train.steps")) {
    run.planned_steps = config_value<int64_t>(table, path, "train.steps");
  }
}

double number(const nlohmann::json& object, const fs::path& path, const std::string& key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number()) {
    throw DataError(path.string(), 0, key, "expected a number");
  }
  return found->get<double>();
}

}  // namespace

bool at_majority_rate(double accuracy, double majority_rate) {
  return std::abs(accuracy - majority_rate) < 1e-9;
}

namespace {

RunResults read_summary(const fs::path& path) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::parse_error& error) {
    throw DataError(path.string(), 0, "", fmt::format("malformed JSON: {}", error.what()));
  }
  if (!object.is_object()) throw DataError(path.string(), 0, "", "expected a JSON object");
  RunResults r;
  r.steps = static_cast<int64_t>(number(object, path, "steps"));
  r.best_step = static_cast<int64_t>(number(object, path, "best_step"));
  r.best_validation_accuracy = number(object, path, "best_validation_accuracy");
  r.test_accuracy_best = number(object, path, "test_accuracy_best");
  r.test_accuracy_last = number(object, path, "test_accuracy_last");
  r.majority_rate = number(object, path, "majority_rate");
  r.seconds = number(object, path, "seconds");
  const auto flag = object.find("best_predicts_one_class");
  if (flag != object.end() && !flag->is_boolean()) {
    throw DataError(path.string(), 0, "best_predicts_one_class", "expected true or false");
  }
  r.best_predicts_one_class = flag != object.end()
                                  ? flag->get<bool>()
                                  : at_majority_rate(r.test_accuracy_best, r.majority_rate);
  return r;
}

std::vector<MetricsPoint> read_metrics(const fs::path& path) {
  std::vector<MetricsPoint> points;
  std::ifstream in(path, std::ios::binary);
  if (!in) return points;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& error) {
      // A torn last line is what a killed run leaves behind; anything else is an error.
      if (in.peek() == EOF) break;
      throw DataError(path.string(), number, "", fmt::format("malformed JSON: {}", error.what()));
    }
    MetricsPoint point;
    const auto step = object.find("step");
    const auto split = object.find("split");
    if (!object.is_object() || step == object.end() || !step->is_number_integer()) {
      throw DataError(path.string(), number, "step", "expected an integer step");
    }
    if (split == object.end() || !split->is_string()) {
      throw DataError(path.string(), number, "split", "expected a string split");
    }
    point.step = step->get<int64_t>();
    point.split = split->get<std::string>();
    for (const auto& [name, value] : object.items()) {
      if (name == "step" || name == "split") continue;
      if (value.is_null()) {
        point.values[name] = std::numeric_limits<double>::quiet_NaN();
      } else if (value.is_number()) {
        point.values[name] = value.get<double>();
      } else {
        throw DataError(path.string(), number, name, "expected a number or null");
      }
    }
    points.push_back(std::move(point));
  }
  return points;
}

}  // namespace

HeatmapName parse_heatmap_name(const fs::path& path) {
  HeatmapName name;
  const auto stem = path.stem().string();
  for (const std::string prefix : {"memory_grad_step", "memory_step"}) {
    if (stem.rfind(prefix, 0) != 0) continue;
    const auto digits = stem.substr(prefix.size());
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      break;
    }
    name.gradient = prefix == "memory_grad_step";
    name.step = std::stoll(digits);
    break;
  }
  return name;
}

RunData load_run(const fs::path& dir) {
  RunData run;
  run.dir = dir;
  read_config(run);
  if (fs::exists(dir / "summary.json")) run.results = read_summary(dir / "summary.json");
  run.metrics = read_metrics(dir / "metrics.jsonl");
  if (fs::is_directory(dir / "heatmaps")) {
    for (const auto& entry : fs::directory_iterator(dir / "heatmaps")) {
      if (entry.path().extension() == ".png") run.heatmaps.push_back(entry.path());
    }
    std::sort(run.heatmaps.begin(), run.heatmaps.end());
  }
  return run;
}

std::vector<RunData> load_runs(const fs::path& root) {
  check(fs::is_directory(root), "[report] expected a folder of run directories, got '{}'",
        root.string());
  std::vector<fs::path> dirs;
  if (fs::exists(root / "config.toml")) dirs.push_back(root);
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    if (!it->is_directory()) continue;
    const auto name = it->path().filename().string();
    if (name == "checkpoints" || name == "tensorboard" || name == "heatmaps") {
      it.disable_recursion_pending();
    } else if (fs::exists(it->path() / "config.toml")) {
      dirs.push_back(it->path());
      it.disable_recursion_pending();
    }
  }
  check(!dirs.empty(), "[report] expected run directories (with config.toml) under '{}', got none",
        root.string());
  std::sort(dirs.begin(), dirs.end());
  std::vector<RunData> runs;
  for (const auto& dir : dirs) runs.push_back(load_run(dir));
  return runs;
}

}  // namespace lunar::report
