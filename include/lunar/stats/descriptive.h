// Descriptive statistics over seeds: mean, sample standard deviation, extremes, and the
// "mean ± std" text used in result tables (docs/statistics.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lunar::stats {

// Summary of one set of results (for example a task's accuracy over seeds).
struct Summary {
  double mean = 0.0;
  double stddev = 0.0;  // sample standard deviation (divisor n - 1); NaN when count == 1
  double min = 0.0;
  double max = 0.0;
  int64_t count = 0;
};

// Summarizes `values`. Throws lunar::Error on an empty input or a non-finite value.
// The standard deviation matches numpy.std(values, ddof=1); it is NaN for a single value,
// as there is no spread to estimate from one seed.
Summary summarize(const std::vector<double>& values);

// "mean ± std" with `decimals` digits after the point, e.g. "81.23 ± 0.45". A summary of a
// single value (no standard deviation) prints the mean alone. Throws on decimals outside 0..17.
std::string format_mean_std(const Summary& summary, int decimals = 2);

}  // namespace lunar::stats
