// summary.json with nlohmann_json; one table of its keys serves the writer and the reader.
#include "lunar/runs/summary.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <variant>
#include <vector>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "text_file.h"

namespace lunar::runs {

namespace fs = std::filesystem;

namespace {

using Member = std::variant<std::string RunSummary::*, int64_t RunSummary::*, double RunSummary::*,
                            bool RunSummary::*>;

struct SummaryKey {
  const char* name;
  Member member;
  bool required;  // by read_summary, which has always accepted summaries with only these
};

const std::vector<SummaryKey>& summary_keys() {
  static const std::vector<SummaryKey> keys = {
      {"run_dir", &RunSummary::run_dir, false},
      {"steps", &RunSummary::steps, true},
      {"best_step", &RunSummary::best_step, true},
      {"best_validation_accuracy", &RunSummary::best_validation_accuracy, true},
      {"test_accuracy_best", &RunSummary::test_accuracy_best, true},
      {"test_accuracy_last", &RunSummary::test_accuracy_last, true},
      {"test_loss_best", &RunSummary::test_loss_best, false},
      {"majority_rate", &RunSummary::majority_rate, true},
      {"best_predicts_one_class", &RunSummary::best_predicts_one_class, false},
      {"parameters", &RunSummary::parameters, false},
      {"seconds", &RunSummary::seconds, true},
      {"stopped_early", &RunSummary::stopped_early, false},
      {"interrupted", &RunSummary::interrupted, false}};
  return keys;
}

// Stores `value` into the member; throws naming the key when its type is not the member's.
struct ReadValue {
  const nlohmann::json& value;
  const fs::path& path;
  const char* key;
  RunSummary& summary;

  void operator()(std::string RunSummary::*member) const {
    if (!value.is_string()) fail("a string");
    summary.*member = value.get<std::string>();
  }
  void operator()(int64_t RunSummary::*member) const {
    if (!value.is_number()) fail("a number");
    summary.*member = value.is_number_integer() ? value.get<int64_t>()
                                                : static_cast<int64_t>(value.get<double>());
  }
  void operator()(double RunSummary::*member) const {
    if (!value.is_number()) fail("a number");
    summary.*member = value.get<double>();
  }
  void operator()(bool RunSummary::*member) const {
    if (!value.is_boolean()) fail("true or false");
    summary.*member = value.get<bool>();
  }
  [[noreturn]] void fail(const std::string& expected) const {
    throw DataError(path.string(), 0, key,
                    fmt::format("expected {}, got {}", expected, value.type_name()));
  }
};

}  // namespace

std::string one_class_warning(const std::string& checkpoint, const std::string& split) {
  return fmt::format(
      "{} gives every {} example the same class: the model learnt the label prior "
      "only",
      checkpoint, split);
}

bool at_majority_rate(double accuracy, double majority_rate) {
  return std::abs(accuracy - majority_rate) < 1e-9;
}

void write_summary(const fs::path& path, const RunSummary& summary) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& key : summary_keys()) {
    std::visit([&](auto member) { object[key.name] = summary.*member; }, key.member);
  }
  write_atomically(path, object.dump(2) + "\n");
}

RunSummary read_summary(const fs::path& path) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::parse_error& error) {
    throw DataError(path.string(), 0, "", fmt::format("malformed JSON: {}", error.what()));
  }
  if (!object.is_object()) {
    throw DataError(path.string(), 0, "",
                    fmt::format("expected a JSON object, got {}", object.type_name()));
  }
  RunSummary summary;
  bool has_one_class_flag = false;
  for (const auto& key : summary_keys()) {
    const auto found = object.find(key.name);
    if (found == object.end()) {
      if (key.required) throw DataError(path.string(), 0, key.name, "expected the key, got none");
      continue;
    }
    std::visit(ReadValue{*found, path, key.name, summary}, key.member);
    has_one_class_flag |= key.member == Member(&RunSummary::best_predicts_one_class);
  }
  if (!has_one_class_flag) {
    summary.best_predicts_one_class =
        at_majority_rate(summary.test_accuracy_best, summary.majority_rate);
  }
  return summary;
}

}  // namespace lunar::runs
