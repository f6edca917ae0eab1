// Multiple comparisons: Holm's step-down adjustment, all-pairs post-hoc tests after Friedman
// (García & Herrera 2008) or by Wilcoxon, and the k x k p-value matrix drawn as a heatmap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lunar/stats/friedman.h"
#include "lunar/stats/wilcoxon.h"

namespace lunar::stats {

// Holm (1979) step-down adjusted p-values, returned in the order of `p_values`: with the
// m values sorted ascending p_(1) <= ... <= p_(m), adjusted_(i) = max_{j <= i} min(1,
// (m - j + 1) p_(j)). Monotone in the sorted order and capped at 1; hypothesis i is rejected
// at level alpha exactly when adjusted[i] <= alpha. Throws on NaN or values outside [0, 1].
std::vector<double> holm_adjust(const std::vector<double>& p_values);

// One comparison of treatments `first` < `second`.
struct PairwiseComparison {
  int64_t first = 0;
  int64_t second = 0;
  std::string first_name;
  std::string second_name;
  // Friedman post-hoc: R_first - R_second (average ranks; negative means `first` is better).
  // Wilcoxon: mean of (first - second) over the blocks.
  double difference = 0.0;
  double z = 0.0;                 // the normal statistic; NaN for an exact Wilcoxon test
  double p_value = 1.0;           // unadjusted, two-sided
  double adjusted_p_value = 1.0;  // Holm over all k (k - 1) / 2 pairs
  bool rejected = false;          // adjusted_p_value <= alpha
};

// How a Friedman post-hoc comparison gets its p-value.
enum class PostHocP {
  // Two-sided normal approximation of z = (R_i - R_j) / sqrt(k (k + 1) / (6 n)) (García &
  // Herrera 2008, section 2.2; what scikit-posthocs and most papers report). Poor for few
  // blocks, in either direction: 5 seeds of which 4 rank i above j and 1 ties give 0.074 for
  // k = 2, where the exact p is 0.125.
  kNormal,
  // Exact: the probability, with every block's ranks permuted independently and uniformly (the
  // Friedman test's null hypothesis, ties kept), that |sum_b (r_bi - r_bj)| reaches the observed
  // value; the same example gives 0.125.
  kExact,
};

// Post-hoc comparisons of all k (k - 1) / 2 pairs after a Friedman test, two-sided p-values by
// `method`, Holm adjusted. Pairs come in the order (0,1), (0,2), ..., (k-2,k-1). `names` holds k
// treatment names, or is empty to name them by index. Throws on a wrong number of names, alpha
// outside (0, 1), or kExact without the result's block ranks.
std::vector<PairwiseComparison> friedman_posthoc(const FriedmanResult& friedman,
                                                 const std::vector<std::string>& names = {},
                                                 double alpha = 0.05,
                                                 PostHocP method = PostHocP::kNormal);

// Two-sided Wilcoxon signed-rank tests between every pair of columns of `blocks`, Holm adjusted,
// in the same pair order as friedman_posthoc. Options other than the alternative (always
// two-sided here) are passed on to wilcoxon_signed_rank. Two identical columns get p = 1
// (wilcoxon_signed_rank alone throws when every difference is zero).
std::vector<PairwiseComparison> pairwise_wilcoxon(const ResultMatrix& blocks,
                                                  const std::vector<std::string>& names = {},
                                                  double alpha = 0.05,
                                                  const WilcoxonOptions& options = {});

// Which p-value goes into a matrix.
enum class PValueKind { kAdjusted, kUnadjusted };

// A k x k matrix of p-values for a heatmap: symmetric, 1 on the diagonal.
struct PValueMatrix {
  std::vector<std::string> names;           // k treatment names, row and column labels
  std::vector<std::vector<double>> values;  // values[i][j] == values[j][i]
};

// Builds the matrix from the comparisons of all pairs of `names.size()` treatments (as
// returned by friedman_posthoc or pairwise_wilcoxon). Throws when a pair is missing, repeated
// or out of range.
PValueMatrix p_value_matrix(const std::vector<PairwiseComparison>& comparisons,
                            const std::vector<std::string>& names,
                            PValueKind kind = PValueKind::kAdjusted);

}  // namespace lunar::stats
