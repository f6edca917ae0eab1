// Wilcoxon signed-rank test: exact null distribution of W+ by dynamic programming for small
// untied samples, the normal approximation with tie and continuity corrections otherwise.
#include "lunar/stats/wilcoxon.h"

#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lunar/core/error.h"
#include "lunar/stats/ranks.h"

namespace lunar::stats {
namespace {

// Exact p-value of W+ = `w_plus` among n untied nonzero differences, as scipy.stats.wilcoxon
// computes it with method='exact' (two-sided: twice the smaller tail, 1 at the centre).
double exact_p_value(int64_t n, int64_t w_plus, Alternative alternative) {
  const std::vector<double> counts = wilcoxon_exact_counts(n);
  const double total = std::ldexp(1.0, static_cast<int>(n));  // 2^n subsets
  // Counts are integers below 2^50, so these sums are exact in double precision.
  double at_most = 0.0;  // #{W+ <= w_plus}
  for (int64_t w = 0; w <= w_plus; ++w) at_most += counts[w];
  double at_least = 0.0;  // #{W+ >= w_plus}
  for (size_t w = static_cast<size_t>(w_plus); w < counts.size(); ++w) at_least += counts[w];
  double p = 0.0;
  switch (alternative) {
    case Alternative::kGreater:
      p = at_least / total;
      break;
    case Alternative::kLess:
      p = at_most / total;
      break;
    case Alternative::kTwoSided:
      p = 2.0 * std::min(at_most, at_least) / total;
      break;
  }
  return std::min(p, 1.0);
}

}  // namespace

double wilcoxon_smallest_p(int64_t num_pairs, Alternative alternative) {
  const double one_sided = std::ldexp(1.0, -static_cast<int>(num_pairs));
  return alternative == Alternative::kTwoSided ? std::min(1.0, 2.0 * one_sided) : one_sided;
}

std::vector<double> wilcoxon_exact_counts(int64_t n) {
  check(n >= 0 && n <= kWilcoxonExactMaxPairs,
        "[stats] wilcoxon exact distribution expected 0..{} pairs, got {}", kWilcoxonExactMaxPairs,
        n);
  // counts[w] = number of subsets of {1..m} summing to w; adding rank m either leaves a subset
  // unchanged or raises its sum by m (a 0/1 knapsack count).
  std::vector<double> counts(static_cast<size_t>(n * (n + 1) / 2 + 1), 0.0);
  counts[0] = 1.0;
  for (int64_t m = 1; m <= n; ++m) {
    for (int64_t w = m * (m + 1) / 2; w >= m; --w) counts[w] += counts[w - m];
  }
  return counts;
}

WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& x, const std::vector<double>& y,
                                    const WilcoxonOptions& options) {
  check(x.size() == y.size(),
        "[stats] wilcoxon expected paired samples of equal length, got {} and {}", x.size(),
        y.size());
  check(x.size() >= 2, "[stats] wilcoxon expected at least 2 pairs, got {}", x.size());
  std::vector<double> differences;
  differences.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    check(std::isfinite(x[i]) && std::isfinite(y[i]),
          "[stats] wilcoxon expected finite values, got x = {} and y = {} at index {}", x[i], y[i],
          i);
    // Zero differences carry no sign: Wilcoxon's rule (SciPy's zero_method='wilcox') drops them.
    if (x[i] - y[i] != 0.0) differences.push_back(x[i] - y[i]);
  }
  const auto n = static_cast<int64_t>(differences.size());
  check(n >= 1, "[stats] wilcoxon expected at least one nonzero difference, got all {} zero",
        x.size());

  std::vector<double> magnitudes(differences.size());
  for (size_t i = 0; i < differences.size(); ++i) magnitudes[i] = std::fabs(differences[i]);
  const Ranking ranking = rank_with_ties(magnitudes);

  WilcoxonResult result;
  result.num_pairs = static_cast<int64_t>(x.size());
  result.num_ranked = n;
  for (size_t i = 0; i < differences.size(); ++i) {
    (differences[i] > 0.0 ? result.rank_sum_positive : result.rank_sum_negative) +=
        ranking.ranks[i];
  }
  result.statistic = options.alternative == Alternative::kTwoSided
                         ? std::min(result.rank_sum_positive, result.rank_sum_negative)
                         : result.rank_sum_positive;

  const bool has_zeros = n < result.num_pairs;
  const bool has_ties = ranking.tie_term > 0.0;
  bool exact = false;
  switch (options.method) {
    case WilcoxonMethod::kAuto:
      exact = result.num_pairs <= kWilcoxonExactMaxPairs && !has_zeros && !has_ties;
      break;
    case WilcoxonMethod::kExact:
      check(result.num_pairs <= kWilcoxonExactMaxPairs,
            "[stats] wilcoxon exact method expected at most {} pairs, got {}",
            kWilcoxonExactMaxPairs, result.num_pairs);
      check(!has_zeros,
            "[stats] wilcoxon exact method expected no zero differences, got {}; use the normal "
            "approximation",
            result.num_pairs - n);
      check(!has_ties,
            "[stats] wilcoxon exact method expected no tied |x - y|, got ties; use the normal "
            "approximation");
      exact = true;
      break;
    case WilcoxonMethod::kNormal:
      exact = false;
      break;
  }
  result.exact = exact;

  if (exact) {
    result.z = std::numeric_limits<double>::quiet_NaN();
    // Without ties every rank is an integer, so W+ is one.
    const auto w_plus = static_cast<int64_t>(std::llround(result.rank_sum_positive));
    result.p_value = exact_p_value(n, w_plus, options.alternative);
    return result;
  }

  // Normal approximation: under H0, E[T] = n (n + 1) / 4 and
  // Var[T] = n (n + 1) (2n + 1) / 24 - sum (t^3 - t) / 48 over groups of tied |d|.
  const auto nd = static_cast<double>(n);
  const double mean = nd * (nd + 1.0) / 4.0;
  const double variance = nd * (nd + 1.0) * (2.0 * nd + 1.0) / 24.0 - ranking.tie_term / 48.0;
  const double se = std::sqrt(variance);  // > 0 for n >= 1, even when every |d| is tied
  double shift = 0.0;
  if (options.continuity_correction) {
    switch (options.alternative) {
      case Alternative::kTwoSided:
        shift = result.statistic > mean ? 0.5 : (result.statistic < mean ? -0.5 : 0.0);
        break;
      case Alternative::kGreater:
        shift = 0.5;
        break;
      case Alternative::kLess:
        shift = -0.5;
        break;
    }
  }
  result.z = (result.statistic - mean - shift) / se;
  const boost::math::normal standard_normal;
  switch (options.alternative) {
    case Alternative::kTwoSided:
      result.p_value =
          2.0 * boost::math::cdf(boost::math::complement(standard_normal, std::fabs(result.z)));
      break;
    case Alternative::kGreater:
      result.p_value = boost::math::cdf(boost::math::complement(standard_normal, result.z));
      break;
    case Alternative::kLess:
      result.p_value = boost::math::cdf(standard_normal, result.z);
      break;
  }
  result.p_value = std::min(result.p_value, 1.0);
  return result;
}

}  // namespace lunar::stats
