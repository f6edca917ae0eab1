// Ranking with ties, the building block of the Friedman and Wilcoxon signed-rank tests.
#pragma once

#include <vector>

namespace lunar::stats {

// Ranks of a set of values, smallest value first (rank 1), tied values sharing the average
// of the ranks they span (scipy.stats.rankdata(values, method='average')).
struct Ranking {
  std::vector<double> ranks;  // ranks[i] is the rank of values[i], in 1..n
  // Sum over groups of tied values of t^3 - t (t = size of the group); 0 without ties.
  // Both tests' tie corrections are written in terms of this sum.
  double tie_term = 0.0;
};

// Ranks `values` ascending with average ranks for ties. Ties are exact equality: values that
// differ only by rounding error are distinct. Throws lunar::Error on NaN.
Ranking rank_with_ties(const std::vector<double>& values);

}  // namespace lunar::stats
