// Average ranks with ties (scipy.stats.rankdata, method='average') and the tie sum used by
// the tie corrections of the Friedman and Wilcoxon tests.
#include "lunar/stats/ranks.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lunar/core/error.h"

namespace lunar::stats {

Ranking rank_with_ties(const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    check(!std::isnan(values[i]),
          "[stats] rank expected values that are not NaN, got NaN at index {}", i);
  }
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  Ranking ranking;
  ranking.ranks.assign(values.size(), 0.0);
  size_t start = 0;
  while (start < order.size()) {
    size_t end = start + 1;  // one past the last value equal to values[order[start]]
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    // Positions start..end-1 hold ranks start+1..end; their average is (start + 1 + end) / 2.
    const double average = 0.5 * static_cast<double>(start + 1 + end);
    for (size_t i = start; i < end; ++i) ranking.ranks[order[i]] = average;
    const double tied = static_cast<double>(end - start);
    ranking.tie_term += tied * tied * tied - tied;
    start = end;
  }
  return ranking;
}

}  // namespace lunar::stats
