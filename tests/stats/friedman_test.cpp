// Tests of the Friedman test (chi-square, Iman-Davenport F, exact p) against SciPy 1.10 / numpy
// values. The numpy lines below give the reference values of the post-hoc comparisons
// (posthoc_test.cpp), Holm's adjustment (holm_test.cpp) and the p-value matrix
// (p_value_matrix_test.cpp) too.
//
// Reference values that SciPy has no function for were computed with these numpy lines:
//   import numpy as np; from scipy import stats
//   def holm(p):
//       p = np.asarray(p, float); m = len(p); o = np.argsort(p, kind='stable')
//       adj = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[o]))
//       out = np.empty(m); out[o] = adj; return out
//   cols = [...]; data = np.array(cols).T; n, k = data.shape          # rows are blocks
//   ranks = np.array([stats.rankdata(-row) for row in data]).mean(0)  # higher is better
//   chi = stats.friedmanchisquare(*cols).statistic
//   F = (n - 1) * chi / (n * (k - 1) - chi); pF = stats.f.sf(F, k - 1, (k - 1) * (n - 1))
//   pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
//   z = np.array([(ranks[i] - ranks[j]) / np.sqrt(k * (k + 1) / (6 * n)) for i, j in pairs])
//   p = 2 * stats.norm.sf(np.abs(z)); padj = holm(p)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "friedman_test_support.h"
#include "lunar/core/error.h"
#include "lunar/stats/friedman.h"
#include "support/expectations.h"

namespace {

using lunar::testing::expect_close;
using lunar::testing::expect_error;

using lunar::stats::Direction;
using lunar::stats::friedman_test;
using lunar::stats::FriedmanResult;
using lunar::stats::ResultMatrix;
using lunar::stats::testing::kMemorySeeds;
using lunar::stats::testing::kModelsDatasets;

TEST(Friedman, ThreeMemorySizesFiveSeedsWithTies) {
  const FriedmanResult result = friedman_test(kMemorySeeds, Direction::kHigherIsBetter);
  EXPECT_EQ(result.num_blocks, 5);
  EXPECT_EQ(result.num_treatments, 3);
  // ranks (higher is better) -> [2.9, 1.8, 1.3]
  ASSERT_EQ(result.average_ranks.size(), 3u);
  expect_close(result.average_ranks[0], 2.9);
  expect_close(result.average_ranks[1], 1.8);
  expect_close(result.average_ranks[2], 1.3);
  // stats.friedmanchisquare(m1, m8, m256) -> (7.444444444444447, 0.02418017437647035)
  expect_close(result.chi_square, 7.444444444444447);
  expect_close(result.chi_square_p_value, 0.02418017437647035);
  EXPECT_EQ(result.chi_square_df, 2);
  // F = 4 * chi / (5 * 2 - chi) -> 11.652173913043496; stats.f.sf(F, 2, 8) -> 0.004265218716659026
  expect_close(result.iman_davenport_f, 11.652173913043496);
  expect_close(result.iman_davenport_p_value, 0.004265218716659026);
  EXPECT_EQ(result.f_df_numerator, 2);
  EXPECT_EQ(result.f_df_denominator, 8);
}

TEST(Friedman, FourModelsEightDatasetsWithTies) {
  const FriedmanResult result = friedman_test(kModelsDatasets);
  // ranks (higher is better) -> [3.125, 2.3125, 3.5, 1.0625]
  const std::vector<double> ranks = {3.125, 2.3125, 3.5, 1.0625};
  for (size_t j = 0; j < ranks.size(); ++j) expect_close(result.average_ranks[j], ranks[j]);
  // stats.friedmanchisquare(a, b, c, d) -> (17.644736842105253, 0.0005206419193467194)
  expect_close(result.chi_square, 17.644736842105253);
  expect_close(result.chi_square_p_value, 0.0005206419193467194);
  // F = 7 * chi / (8 * 3 - chi) -> 19.43478260869561; stats.f.sf(F, 3, 21)
  // -> 2.8749245069485278e-06
  expect_close(result.iman_davenport_f, 19.43478260869561);
  expect_close(result.iman_davenport_p_value, 2.8749245069485278e-06);
  EXPECT_EQ(result.f_df_denominator, 21);
}

TEST(Friedman, DirectionChangesRanksNotStatistic) {
  const FriedmanResult higher = friedman_test(kModelsDatasets, Direction::kHigherIsBetter);
  const FriedmanResult lower = friedman_test(kModelsDatasets, Direction::kLowerIsBetter);
  // ranks with stats.rankdata(row) (lower is better) -> [1.875, 2.6875, 1.5, 3.9375]
  const std::vector<double> ranks = {1.875, 2.6875, 1.5, 3.9375};
  for (size_t j = 0; j < ranks.size(); ++j) {
    expect_close(lower.average_ranks[j], ranks[j]);
    expect_close(lower.average_ranks[j], 5.0 - higher.average_ranks[j]);
  }
  expect_close(lower.chi_square, higher.chi_square);
  expect_close(lower.iman_davenport_p_value, higher.iman_davenport_p_value);
}

// The exact null probability that the chi-square reaches `observed`: every block's ranking
// equally likely among the k! permutations, all k!^n combinations enumerated.
double exact_friedman_p(int64_t k, int64_t n, double observed) {
  std::vector<double> permutation(k);
  for (int64_t j = 0; j < k; ++j) permutation[j] = static_cast<double>(j);
  std::vector<std::vector<double>> rankings;
  do {
    rankings.push_back(permutation);
  } while (std::next_permutation(permutation.begin(), permutation.end()));
  const auto total = static_cast<int64_t>(std::pow(rankings.size(), n));
  int64_t at_least = 0;
  for (int64_t code = 0; code < total; ++code) {
    ResultMatrix blocks;
    for (int64_t b = 0, rest = code; b < n; ++b, rest /= static_cast<int64_t>(rankings.size())) {
      blocks.push_back(rankings[rest % static_cast<int64_t>(rankings.size())]);
    }
    at_least += friedman_test(blocks).chi_square >= observed - 1e-9 ? 1 : 0;
  }
  return static_cast<double>(at_least) / static_cast<double>(total);
}

TEST(Friedman, IdenticalRankingEverywhereGivesInfiniteFAndTheExactP) {
  // stats.friedmanchisquare([1, 2, 3], [2, 3, 4], [3, 4, 5]) -> (6.0, 0.04978706836786395)
  const FriedmanResult result = friedman_test({{1, 2, 3}, {2, 3, 4}, {3, 4, 5}});
  expect_close(result.chi_square, 6.0);
  expect_close(result.chi_square_p_value, 0.04978706836786395);
  EXPECT_TRUE(std::isinf(result.iman_davenport_f));
  // 3 treatments, 3 blocks: (1/3!)^2 = 1/36, as enumerating all 216 rankings gives.
  expect_close(result.iman_davenport_p_value, 1.0 / 36.0);
  expect_close(result.iman_davenport_p_value, exact_friedman_p(3, 3, result.chi_square));
  // Two treatments, five blocks (five seeds of M = 1 vs M = 8): 1/16, the two-sided sign test.
  const FriedmanResult seeds =
      friedman_test({{0.30, 0.20}, {0.31, 0.22}, {0.33, 0.21}, {0.34, 0.20}, {0.35, 0.25}});
  EXPECT_TRUE(std::isinf(seeds.iman_davenport_f));
  expect_close(seeds.iman_davenport_p_value, 1.0 / 16.0);
  expect_close(seeds.iman_davenport_p_value, exact_friedman_p(2, 5, seeds.chi_square));
}

TEST(Friedman, ExactPValueAgainstEnumerationAndTheSignTest) {
  // Two treatments, five seeds, four won: the two-sided sign test, P(wins <= 1 or >= 4) =
  // (1 + 5 + 5 + 1) / 32 = 0.375; chi-square (4 - 1)^2 / 5 = 1.8.
  const FriedmanResult four =
      friedman_test({{0.30, 0.20}, {0.31, 0.22}, {0.33, 0.21}, {0.34, 0.20}, {0.15, 0.25}});
  expect_close(four.chi_square, 1.8);
  expect_close(four.exact_p_value, 0.375);
  // Four won and one tied: chi-square 3.2 / (1 - 6 / 30) = 4, p = 0.0455 and F = 16, p = 0.016,
  // but exactly only the 2 of the 16 arrangements of the untied blocks that are all wins or all
  // losses reach it: p = 0.125.
  const FriedmanResult tie =
      friedman_test({{0.30, 0.20}, {0.31, 0.22}, {0.33, 0.21}, {0.34, 0.20}, {0.25, 0.25}});
  expect_close(tie.chi_square, 4.0);
  expect_close(tie.iman_davenport_f, 16.0);
  expect_close(tie.exact_p_value, 0.125);
  // Three treatments, four blocks, no ties: the brute force over all 6^4 arrangements.
  const FriedmanResult three = friedman_test({{1, 2, 3}, {2, 1, 3}, {3, 5, 4}, {0.5, 0.7, 0.9}});
  expect_close(three.exact_p_value, exact_friedman_p(3, 4, three.chi_square));
  // With ties a block's distinct arrangements are equally likely: block 1 has 3 of them.
  // Blocks {a = b < c}, {a < b < c}: observed rank sums (1.5 + 1, 1.5 + 2, 3 + 3) -> 6.25 + 12.25 +
  // 36 = 54.5; of the 3 x 6 = 18 arrangements, those reaching 54.5 put the 3 in the same column
  // in both blocks and the tied pair over ranks 1 and 2: 3 columns x 2 orders of the second
  // block's 1 and 2 = 6, p = 1/3.
  const FriedmanResult tied = friedman_test({{1, 1, 0}, {3, 2, 1}});
  expect_close(tied.exact_p_value, 1.0 / 3.0);
  // Too many arrangements (6! ^ 3 > 2e7): no exact value.
  ResultMatrix wide(3, std::vector<double>{1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(std::isnan(friedman_test(wide).exact_p_value));
}

TEST(Friedman, AllBlocksTiedGivesNoEvidence) {
  const FriedmanResult result = friedman_test({{0.5, 0.5, 0.5}, {0.7, 0.7, 0.7}});
  EXPECT_EQ(result.chi_square, 0.0);
  EXPECT_EQ(result.chi_square_p_value, 1.0);
  EXPECT_EQ(result.iman_davenport_p_value, 1.0);
  for (double rank : result.average_ranks) EXPECT_EQ(rank, 2.0);
}

TEST(Friedman, RejectsBadShapesAndNaN) {
  expect_error(
      [] {
        friedman_test({{0.1, 0.2, 0.3}});
      },
      "[stats] friedman expected at least 2 blocks (rows), got 1");
  expect_error(
      [] {
        friedman_test({{0.1}, {0.2}});
      },
      "[stats] friedman expected at least 2 treatments (columns), got 1");
  expect_error(
      [] {
        friedman_test({{0.1, 0.2, 0.3}, {0.1, 0.2}});
      },
      "[stats] friedman expected 3 treatments in every block, got 2 in block 1");
  expect_error(
      [] {
        friedman_test({{0.1, 0.2}, {std::nan(""), 0.2}});
      },
      "[stats] friedman expected finite results, got nan in block 1 treatment 0");
}

TEST(Friedman, SmallestPOfNBlocks) {
  expect_close(lunar::stats::friedman_smallest_p(2, 5), 1.0 / 16.0);
  expect_close(lunar::stats::friedman_smallest_p(3, 3), 1.0 / 36.0);
  expect_close(lunar::stats::friedman_smallest_p(4, 5), std::pow(1.0 / 24.0, 4));
  // It is the exact p of blocks that all rank alike.
  const auto alike = friedman_test({{3, 2, 1}, {6, 5, 4}, {9, 8, 7}});
  expect_close(alike.exact_p_value, lunar::stats::friedman_smallest_p(3, 3));
}

}  // namespace
