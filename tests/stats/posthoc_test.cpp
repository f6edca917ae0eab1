// Tests of the García-Herrera post-hoc comparisons after a Friedman test, normal and exact, with
// Holm's adjustment, against the numpy lines at the top of friedman_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "friedman_test_support.h"
#include "lunar/core/error.h"
#include "lunar/stats/friedman.h"
#include "lunar/stats/posthoc.h"
#include "support/expectations.h"

namespace {

using lunar::testing::expect_close;
using lunar::testing::expect_error;

using lunar::stats::friedman_posthoc;
using lunar::stats::friedman_test;
using lunar::stats::FriedmanResult;
using lunar::stats::holm_adjust;
using lunar::stats::PostHocP;
using lunar::stats::ResultMatrix;
using lunar::stats::testing::kMemorySeeds;
using lunar::stats::testing::kModelsDatasets;

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

}  // namespace
