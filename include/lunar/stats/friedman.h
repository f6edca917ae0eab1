// Friedman test of k treatments over n blocks, with the Iman-Davenport F refinement
// (Demšar 2006, "Statistical Comparisons of Classifiers over Multiple Data Sets", section 3.2.2).
#pragma once

#include <cstdint>
#include <vector>

namespace lunar::stats {

// Which results are better: decides which treatment gets rank 1 in every block.
enum class Direction { kHigherIsBetter, kLowerIsBetter };

// Results as a matrix: blocks[b][j] is treatment j's result in block b (a block is one
// dataset, or one task x seed; a treatment is one memory size or one model).
using ResultMatrix = std::vector<std::vector<double>>;

struct FriedmanResult {
  int64_t num_blocks = 0;      // n
  int64_t num_treatments = 0;  // k
  // Average rank of each treatment over the blocks; rank 1 is the best in a block.
  std::vector<double> average_ranks;
  // Friedman's chi-square with the correction for ties, on k - 1 degrees of freedom
  // (scipy.stats.friedmanchisquare).
  double chi_square = 0.0;
  double chi_square_p_value = 1.0;
  int64_t chi_square_df = 0;
  // Iman-Davenport F = (n - 1) chi^2 / (n (k - 1) - chi^2) on k - 1 and (k - 1)(n - 1)
  // degrees of freedom; less conservative than the chi-square. When every block ranks the
  // treatments identically (no ties) F is +inf and the F distribution says nothing; p is then
  // the exact probability of that outcome under the null hypothesis, with every ranking of a
  // block equally likely: k! (1/k!)^n = (1/k!)^(n-1). Five seeds of two treatments give 1/16:
  // never significant at 0.05, however large the gap.
  double iman_davenport_f = 0.0;
  double iman_davenport_p_value = 1.0;
  int64_t f_df_numerator = 0;
  int64_t f_df_denominator = 0;
  // The exact permutation p-value of the chi-square: the share of the arrangements of every
  // block's ranks (each block permuted independently, ties kept) whose statistic reaches the
  // observed one. The chi-square and F approximations are poor for few blocks: five seeds of two
  // treatments, four won and one tied, give chi-square p = 0.046 and F p = 0.016, exactly
  // p = 0.125. NaN when there are more than kMaxExactArrangements arrangements.
  double exact_p_value = 0.0;
  // block_ranks[b][j]: treatment j's rank in block b (1 = best, ties averaged).
  std::vector<std::vector<double>> block_ranks;
};

// The smallest p-value the exact test can give for n blocks of k treatments, (1/k!)^(n-1): the
// probability that every block ranks the treatments alike. Above alpha, no outcome of so few
// blocks can be significant ("n too small"): 5 seeds of 2 treatments give 1/16.
double friedman_smallest_p(int64_t num_treatments, int64_t num_blocks);

inline constexpr double kMaxExactArrangements = 2e7;

// Runs the Friedman test on `blocks` (n >= 2 rows, each of the same k >= 2 finite values).
// Throws lunar::Error on ragged rows, n < 2, k < 2 or non-finite values. When every block is
// one single tie the statistic is 0 with p = 1 (SciPy returns NaN there).
FriedmanResult friedman_test(const ResultMatrix& blocks,
                             Direction direction = Direction::kHigherIsBetter);

}  // namespace lunar::stats
