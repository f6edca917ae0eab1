// Grouping runs into the results table, its Markdown and CSV forms, and mean curves.
#include "lunar/report/aggregate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "lunar/core/error.h"

namespace lunar::report {

std::string ModelKey::label() const {
  return memory_len > 0 ? fmt::format("{}-{}", architecture, memory_len) : architecture;
}

bool ModelKey::operator<(const ModelKey& other) const {
  return std::tie(architecture, memory_len) < std::tie(other.architecture, other.memory_len);
}

bool ModelKey::operator==(const ModelKey& other) const {
  return architecture == other.architecture && memory_len == other.memory_len;
}

const Cell* ResultTable::cell(const ModelKey& model, const std::string& task) const {
  const auto found = cells.find({model, task});
  return found == cells.end() ? nullptr : &found->second;
}

ResultTable aggregate(const std::vector<runs::RunFolder>& runs, const HasMemory& has_memory) {
  ResultTable table;
  std::vector<std::string> architectures;
  std::set<ModelKey> models;
  std::set<std::string> tasks;
  for (const auto& run : runs) {
    if (!run.results) {
      table.unfinished.push_back(&run);
      continue;
    }
    const ModelKey key{run.architecture, has_memory(run.architecture) ? run.memory_len : 0};
    if (std::find(architectures.begin(), architectures.end(), run.architecture) ==
        architectures.end()) {
      architectures.push_back(run.architecture);
    }
    models.insert(key);
    tasks.insert(run.task);
    auto& cell = table.cells[{key, run.task}];
    for (const auto* other : cell.runs) {
      check(other->seed != run.seed,
            "[report] expected one run per setting and seed, got two for {} on {} seed {}: "
            "'{}' and '{}'",
            key.label(), run.task, run.seed, other->dir.string(), run.dir.string());
    }
    cell.best_by_seed[run.seed] = run.results->test_accuracy_best;
    cell.last_by_seed[run.seed] = run.results->test_accuracy_last;
    cell.runs.push_back(&run);
  }
  for (const auto& architecture : architectures) {
    for (const auto& model : models) {
      if (model.architecture == architecture) table.models.push_back(model);
    }
  }
  table.tasks.assign(tasks.begin(), tasks.end());
  for (auto& [key, cell] : table.cells) {
    std::sort(cell.runs.begin(), cell.runs.end(),
              [](const runs::RunFolder* a, const runs::RunFolder* b) { return a->seed < b->seed; });
  }
  return table;
}

namespace {

stats::Summary percent_summary(const std::map<int64_t, double>& by_seed) {
  std::vector<double> values;
  for (const auto& entry : by_seed) values.push_back(100.0 * entry.second);
  return stats::summarize(values);
}

size_t fullest(const ResultTable& table) {
  size_t most = 0;
  for (const auto& entry : table.cells) most = std::max(most, entry.second.best_by_seed.size());
  return most;
}

}  // namespace

double majority_rate(const ResultTable& table, const std::string& task) {
  double sum = 0.0;
  size_t count = 0;
  for (const auto& [key, cell] : table.cells) {
    if (key.second != task) continue;
    for (const auto* run : cell.runs) {
      sum += run->results->majority_rate;
      ++count;
    }
  }
  return count == 0 ? std::nan("") : sum / static_cast<double>(count);
}

size_t at_majority(const Cell& cell, Metric metric) {
  const auto& values = metric == Metric::kBest ? cell.best_by_seed : cell.last_by_seed;
  size_t count = 0;
  for (const auto* run : cell.runs) {
    const auto found = values.find(run->seed);
    if (found != values.end() &&
        runs::at_majority_rate(found->second, run->results->majority_rate)) {
      ++count;
    }
  }
  return count;
}

std::string to_markdown(const ResultTable& table, Metric metric, int decimals) {
  std::string out = "| model |";
  std::string rule = "|---|";
  for (const auto& task : table.tasks) {
    out += " " + task + " |";
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  const size_t most = fullest(table);
  for (const auto& model : table.models) {
    out += "| " + model.label() + " |";
    for (const auto& task : table.tasks) {
      const Cell* cell = table.cell(model, task);
      if (!cell) {
        out += " – |";
        continue;
      }
      const auto& values = metric == Metric::kBest ? cell->best_by_seed : cell->last_by_seed;
      out += " " + stats::format_mean_std(percent_summary(values), decimals);
      if (values.size() < most) out += fmt::format(" (n={})", values.size());
      if (const size_t k = at_majority(*cell, metric)) {
        out += fmt::format(" ({}/{} at majority)", k, values.size());
      }
      out += " |";
    }
    out += "\n";
  }
  out += "| majority class |";
  for (const auto& task : table.tasks) {
    out += fmt::format(" {:.{}f} |", 100.0 * majority_rate(table, task), decimals);
  }
  return out + "\n";
}

std::string to_csv(const ResultTable& table) {
  std::string out = "model,task,seeds,best_mean,best_std,last_mean,last_std\n";
  const auto number = [](double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : ""; };
  for (const auto& model : table.models) {
    for (const auto& task : table.tasks) {
      const Cell* cell = table.cell(model, task);
      if (!cell) continue;
      const auto best = percent_summary(cell->best_by_seed);
      const auto last = percent_summary(cell->last_by_seed);
      out +=
          fmt::format("{},{},{},{},{},{},{}\n", model.label(), task, best.count, number(best.mean),
                      number(best.stddev), number(last.mean), number(last.stddev));
    }
  }
  return out;
}

MeanCurve mean_curve(const std::vector<const runs::RunFolder*>& runs, const std::string& split,
                     const std::string& value) {
  MeanCurve curve;
  std::map<int64_t, std::vector<double>> by_step;
  for (const auto* run : runs) {
    for (const auto& point : run->metrics) {
      if (point.split != split) continue;
      const auto found = point.values.find(value);
      if (found != point.values.end() && std::isfinite(found->second)) {
        by_step[point.step].push_back(found->second);
      }
    }
  }
  for (const auto& [step, values] : by_step) {
    if (values.size() != runs.size()) continue;
    double sum = 0.0;
    for (double v : values) sum += v;
    const double mean = sum / static_cast<double>(values.size());
    double squares = 0.0;
    for (double v : values) squares += (v - mean) * (v - mean);
    curve.steps.push_back(step);
    curve.mean.push_back(mean);
    curve.stddev.push_back(
        values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0);
  }
  return curve;
}

}  // namespace lunar::report
