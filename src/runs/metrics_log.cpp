// JSON-lines metrics log with nlohmann_json: "step" and "split" first, values by name after.
#include "lunar/runs/metrics_log.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <limits>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "text_file.h"

namespace lunar::runs {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Parses one line; throws DataError naming path:line and the offending field.
MetricsRecord parse_line(const std::string& line, const std::string& path, int64_t number) {
  OrderedJson object;
  try {
    object = OrderedJson::parse(line);
  } catch (const nlohmann::json::parse_error& error) {
    throw DataError(path, number, "", fmt::format("malformed JSON: {}", error.what()));
  }
  if (!object.is_object()) {
    throw DataError(path, number, "",
                    fmt::format("expected a JSON object, got {}", object.type_name()));
  }
  MetricsRecord record;
  const auto step = object.find("step");
  if (step == object.end() || !step->is_number_integer()) {
    throw DataError(path, number, "step", "expected an integer step");
  }
  record.step = step->get<int64_t>();
  const auto split = object.find("split");
  if (split == object.end() || !split->is_string()) {
    throw DataError(path, number, "split", "expected a string split");
  }
  record.split = split->get<std::string>();
  for (const auto& [name, value] : object.items()) {
    if (name == "step" || name == "split") continue;
    if (value.is_null()) {
      record.values[name] = std::numeric_limits<double>::quiet_NaN();
    } else if (value.is_number()) {
      record.values[name] = value.get<double>();
    } else {
      throw DataError(path, number, name,
                      fmt::format("expected a number or null, got {}", value.type_name()));
    }
  }
  return record;
}

std::string format_line(const MetricsRecord& record) {
  OrderedJson object;
  object["step"] = record.step;
  object["split"] = record.split;
  for (const auto& [name, value] : record.values) {
    if (std::isfinite(value)) {
      object[name] = value;
    } else {
      object[name] = nullptr;
    }
  }
  return object.dump();
}

// Calls `visit(line, number, complete)` for each non-blank line of the log, numbered from 1;
// `complete` is false for a final line without its newline, which only a crash or a writer still
// at work leaves: a malformed one is skipped, any other malformed line is an error.
void for_each_line(const std::filesystem::path& path,
                   const std::function<void(const std::string&, int64_t, bool)>& visit) {
  const std::string contents = read_text_file(path);
  size_t start = 0;
  for (int64_t number = 1; start < contents.size(); ++number) {
    const size_t end = contents.find('\n', start);
    const bool complete = end != std::string::npos;
    const std::string line = contents.substr(start, complete ? end - start : std::string::npos);
    start = complete ? end + 1 : contents.size();
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    visit(line, number, complete);
  }
}

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& path) : path_(path) {
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
  bool needs_newline = false;
  {
    std::ifstream existing(path_, std::ios::binary | std::ios::ate);
    if (existing && existing.tellg() > 0) {
      existing.seekg(-1, std::ios::end);
      needs_newline = existing.get() != '\n';
    }
  }
  out_.open(path_, std::ios::binary | std::ios::app);
  check(out_.is_open(), "[metrics] expected to open '{}' for appending, got an open failure",
        path_.string());
  if (needs_newline) out_ << '\n' << std::flush;
}

void MetricsLog::append(const MetricsRecord& record) {
  check(!record.split.empty(), "[metrics] expected a split name, got an empty one");
  for (const auto& entry : record.values) {
    check(!entry.first.empty() && entry.first != "step" && entry.first != "split",
          "[metrics] expected a value name other than '', 'step' and 'split', got '{}'",
          entry.first);
  }
  out_ << format_line(record) << '\n' << std::flush;
  check(static_cast<bool>(out_), "[metrics] expected to write '{}', got a write failure",
        path_.string());
}

std::vector<MetricsRecord> read_metrics_log(const std::filesystem::path& path) {
  std::vector<MetricsRecord> records;
  for_each_line(path, [&](const std::string& line, int64_t number, bool complete) {
    try {
      records.push_back(parse_line(line, path.string(), number));
    } catch (const DataError&) {
      if (complete) throw;
    }
  });
  return records;
}

TruncateResult truncate_metrics_log(const std::filesystem::path& path, int64_t last_step) {
  TruncateResult result;
  if (!std::filesystem::exists(path)) return result;
  std::string kept;
  for_each_line(path, [&](const std::string& line, int64_t number, bool complete) {
    bool keep = false;
    try {
      const auto record = parse_line(line, path.string(), number);
      keep = record.step <= last_step && record.split != "test";
    } catch (const DataError&) {
      if (complete) throw;
    }
    if (keep) {
      kept += line;
      kept += '\n';
      ++result.kept_lines;
    } else {
      ++result.removed_lines;
    }
  });
  if (result.removed_lines > 0) write_atomically(path, kept);
  return result;
}

}  // namespace lunar::runs
