// Results per setting over seeds: the research's table (rows model-M, columns tasks) with
// mean ± std of test accuracy at the best validation checkpoint and at the last step, as
// Markdown and CSV, and mean curves with their spread over seeds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lunar/runs/run_folder.h"
#include "lunar/stats/descriptive.h"

namespace lunar::report {

// Whether an architecture has a memory (its rows carry the memory size); the registry knows.
using HasMemory = std::function<bool(const std::string& architecture)>;

// A row of the table: a model and, for models with memory, its memory size.
struct ModelKey {
  std::string architecture;
  int64_t memory_len = 0;     // 0 for models without memory
  std::string label() const;  // "luna-8", "transformer"
  bool operator<(const ModelKey& other) const;
  bool operator==(const ModelKey& other) const;
};

struct Cell {
  std::map<int64_t, double> best_by_seed;    // test accuracy at the best validation checkpoint
  std::map<int64_t, double> last_by_seed;    // test accuracy at the last step
  std::vector<const runs::RunFolder*> runs;  // finished runs of the cell, by seed
};

struct ResultTable {
  std::vector<ModelKey> models;    // rows, in first-seen architecture order then memory size
  std::vector<std::string> tasks;  // columns, sorted
  std::map<std::pair<ModelKey, std::string>, Cell> cells;
  std::vector<const runs::RunFolder*> unfinished;  // runs without summary.json
  const Cell* cell(const ModelKey& model, const std::string& task) const;  // nullptr when empty
};

// Groups finished runs by (model, task); two runs of one cell with the same seed are an error
// naming both directories. `runs` must outlive the table.
ResultTable aggregate(const std::vector<runs::RunFolder>& runs, const HasMemory& has_memory);

// Which test accuracy a table shows.
enum class Metric { kBest, kLast };

// The test split's majority-class rate of a task's runs (the same test set in each: their mean);
// NaN for a task without finished runs.
double majority_rate(const ResultTable& table, const std::string& task);
// How many of a cell's seeds score exactly their test split's majority-class rate: a checkpoint
// that predicts one class.
size_t at_majority(const Cell& cell, Metric metric);

// Mean ± std over seeds in percent with `decimals` digits, "n=<seeds>" when fewer seeds than the
// fullest cell, "k/n at majority" when k seeds score the majority-class rate, "–" for an empty
// cell; a last row gives each task's majority-class rate.
std::string to_markdown(const ResultTable& table, Metric metric, int decimals = 2);
// One line per (model, task): model,task,seeds,best_mean,best_std,last_mean,last_std (percent).
std::string to_csv(const ResultTable& table);

// Mean and sample standard deviation over runs of a value per step, on the steps every run has.
struct MeanCurve {
  std::vector<int64_t> steps;
  std::vector<double> mean;
  std::vector<double> stddev;  // 0 for a single run
};
MeanCurve mean_curve(const std::vector<const runs::RunFolder*>& runs, const std::string& split,
                     const std::string& value);

}  // namespace lunar::report
