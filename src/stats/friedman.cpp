// Friedman chi-square with the tie correction and the Iman-Davenport F (Demšar 2006, eq. 1-2),
// p-values from Boost.Math.
#include "lunar/stats/friedman.h"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/fisher_f.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lunar/core/error.h"
#include "lunar/stats/ranks.h"

namespace lunar::stats {

namespace {

// Counts the arrangements of blocks b.. (each block's distinct rank permutations) whose rank sums,
// added to `sums`, reach a sum of squares of at least `observed`.
void count_arrangements(const std::vector<std::vector<std::vector<double>>>& permutations, size_t b,
                        std::vector<double>& sums, double observed, double& at_least) {
  if (b == permutations.size()) {
    double squares = 0.0;
    for (double sum : sums) squares += sum * sum;
    at_least += squares >= observed ? 1.0 : 0.0;
    return;
  }
  for (const auto& ranks : permutations[b]) {
    for (size_t j = 0; j < sums.size(); ++j) sums[j] += ranks[j];
    count_arrangements(permutations, b + 1, sums, observed, at_least);
    for (size_t j = 0; j < sums.size(); ++j) sums[j] -= ranks[j];
  }
}

// Under the null hypothesis every distinct arrangement of a block's ranks is equally likely; the
// chi-square grows with the sum of squared rank sums, the tie correction being the same for all.
double exact_p_value(const std::vector<std::vector<double>>& block_ranks) {
  std::vector<std::vector<std::vector<double>>> permutations;
  double total = 1.0;
  for (auto ranks : block_ranks) {
    std::sort(ranks.begin(), ranks.end());
    std::vector<std::vector<double>> all;
    do {
      all.push_back(ranks);
    } while (std::next_permutation(ranks.begin(), ranks.end()));
    total *= static_cast<double>(all.size());
    if (total > kMaxExactArrangements) return std::numeric_limits<double>::quiet_NaN();
    permutations.push_back(std::move(all));
  }
  const size_t k = block_ranks.front().size();
  std::vector<double> sums(k, 0.0);
  for (const auto& ranks : block_ranks) {
    for (size_t j = 0; j < k; ++j) sums[j] += ranks[j];
  }
  double observed = 0.0;
  for (double sum : sums) observed += sum * sum;
  std::fill(sums.begin(), sums.end(), 0.0);
  double at_least = 0.0;
  // Rank sums are multiples of 1/2, so a relative tolerance separates ties from real gaps.
  count_arrangements(permutations, 0, sums, observed * (1.0 - 1e-12), at_least);
  return at_least / total;
}

}  // namespace

double friedman_smallest_p(int64_t num_treatments, int64_t num_blocks) {
  return std::exp(-static_cast<double>(num_blocks - 1) *
                  std::lgamma(static_cast<double>(num_treatments) + 1.0));
}

FriedmanResult friedman_test(const ResultMatrix& blocks, Direction direction) {
  const auto n = static_cast<int64_t>(blocks.size());
  check(n >= 2, "[stats] friedman expected at least 2 blocks (rows), got {}", n);
  const auto k = static_cast<int64_t>(blocks[0].size());
  check(k >= 2, "[stats] friedman expected at least 2 treatments (columns), got {}", k);
  for (int64_t b = 0; b < n; ++b) {
    check(static_cast<int64_t>(blocks[b].size()) == k,
          "[stats] friedman expected {} treatments in every block, got {} in block {}", k,
          blocks[b].size(), b);
    for (int64_t j = 0; j < k; ++j) {
      check(std::isfinite(blocks[b][j]),
            "[stats] friedman expected finite results, got {} in block {} treatment {}",
            blocks[b][j], b, j);
    }
  }

  FriedmanResult result;
  result.num_blocks = n;
  result.num_treatments = k;
  result.average_ranks.assign(k, 0.0);
  // Rank within each block so that rank 1 is the best: negate when higher is better. The
  // chi-square does not depend on the direction (ranks r and k + 1 - r give the same sum of
  // squared deviations from (k + 1) / 2), only the average ranks do.
  double tie_term = 0.0;
  std::vector<double> row(k);
  std::vector<std::vector<double>> block_ranks;
  for (const auto& block : blocks) {
    for (int64_t j = 0; j < k; ++j) {
      row[j] = direction == Direction::kHigherIsBetter ? -block[j] : block[j];
    }
    const Ranking ranking = rank_with_ties(row);
    for (int64_t j = 0; j < k; ++j) result.average_ranks[j] += ranking.ranks[j];
    tie_term += ranking.tie_term;
    block_ranks.push_back(ranking.ranks);
  }
  result.exact_p_value = exact_p_value(block_ranks);
  result.block_ranks = std::move(block_ranks);
  for (double& rank : result.average_ranks) rank /= static_cast<double>(n);

  const auto nd = static_cast<double>(n);
  const auto kd = static_cast<double>(k);
  // chi^2 = 12 n / (k (k + 1)) * sum_j (R_j - (k + 1) / 2)^2, divided by the tie correction
  // C = 1 - sum (t^3 - t) / (n k (k^2 - 1)) as in scipy.stats.friedmanchisquare.
  double squares = 0.0;
  for (double rank : result.average_ranks) {
    squares += (rank - 0.5 * (kd + 1.0)) * (rank - 0.5 * (kd + 1.0));
  }
  const double correction = 1.0 - tie_term / (nd * kd * (kd * kd - 1.0));
  result.chi_square_df = k - 1;
  result.f_df_numerator = k - 1;
  result.f_df_denominator = (k - 1) * (n - 1);
  if (correction <= 0.0) {
    // Every block is a single tie: no treatment differs from another.
    return result;
  }
  result.chi_square = 12.0 * nd / (kd * (kd + 1.0)) * squares / correction;
  const boost::math::chi_squared chi_squared(kd - 1.0);
  result.chi_square_p_value =
      boost::math::cdf(boost::math::complement(chi_squared, result.chi_square));

  // Iman & Davenport (1980): F = (n - 1) chi^2 / (n (k - 1) - chi^2). The denominator reaches 0
  // when the chi-square is at its maximum n (k - 1), i.e. every block ranks alike.
  const double denominator = nd * (kd - 1.0) - result.chi_square;
  if (denominator <= 1e-12 * nd * (kd - 1.0)) {
    result.iman_davenport_f = std::numeric_limits<double>::infinity();
    result.iman_davenport_p_value = friedman_smallest_p(k, n);
    return result;
  }
  result.iman_davenport_f = (nd - 1.0) * result.chi_square / denominator;
  const boost::math::fisher_f fisher(static_cast<double>(result.f_df_numerator),
                                     static_cast<double>(result.f_df_denominator));
  result.iman_davenport_p_value =
      boost::math::cdf(boost::math::complement(fisher, result.iman_davenport_f));
  return result;
}

}  // namespace lunar::stats
