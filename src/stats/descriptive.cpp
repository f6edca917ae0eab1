// Mean, sample standard deviation and extremes over seeds, and their "mean ± std" text.
#include "lunar/stats/descriptive.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lunar/core/error.h"

namespace lunar::stats {

Summary summarize(const std::vector<double>& values) {
  check(!values.empty(), "[stats] summarize expected at least one value, got 0");
  for (size_t i = 0; i < values.size(); ++i) {
    check(std::isfinite(values[i]), "[stats] summarize expected finite values, got {} at index {}",
          values[i], i);
  }
  Summary summary;
  summary.count = static_cast<int64_t>(values.size());
  const auto [min_it, max_it] = std::minmax_element(values.begin(), values.end());
  summary.min = *min_it;
  summary.max = *max_it;
  double sum = 0.0;
  for (double value : values) sum += value;
  summary.mean = sum / static_cast<double>(values.size());
  if (values.size() < 2) {
    summary.stddev = std::numeric_limits<double>::quiet_NaN();
    return summary;
  }
  // Two passes (mean first, then squared deviations) avoid the cancellation of the
  // sum-of-squares formula when the spread is small next to the mean, as it is for accuracies.
  double squares = 0.0;
  for (double value : values) squares += (value - summary.mean) * (value - summary.mean);
  summary.stddev = std::sqrt(squares / static_cast<double>(values.size() - 1));
  return summary;
}

std::string format_mean_std(const Summary& summary, int decimals) {
  check(decimals >= 0 && decimals <= 17,
        "[stats] format_mean_std expected decimals in 0..17, got {}", decimals);
  if (summary.count < 2 || std::isnan(summary.stddev)) {
    return fmt::format("{:.{}f}", summary.mean, decimals);
  }
  return fmt::format("{:.{}f} \u00b1 {:.{}f}", summary.mean, decimals, summary.stddev, decimals);
}

}  // namespace lunar::stats
