// Friedman chi-square with the tie correction and the Iman-Davenport F (Demšar 2006, eq. 1-2),
// p-values from Boost.Math.
#include "lunar/stats/friedman.h"

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/fisher_f.hpp>

#include <cmath>
#include <limits>

#include "lunar/core/error.h"
#include "lunar/stats/ranks.h"

namespace lunar::stats {

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
  for (const auto& block : blocks) {
    for (int64_t j = 0; j < k; ++j) {
      row[j] = direction == Direction::kHigherIsBetter ? -block[j] : block[j];
    }
    const Ranking ranking = rank_with_ties(row);
    for (int64_t j = 0; j < k; ++j) result.average_ranks[j] += ranking.ranks[j];
    tie_term += ranking.tie_term;
  }
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
    result.iman_davenport_p_value = 0.0;
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
