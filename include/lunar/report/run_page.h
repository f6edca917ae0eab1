// The page of one run (`lunar report --runs RUN`), finished or still training: its setting and
// results, learning curves with the majority-class rate, the memory-collapse metrics over
// training and the heatmaps of P and its gradient; and the same facts as a short text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lunar/report/svg.h"
#include "lunar/runs/run_folder.h"

namespace lunar::report {

// Where a run stands, from summary.json when it is finished and from metrics.jsonl otherwise.
struct RunStatus {
  bool finished = false;                  // summary.json exists
  int64_t steps = 0;                      // steps done (the last logged step while live)
  std::optional<int64_t> best_step;       // none before the first evaluation
  double best_validation_accuracy = 0.0;  // at best_step
  std::optional<double> majority_val;     // the step-0 "data" line
  std::optional<double> majority_test;    // summary.json, else the step-0 "data" line
  bool best_predicts_one_class = false;   // summary.json: the best checkpoint learnt the prior
};
RunStatus run_status(const runs::RunFolder& run);

// The line every accuracy chart carries, on a run's page and in a study's report: the validation
// split's majority-class rate, or the test split's for runs that logged only that (summary.json
// of a run older than the step-0 "data" line); none without either.
std::vector<Reference> majority_references(std::optional<double> validation,
                                           std::optional<double> test);

// A few lines: the setting, steps so far, best validation accuracy and its step, test results
// when finished, the majority-class rates. `has_memory` as for build_run_page.
std::string run_summary_text(const runs::RunFolder& run, bool has_memory);

// One self-contained HTML page (no scripts; CSS, SVG and PNGs inline). `has_memory` says
// whether the architecture has a memory (the registry knows): without one the page says so
// instead of drawing collapse charts.
std::string build_run_page(const runs::RunFolder& run, bool has_memory);

}  // namespace lunar::report
