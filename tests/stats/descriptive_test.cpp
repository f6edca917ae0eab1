// Tests of descriptive statistics and tie-aware ranking against numpy/SciPy values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/stats/descriptive.h"
#include "lunar/stats/ranks.h"
#include "support/expectations.h"

namespace {

using lunar::testing::expect_error;

using lunar::stats::format_mean_std;
using lunar::stats::rank_with_ties;
using lunar::stats::summarize;
using lunar::stats::Summary;

TEST(Summarize, FiveSeedsMatchNumpy) {
  const std::vector<double> accuracy = {0.812, 0.805, 0.820, 0.799, 0.815};
  const Summary summary = summarize(accuracy);
  EXPECT_EQ(summary.count, 5);
  // np.mean([0.812, 0.805, 0.820, 0.799, 0.815]) -> 0.8102
  EXPECT_NEAR(summary.mean, 0.8102, 1e-15);
  // np.std([0.812, 0.805, 0.820, 0.799, 0.815], ddof=1) -> 0.008288546314040798
  EXPECT_NEAR(summary.stddev, 0.008288546314040798, 1e-15);
  EXPECT_DOUBLE_EQ(summary.min, 0.799);
  EXPECT_DOUBLE_EQ(summary.max, 0.820);
}

TEST(Summarize, SmallSpreadAroundLargeMeanKeepsPrecision) {
  // np.std([1e9 + 1, 1e9 + 2, 1e9 + 3], ddof=1) -> 1.0
  const Summary summary = summarize({1e9 + 1, 1e9 + 2, 1e9 + 3});
  EXPECT_DOUBLE_EQ(summary.mean, 1e9 + 2);
  EXPECT_DOUBLE_EQ(summary.stddev, 1.0);
}

TEST(Summarize, SingleValueHasNoStandardDeviation) {
  const Summary summary = summarize({0.75});
  EXPECT_EQ(summary.count, 1);
  EXPECT_DOUBLE_EQ(summary.mean, 0.75);
  EXPECT_TRUE(std::isnan(summary.stddev));
  EXPECT_EQ(format_mean_std(summary, 3), "0.750");
}

TEST(Summarize, RejectsEmptyAndNonFinite) {
  expect_error([] { summarize({}); }, "[stats] summarize expected at least one value, got 0");
  expect_error(
      [] {
        summarize({1.0, std::numeric_limits<double>::quiet_NaN()});
      },
      "[stats] summarize expected finite values, got nan at index 1");
  expect_error([] { summarize({std::numeric_limits<double>::infinity()}); },
               "expected finite values, got inf at index 0");
}

TEST(FormatMeanStd, ChosenDecimals) {
  const Summary summary = summarize({81.2, 81.9, 80.6, 81.5, 81.0});
  // np.mean(...) -> 81.24, np.std(..., ddof=1) -> 0.49295030175465315
  EXPECT_EQ(format_mean_std(summary), "81.24 \u00b1 0.49");
  EXPECT_EQ(format_mean_std(summary, 1), "81.2 \u00b1 0.5");
  EXPECT_EQ(format_mean_std(summary, 0), "81 \u00b1 0");
  expect_error([&] { format_mean_std(summary, -1); },
               "[stats] format_mean_std expected decimals in 0..17, got -1");
}

TEST(Ranks, AverageRanksForTiesMatchRankdata) {
  // scipy.stats.rankdata([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0])
  //   -> [4.5, 1.5, 6., 1.5, 8., 11., 3., 10., 8., 4.5, 8.]
  const auto ranking = rank_with_ties({3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0});
  const std::vector<double> expected = {4.5, 1.5, 6.0, 1.5, 8.0, 11.0, 3.0, 10.0, 8.0, 4.5, 8.0};
  EXPECT_EQ(ranking.ranks, expected);
  // Tie groups of sizes 2, 2, 3: (8 - 2) + (8 - 2) + (27 - 3) = 36.
  EXPECT_DOUBLE_EQ(ranking.tie_term, 36.0);
}

TEST(Ranks, NoTiesAndAllTied) {
  const auto distinct = rank_with_ties({0.3, 0.1, 0.2});
  EXPECT_EQ(distinct.ranks, (std::vector<double>{3.0, 1.0, 2.0}));
  EXPECT_DOUBLE_EQ(distinct.tie_term, 0.0);
  const auto tied = rank_with_ties({7.0, 7.0, 7.0, 7.0});
  EXPECT_EQ(tied.ranks, (std::vector<double>{2.5, 2.5, 2.5, 2.5}));
  EXPECT_DOUBLE_EQ(tied.tie_term, 60.0);  // 4^3 - 4
  EXPECT_TRUE(rank_with_ties({}).ranks.empty());
}

TEST(Ranks, RejectsNaN) {
  expect_error(
      [] {
        rank_with_ties({1.0, std::nan("")});
      },
      "[stats] rank expected values that are not NaN, got NaN at index 1");
}

}  // namespace
