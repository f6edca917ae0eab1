// Holm's step-down adjustment and all-pairs post-hoc comparisons (García & Herrera 2008, or
// exact by permutation), plus the symmetric p-value matrix behind the heatmaps.
#include "lunar/stats/posthoc.h"

#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lunar/core/error.h"

namespace lunar::stats {
namespace {

std::vector<std::string> resolve_names(const std::vector<std::string>& names, int64_t k) {
  if (names.empty()) {
    std::vector<std::string> by_index;
    for (int64_t j = 0; j < k; ++j) by_index.push_back(std::to_string(j));
    return by_index;
  }
  check(static_cast<int64_t>(names.size()) == k,
        "[stats] post-hoc expected {} treatment names, got {}", k, names.size());
  return names;
}

void check_alpha(double alpha) {
  check(alpha > 0.0 && alpha < 1.0, "[stats] post-hoc expected alpha in (0, 1), got {}", alpha);
}

// Fills in the Holm-adjusted p-values and the decisions of `comparisons`.
void adjust(std::vector<PairwiseComparison>& comparisons, double alpha) {
  std::vector<double> p_values;
  for (const auto& comparison : comparisons) p_values.push_back(comparison.p_value);
  const std::vector<double> adjusted = holm_adjust(p_values);
  for (size_t i = 0; i < comparisons.size(); ++i) {
    comparisons[i].adjusted_p_value = adjusted[i];
    comparisons[i].rejected = adjusted[i] <= alpha;
  }
}

// Exact two-sided p of the rank-sum difference of treatments i and j: each block contributes
// r_a - r_b for a uniformly drawn ordered pair (a, b) of distinct positions of its ranks (what a
// uniform permutation puts at i and j). Ranks are multiples of 1/2, so twice the differences are
// integers and the distribution of the sum is a convolution over integer offsets.
double exact_pair_p(const std::vector<std::vector<double>>& block_ranks, int64_t i, int64_t j) {
  const auto k = static_cast<int64_t>(block_ranks.front().size());
  const int64_t reach = 2 * (k - 1) * static_cast<int64_t>(block_ranks.size());
  std::vector<double> distribution(2 * reach + 1, 0.0);  // index = 2 * sum + reach
  distribution[reach] = 1.0;
  const double share = 1.0 / static_cast<double>(k * (k - 1));
  int64_t observed = 0;
  for (const auto& ranks : block_ranks) {
    observed += std::llround(2.0 * (ranks[i] - ranks[j]));
    std::vector<double> next(distribution.size(), 0.0);
    for (int64_t a = 0; a < k; ++a) {
      for (int64_t b = 0; b < k; ++b) {
        if (a == b) continue;
        const int64_t step = std::llround(2.0 * (ranks[a] - ranks[b]));
        for (int64_t s = 0; s < static_cast<int64_t>(distribution.size()); ++s) {
          if (distribution[s] != 0.0) next[s + step] += distribution[s] * share;
        }
      }
    }
    distribution = std::move(next);
  }
  double p = 0.0;
  for (int64_t s = 0; s < static_cast<int64_t>(distribution.size()); ++s) {
    if (std::llabs(s - reach) >= std::llabs(observed)) p += distribution[s];
  }
  return std::min(1.0, p);
}

}  // namespace

std::vector<double> holm_adjust(const std::vector<double>& p_values) {
  for (size_t i = 0; i < p_values.size(); ++i) {
    check(p_values[i] >= 0.0 && p_values[i] <= 1.0,
          "[stats] holm expected p-values in [0, 1], got {} at index {}", p_values[i], i);
  }
  const size_t m = p_values.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(m);
  double running_max = 0.0;  // enforces monotonicity: a later step never has a smaller value
  for (size_t step = 0; step < m; ++step) {
    const double scaled = std::min(1.0, static_cast<double>(m - step) * p_values[order[step]]);
    running_max = std::max(running_max, scaled);
    adjusted[order[step]] = running_max;
  }
  return adjusted;
}

std::vector<PairwiseComparison> friedman_posthoc(const FriedmanResult& friedman,
                                                 const std::vector<std::string>& names,
                                                 double alpha, PostHocP method) {
  const int64_t k = friedman.num_treatments;
  const int64_t n = friedman.num_blocks;
  check(k >= 2 && n >= 2 && static_cast<int64_t>(friedman.average_ranks.size()) == k,
        "[stats] post-hoc expected a Friedman result with k >= 2 treatments and n >= 2 blocks, "
        "got k = {}, n = {}",
        k, n);
  check_alpha(alpha);
  check(method == PostHocP::kNormal || static_cast<int64_t>(friedman.block_ranks.size()) == n,
        "[stats] exact post-hoc expected the block ranks of {} blocks, got {}", n,
        friedman.block_ranks.size());
  const std::vector<std::string> labels = resolve_names(names, k);
  // Standard error of a difference of average ranks under H0 (Demšar 2006, section 3.2.2).
  const double se = std::sqrt(static_cast<double>(k * (k + 1)) / (6.0 * static_cast<double>(n)));
  const boost::math::normal standard_normal;
  std::vector<PairwiseComparison> comparisons;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = i + 1; j < k; ++j) {
      PairwiseComparison comparison;
      comparison.first = i;
      comparison.second = j;
      comparison.first_name = labels[i];
      comparison.second_name = labels[j];
      comparison.difference = friedman.average_ranks[i] - friedman.average_ranks[j];
      comparison.z = comparison.difference / se;
      comparison.p_value =
          method == PostHocP::kExact
              ? exact_pair_p(friedman.block_ranks, i, j)
              : std::min(1.0, 2.0 * boost::math::cdf(boost::math::complement(
                                        standard_normal, std::fabs(comparison.z))));
      comparisons.push_back(comparison);
    }
  }
  adjust(comparisons, alpha);
  return comparisons;
}

std::vector<PairwiseComparison> pairwise_wilcoxon(const ResultMatrix& blocks,
                                                  const std::vector<std::string>& names,
                                                  double alpha, const WilcoxonOptions& options) {
  check(!blocks.empty(), "[stats] pairwise wilcoxon expected at least 2 blocks (rows), got 0");
  const auto k = static_cast<int64_t>(blocks[0].size());
  check(k >= 2, "[stats] pairwise wilcoxon expected at least 2 treatments (columns), got {}", k);
  for (size_t b = 0; b < blocks.size(); ++b) {
    check(static_cast<int64_t>(blocks[b].size()) == k,
          "[stats] pairwise wilcoxon expected {} treatments in every block, got {} in block {}", k,
          blocks[b].size(), b);
  }
  check_alpha(alpha);
  const std::vector<std::string> labels = resolve_names(names, k);
  WilcoxonOptions two_sided = options;
  two_sided.alternative = Alternative::kTwoSided;
  std::vector<PairwiseComparison> comparisons;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = i + 1; j < k; ++j) {
      std::vector<double> first;
      std::vector<double> second;
      double sum = 0.0;
      for (const auto& block : blocks) {
        first.push_back(block[i]);
        second.push_back(block[j]);
        sum += block[i] - block[j];
      }
      PairwiseComparison comparison;
      if (first == second) {
        // Identical columns: no signed difference to rank, so no evidence of a difference.
        comparison.z = 0.0;
        comparison.p_value = 1.0;
      } else {
        const WilcoxonResult test = wilcoxon_signed_rank(first, second, two_sided);
        comparison.z = test.z;
        comparison.p_value = test.p_value;
      }
      comparison.first = i;
      comparison.second = j;
      comparison.first_name = labels[i];
      comparison.second_name = labels[j];
      comparison.difference = sum / static_cast<double>(blocks.size());
      comparisons.push_back(comparison);
    }
  }
  adjust(comparisons, alpha);
  return comparisons;
}

PValueMatrix p_value_matrix(const std::vector<PairwiseComparison>& comparisons,
                            const std::vector<std::string>& names, PValueKind kind) {
  const auto k = static_cast<int64_t>(names.size());
  check(k >= 2, "[stats] p-value matrix expected at least 2 treatment names, got {}", k);
  check(static_cast<int64_t>(comparisons.size()) == k * (k - 1) / 2,
        "[stats] p-value matrix expected {} comparisons for {} treatments, got {}", k * (k - 1) / 2,
        k, comparisons.size());
  PValueMatrix matrix;
  matrix.names = names;
  matrix.values.assign(k, std::vector<double>(k, -1.0));  // -1 marks a cell not yet filled
  for (int64_t j = 0; j < k; ++j) matrix.values[j][j] = 1.0;
  for (const auto& comparison : comparisons) {
    const int64_t i = comparison.first;
    const int64_t j = comparison.second;
    check(i >= 0 && j >= 0 && i < k && j < k && i != j,
          "[stats] p-value matrix expected a pair of distinct treatments in 0..{}, got ({}, {})",
          k - 1, i, j);
    check(matrix.values[i][j] < 0.0,
          "[stats] p-value matrix expected each pair once, got ({}, {}) twice", i, j);
    const double p =
        kind == PValueKind::kAdjusted ? comparison.adjusted_p_value : comparison.p_value;
    matrix.values[i][j] = p;
    matrix.values[j][i] = p;
  }
  return matrix;
}

}  // namespace lunar::stats
