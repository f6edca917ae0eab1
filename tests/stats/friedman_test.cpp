// Tests of the Friedman test, García-Herrera post-hoc comparisons, Holm's adjustment and the
// p-value matrix against SciPy 1.10 / numpy values.
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
#include <limits>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/stats/friedman.h"
#include "lunar/stats/posthoc.h"
#include "support/expectations.h"

namespace {

using lunar::testing::expect_close;
using lunar::testing::expect_error;

using lunar::stats::Direction;
using lunar::stats::friedman_posthoc;
using lunar::stats::friedman_test;
using lunar::stats::FriedmanResult;
using lunar::stats::holm_adjust;
using lunar::stats::p_value_matrix;
using lunar::stats::PairwiseComparison;
using lunar::stats::PostHocP;
using lunar::stats::PValueKind;
using lunar::stats::ResultMatrix;

// Memory sizes 1 / 8 / 256 (columns) over five seeds (rows); ties in seeds 2 and 3.
// Columns: m1 = [0.812, 0.805, 0.820, 0.799, 0.815], m8 = [0.825, 0.818, 0.820, 0.811, 0.829],
// m256 = [0.830, 0.818, 0.826, 0.809, 0.831].
const ResultMatrix kMemorySeeds = {
    {0.812, 0.825, 0.830}, {0.805, 0.818, 0.818}, {0.820, 0.820, 0.826},
    {0.799, 0.811, 0.809}, {0.815, 0.829, 0.831},
};

// Four models (columns a, b, c, d) over eight datasets (rows), ties in four rows.
// a = [0.84, 0.71, 0.90, 0.66, 0.75, 0.81, 0.92, 0.60]
// b = [0.86, 0.73, 0.90, 0.69, 0.74, 0.83, 0.93, 0.62]
// c = [0.83, 0.73, 0.88, 0.65, 0.76, 0.80, 0.91, 0.60]
// d = [0.88, 0.75, 0.91, 0.70, 0.78, 0.83, 0.95, 0.64]
const ResultMatrix kModelsDatasets = {
    {0.84, 0.86, 0.83, 0.88}, {0.71, 0.73, 0.73, 0.75}, {0.90, 0.90, 0.88, 0.91},
    {0.66, 0.69, 0.65, 0.70}, {0.75, 0.74, 0.76, 0.78}, {0.81, 0.83, 0.80, 0.83},
    {0.92, 0.93, 0.91, 0.95}, {0.60, 0.62, 0.60, 0.64},
};

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

TEST(FriedmanPosthoc, ThreeMemorySizesMatchGarciaHerreraHolm) {
  const FriedmanResult friedman = friedman_test(kMemorySeeds);
  const auto comparisons = friedman_posthoc(friedman, {"m1", "m8", "m256"}, 0.05);
  ASSERT_EQ(comparisons.size(), 3u);
  // z -> [1.7392527130926083, 2.529822128134703, 0.7905694150420948]
  // p -> [0.081990321000383, 0.01141203638600166, 0.42919530044034926]
  // holm(p) -> [0.163980642000766, 0.03423610915800497, 0.42919530044034926]
  const std::vector<double> z = {1.7392527130926083, 2.529822128134703, 0.7905694150420948};
  const std::vector<double> p = {0.081990321000383, 0.01141203638600166, 0.42919530044034926};
  const std::vector<double> adjusted = {0.163980642000766, 0.03423610915800497,
                                        0.42919530044034926};
  for (size_t i = 0; i < comparisons.size(); ++i) {
    expect_close(comparisons[i].z, z[i]);
    expect_close(comparisons[i].p_value, p[i]);
    expect_close(comparisons[i].adjusted_p_value, adjusted[i]);
  }
  EXPECT_EQ(comparisons[1].first_name, "m1");
  EXPECT_EQ(comparisons[1].second_name, "m256");
  expect_close(comparisons[1].difference, 1.6);  // m1 ranks 1.6 places behind m256
  EXPECT_FALSE(comparisons[0].rejected);
  EXPECT_TRUE(comparisons[1].rejected);
  EXPECT_FALSE(comparisons[2].rejected);
}

TEST(FriedmanPosthoc, FourModelsHolmIsMonotone) {
  const auto comparisons = friedman_posthoc(friedman_test(kModelsDatasets), {"a", "b", "c", "d"});
  ASSERT_EQ(comparisons.size(), 6u);
  // pairs (a,b) (a,c) (a,d) (b,c) (b,d) (c,d)
  // z -> [1.2587195875174104, -0.5809475019311126, 3.195211260621119, -1.839667089448523,
  //       1.9364916731037085, 3.7761587625522317]
  // p -> [2.0813163388984712e-01, 5.6127583613457777e-01, 1.3972851890408219e-03,
  //       6.5817128094968480e-02, 5.2807511416113583e-02, 1.5926549761555652e-04]
  // holm(p) -> [0.41626326777969425, 0.5612758361345778, 0.00698642594520411,
  //             0.21123004566445433, 0.21123004566445433, 0.00095559298569334]
  const std::vector<double> z = {1.2587195875174104, -0.5809475019311126, 3.195211260621119,
                                 -1.839667089448523, 1.9364916731037085,  3.7761587625522317};
  const std::vector<double> p = {2.0813163388984712e-01, 5.6127583613457777e-01,
                                 1.3972851890408219e-03, 6.5817128094968480e-02,
                                 5.2807511416113583e-02, 1.5926549761555652e-04};
  const std::vector<double> adjusted = {0.41626326777969425, 0.5612758361345778,
                                        0.00698642594520411, 0.21123004566445433,
                                        0.21123004566445433, 0.00095559298569334};
  for (size_t i = 0; i < comparisons.size(); ++i) {
    expect_close(comparisons[i].z, z[i]);
    expect_close(comparisons[i].p_value, p[i]);
    expect_close(comparisons[i].adjusted_p_value, adjusted[i]);
    EXPECT_EQ(comparisons[i].rejected, adjusted[i] <= 0.05);
  }
  // (b,c) has the larger raw p but, multiplied by 3 instead of 4, would fall below (b,d)'s
  // adjusted value; the step-down keeps the two equal.
  EXPECT_EQ(comparisons[3].adjusted_p_value, comparisons[4].adjusted_p_value);
}

TEST(FriedmanPosthoc, NamesDefaultToIndicesAndAreChecked) {
  const FriedmanResult friedman = friedman_test(kMemorySeeds);
  const auto comparisons = friedman_posthoc(friedman);
  EXPECT_EQ(comparisons[2].first_name, "1");
  EXPECT_EQ(comparisons[2].second_name, "2");
  expect_error(
      [&] {
        friedman_posthoc(friedman, {"m1", "m8"});
      },
      "[stats] post-hoc expected 3 treatment names, got 2");
  expect_error([&] { friedman_posthoc(friedman, {}, 1.5); },
               "[stats] post-hoc expected alpha in (0, 1), got 1.5");
}

// Brute force: every combination of one permutation of each block's ranks (k!^n of them, each
// equally likely), counting those whose |sum_b (r_bi - r_bj)| reaches the observed one.
double exact_pair_by_enumeration(const std::vector<std::vector<double>>& ranks, int64_t i,
                                 int64_t j) {
  const auto k = static_cast<int64_t>(ranks.front().size());
  std::vector<int64_t> order(k);
  for (int64_t a = 0; a < k; ++a) order[a] = a;
  std::vector<std::vector<int64_t>> permutations;
  do {
    permutations.push_back(order);
  } while (std::next_permutation(order.begin(), order.end()));
  double observed = 0;
  for (const auto& block : ranks) observed += block[i] - block[j];
  const auto count = static_cast<int64_t>(permutations.size());
  const auto total = static_cast<int64_t>(std::pow(count, ranks.size()));
  int64_t at_least = 0;
  for (int64_t code = 0; code < total; ++code) {
    double sum = 0;
    int64_t rest = code;
    for (const auto& block : ranks) {
      const auto& permutation = permutations[rest % count];
      rest /= count;
      sum += block[permutation[i]] - block[permutation[j]];
    }
    at_least += std::fabs(sum) >= std::fabs(observed) - 1e-9 ? 1 : 0;
  }
  return static_cast<double>(at_least) / static_cast<double>(total);
}

TEST(FriedmanPosthoc, ExactPAgainstEnumerationAndTheSignTest) {
  // Two treatments, four seeds won and one tied: exactly the two-sided sign test over the four
  // untied seeds, 2 / 16 = 0.125; the normal approximation says 0.0736 (z = 0.8 / sqrt(0.2)).
  const auto tie =
      friedman_test({{0.30, 0.20}, {0.31, 0.22}, {0.33, 0.21}, {0.34, 0.20}, {0.25, 0.25}});
  const auto exact = friedman_posthoc(tie, {"a", "b"}, 0.05, PostHocP::kExact);
  expect_close(exact[0].p_value, 0.125);
  expect_close(friedman_posthoc(tie, {"a", "b"})[0].p_value, 0.07363827012030266);
  // Three and four treatments with ties, every pair against the brute force; Holm on top.
  for (const ResultMatrix& blocks :
       {ResultMatrix{{1, 2, 3}, {2, 1, 3}, {3, 5, 4}, {0.5, 0.7, 0.9}, {1, 1, 0}},
        ResultMatrix{{0.84, 0.86, 0.83, 0.88}, {0.71, 0.73, 0.73, 0.75}, {0.9, 0.9, 0.88, 0.91}}}) {
    const auto friedman = friedman_test(blocks);
    const auto comparisons = friedman_posthoc(friedman, {}, 0.05, PostHocP::kExact);
    std::vector<double> p;
    for (const auto& comparison : comparisons) {
      const double expected =
          exact_pair_by_enumeration(friedman.block_ranks, comparison.first, comparison.second);
      expect_close(comparison.p_value, expected);
      p.push_back(expected);
    }
    const auto adjusted = holm_adjust(p);
    for (size_t c = 0; c < comparisons.size(); ++c) {
      expect_close(comparisons[c].adjusted_p_value, adjusted[c]);
    }
  }
  FriedmanResult without_ranks = tie;
  without_ranks.block_ranks.clear();
  expect_error([&] { friedman_posthoc(without_ranks, {}, 0.05, PostHocP::kExact); },
               "[stats] exact post-hoc expected the block ranks of 5 blocks, got 0");
}

TEST(Friedman, SmallestPOfNBlocks) {
  expect_close(lunar::stats::friedman_smallest_p(2, 5), 1.0 / 16.0);
  expect_close(lunar::stats::friedman_smallest_p(3, 3), 1.0 / 36.0);
  expect_close(lunar::stats::friedman_smallest_p(4, 5), std::pow(1.0 / 24.0, 4));
  // It is the exact p of blocks that all rank alike.
  const auto alike = friedman_test({{3, 2, 1}, {6, 5, 4}, {9, 8, 7}});
  expect_close(alike.exact_p_value, lunar::stats::friedman_smallest_p(3, 3));
}

TEST(Holm, MatchesNumpyReference) {
  // holm([0.01, 0.04, 0.03, 0.005, 0.2]) -> [0.04, 0.09, 0.09, 0.025, 0.2]
  const std::vector<double> adjusted = holm_adjust({0.01, 0.04, 0.03, 0.005, 0.2});
  const std::vector<double> expected = {0.04, 0.09, 0.09, 0.025, 0.2};
  ASSERT_EQ(adjusted.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) expect_close(adjusted[i], expected[i]);
}

TEST(Holm, MonotoneCappedAndNeverBelowRaw) {
  const std::vector<double> p = {0.3, 0.001, 0.04, 0.04, 0.6, 0.0125, 0.9, 0.02};
  // holm(p) -> [0.9, 0.008, 0.2, 0.2, 1., 0.0875, 1., 0.12]
  const std::vector<double> expected = {0.9, 0.008, 0.2, 0.2, 1.0, 0.0875, 1.0, 0.12};
  const std::vector<double> adjusted = holm_adjust(p);
  for (size_t i = 0; i < p.size(); ++i) {
    expect_close(adjusted[i], expected[i]);
    EXPECT_GE(adjusted[i], p[i]);
    EXPECT_LE(adjusted[i], 1.0);
    for (size_t j = 0; j < p.size(); ++j) {
      if (p[i] <= p[j]) {
        EXPECT_LE(adjusted[i], adjusted[j]) << i << " vs " << j;
      }
    }
  }
  EXPECT_TRUE(holm_adjust({}).empty());
  expect_close(holm_adjust({0.03})[0], 0.03);
}

TEST(Holm, RejectsNaNAndOutOfRange) {
  expect_error(
      [] {
        holm_adjust({0.1, std::nan("")});
      },
      "[stats] holm expected p-values in [0, 1], got nan at index 1");
  expect_error([] { holm_adjust({1.2}); }, "[stats] holm expected p-values in [0, 1], got 1.2");
}

TEST(PValueMatrix, SymmetricWithUnitDiagonal) {
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  const auto comparisons = friedman_posthoc(friedman_test(kModelsDatasets), names);
  const auto adjusted = p_value_matrix(comparisons, names);
  const auto raw = p_value_matrix(comparisons, names, PValueKind::kUnadjusted);
  ASSERT_EQ(adjusted.values.size(), 4u);
  EXPECT_EQ(adjusted.names, names);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(adjusted.values[i][i], 1.0);
    for (size_t j = 0; j < 4; ++j) EXPECT_EQ(adjusted.values[i][j], adjusted.values[j][i]);
  }
  expect_close(adjusted.values[2][3], 0.00095559298569334);  // holm(p) for (c, d)
  expect_close(raw.values[3][2], 1.5926549761555652e-04);    // p for (c, d)
  expect_close(adjusted.values[1][0], 0.41626326777969425);  // holm(p) for (a, b)
}

TEST(PValueMatrix, RejectsMissingOrRepeatedPairs) {
  const std::vector<std::string> names = {"m1", "m8", "m256"};
  auto comparisons = friedman_posthoc(friedman_test(kMemorySeeds), names);
  expect_error(
      [&] {
        p_value_matrix(comparisons, {"m1", "m8"});
      },
      "[stats] p-value matrix expected 1 comparisons for 2 treatments, got 3");
  comparisons[2] = comparisons[0];
  expect_error([&] { p_value_matrix(comparisons, names); },
               "[stats] p-value matrix expected each pair once, got (0, 1) twice");
}

}  // namespace
