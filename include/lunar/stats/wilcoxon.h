// Wilcoxon signed-rank test for paired samples, e.g. model A vs model B over the same seeds
// and tasks; matches scipy.stats.wilcoxon(x, y, zero_method='wilcox').
#pragma once

#include <cstdint>
#include <vector>

namespace lunar::stats {

// The alternative hypothesis about the differences d = x - y.
enum class Alternative {
  kTwoSided,  // d is not symmetric about 0
  kGreater,   // x tends to be greater than y ("A > B")
  kLess,      // x tends to be less than y
};

enum class WilcoxonMethod {
  kAuto,    // exact when there are at most kWilcoxonExactMaxPairs pairs, no zero and no tie
  kExact,   // exact null distribution; throws when zeros or ties make it invalid
  kNormal,  // normal approximation with the tie correction
};

// Largest number of pairs for which kAuto uses the exact distribution (SciPy's threshold).
inline constexpr int64_t kWilcoxonExactMaxPairs = 50;

struct WilcoxonOptions {
  Alternative alternative = Alternative::kTwoSided;
  WilcoxonMethod method = WilcoxonMethod::kAuto;
  // Continuity correction of the normal approximation (scipy's correction=True); ignored by
  // the exact method.
  bool continuity_correction = false;
};

struct WilcoxonResult {
  // As in SciPy: min(W+, W-) for the two-sided test, W+ for the one-sided ones.
  double statistic = 0.0;
  double rank_sum_positive = 0.0;  // W+: sum of the ranks of |d| over the pairs with d > 0
  double rank_sum_negative = 0.0;  // W-: the same over d < 0
  double p_value = 1.0;
  double z = 0.0;          // standardized statistic of the normal approximation; NaN if exact
  bool exact = false;      // whether p_value comes from the exact distribution
  int64_t num_pairs = 0;   // pairs given
  int64_t num_ranked = 0;  // pairs left after dropping zero differences
};

// Tests the differences x[i] - y[i]. Zero differences are dropped before ranking (Wilcoxon's
// own rule, SciPy's default zero_method='wilcox'); ties among |d| get average ranks.
// Throws lunar::Error on mismatched lengths, fewer than 2 pairs, non-finite values, or when
// every difference is zero.
WilcoxonResult wilcoxon_signed_rank(const std::vector<double>& x, const std::vector<double>& y,
                                    const WilcoxonOptions& options = {});

// The smallest p-value the exact test can give for n nonzero differences: 2^-n one-sided,
// 2^(1-n) two-sided (every difference of one sign). Above alpha, no outcome of so few pairs can
// be significant: 4 seeds one-sided give 0.0625.
double wilcoxon_smallest_p(int64_t num_pairs, Alternative alternative);

// Exact null distribution of W+ for n untied nonzero differences: element w is the number of
// subsets of {1, ..., n} whose sum is w (w = 0 .. n (n + 1) / 2); divide by 2^n for the
// probability. Computed by dynamic programming; n must be in 0..kWilcoxonExactMaxPairs.
std::vector<double> wilcoxon_exact_counts(int64_t n);

}  // namespace lunar::stats
