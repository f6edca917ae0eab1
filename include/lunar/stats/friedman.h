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
  // degrees of freedom; less conservative than the chi-square. +inf with p = 0 when every
  // block ranks the treatments identically.
  double iman_davenport_f = 0.0;
  double iman_davenport_p_value = 1.0;
  int64_t f_df_numerator = 0;
  int64_t f_df_denominator = 0;
};

// Runs the Friedman test on `blocks` (n >= 2 rows, each of the same k >= 2 finite values).
// Throws lunar::Error on ragged rows, n < 2, k < 2 or non-finite values. When every block is
// one single tie the statistic is 0 with p = 1 (SciPy returns NaN there).
FriedmanResult friedman_test(const ResultMatrix& blocks,
                             Direction direction = Direction::kHigherIsBetter);

}  // namespace lunar::stats
