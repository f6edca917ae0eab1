// The research's statistics on a results table (test accuracy at the best validation
// checkpoint; a block is one task and seed): Friedman across memory sizes per model and across
// models per memory size, with Holm-corrected exact post-hoc p-values, and
// one-sided Wilcoxon signed-rank tests "row > column" between models of one memory size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lunar/report/aggregate.h"
#include "lunar/stats/friedman.h"
#include "lunar/stats/posthoc.h"

namespace lunar::report {

struct FriedmanStudy {
  std::string title;               // e.g. "luna: memory sizes" or "M = 8: models"
  std::vector<std::string> names;  // treatments
  int64_t blocks = 0;              // task x seed pairs where every treatment has a result
  stats::FriedmanResult friedman;
  stats::PValueMatrix holm;  // Holm-adjusted exact post-hoc p-values
};

struct WilcoxonStudy {
  std::string title;  // e.g. "M = 8: row > column"
  std::vector<std::string> names;
  // p[i][j]: one-sided p-value of "names[i] > names[j]" over the blocks both have; NaN on the
  // diagonal and where fewer than 2 paired blocks exist; 1 where every difference is zero.
  std::vector<std::vector<double>> p;
  std::vector<std::vector<int64_t>> pairs;  // paired blocks per (i, j)
};

struct StudyStatistics {
  std::vector<FriedmanStudy> friedman;
  std::vector<WilcoxonStudy> wilcoxon;
};

// The level every verdict of the report is taken at.
inline constexpr double kAlpha = 0.05;

// How the report prints a p-value: 4 decimals, scientific below 0.001, "–" when not computed.
std::string p_text(double p);

// A Friedman study's verdict at kAlpha: "n too small (smallest possible p 0.0625)" when no
// outcome of its blocks could reach kAlpha (stats::friedman_smallest_p), else "significant" or
// "not significant" by the exact p (by the Iman-Davenport F when there is none).
std::string friedman_verdict(const FriedmanStudy& study);

// A one-sided Wilcoxon cell: its p-value, or "n too small" when `pairs` could not reach kAlpha
// (stats::wilcoxon_smallest_p).
std::string wilcoxon_text(double p, int64_t pairs);

// Runs every test the table has data for: Friedman needs >= 2 treatments and >= 2 complete
// blocks; Wilcoxon >= 2 models of one memory size.
StudyStatistics study_statistics(const ResultTable& table);

}  // namespace lunar::report
