// Tests of the Wilcoxon signed-rank test (exact and normal paths, all alternatives) and of the
// pairwise Wilcoxon comparisons against scipy.stats.wilcoxon (SciPy 1.10, zero_method='wilcox').
// SciPy 1.10's method='auto' runs its exact path even with tied |d| (truncating W+ to an
// integer), so references for tied samples use method='approx', which our kAuto picks there.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/stats/posthoc.h"
#include "lunar/stats/wilcoxon.h"
#include "support/expectations.h"

namespace {

using lunar::testing::expect_close;
using lunar::testing::expect_error;

using lunar::stats::Alternative;
using lunar::stats::wilcoxon_exact_counts;
using lunar::stats::wilcoxon_signed_rank;
using lunar::stats::WilcoxonMethod;
using lunar::stats::WilcoxonOptions;
using lunar::stats::WilcoxonResult;

WilcoxonOptions options(Alternative alternative, WilcoxonMethod method = WilcoxonMethod::kAuto,
                        bool continuity_correction = false) {
  WilcoxonOptions result;
  result.alternative = alternative;
  result.method = method;
  result.continuity_correction = continuity_correction;
  return result;
}

// Model A vs model B over five seeds; d = [0.006, -0.002, 0.011, 0.008, 0.01], no ties.
const std::vector<double> kSeedsA = {0.831, 0.824, 0.840, 0.819, 0.828};
const std::vector<double> kSeedsB = {0.825, 0.826, 0.829, 0.811, 0.818};

TEST(WilcoxonExact, FiveSeedsAllAlternatives) {
  // stats.wilcoxon(A, B, alternative='two-sided', method='exact') -> (1.0, 0.125)
  const WilcoxonResult two_sided = wilcoxon_signed_rank(kSeedsA, kSeedsB);
  EXPECT_TRUE(two_sided.exact);
  EXPECT_TRUE(std::isnan(two_sided.z));
  EXPECT_EQ(two_sided.statistic, 1.0);
  EXPECT_EQ(two_sided.rank_sum_positive, 14.0);
  EXPECT_EQ(two_sided.rank_sum_negative, 1.0);
  expect_close(two_sided.p_value, 0.125);
  // stats.wilcoxon(A, B, alternative='greater', method='exact') -> (14.0, 0.0625)
  const WilcoxonResult greater =
      wilcoxon_signed_rank(kSeedsA, kSeedsB, options(Alternative::kGreater));
  EXPECT_EQ(greater.statistic, 14.0);
  expect_close(greater.p_value, 0.0625);
  // stats.wilcoxon(A, B, alternative='less', method='exact') -> (14.0, 0.96875)
  const WilcoxonResult less = wilcoxon_signed_rank(kSeedsA, kSeedsB, options(Alternative::kLess));
  EXPECT_EQ(less.statistic, 14.0);
  expect_close(less.p_value, 0.96875);
}

TEST(WilcoxonExact, SmallestPIsEveryDifferenceOfOneSign) {
  for (int64_t n : {3, 4, 5, 8}) {
    std::vector<double> x, y;
    for (int64_t i = 0; i < n; ++i) {
      x.push_back(1.0 + static_cast<double>(i));
      y.push_back(0.5 * static_cast<double>(i));
    }
    expect_close(lunar::stats::wilcoxon_smallest_p(n, Alternative::kGreater),
                 wilcoxon_signed_rank(x, y, options(Alternative::kGreater)).p_value);
    expect_close(lunar::stats::wilcoxon_smallest_p(n, Alternative::kTwoSided),
                 wilcoxon_signed_rank(x, y, options(Alternative::kTwoSided)).p_value);
  }
  expect_close(lunar::stats::wilcoxon_smallest_p(4, Alternative::kGreater), 0.0625);
}

TEST(WilcoxonExact, TwelvePairs) {
  const std::vector<double> x = {78.1, 80.4, 79.9, 81.2, 77.5, 80.0,
                                 82.3, 79.1, 78.8, 80.9, 81.7, 79.4};
  const std::vector<double> y = {77.0, 80.9,  78.3, 80.1, 77.9,  78.6,
                                 81.0, 79.35, 76.9, 80.0, 81.05, 78.2};
  // stats.wilcoxon(x, y, method='exact') -> (6.0, 0.0068359375)
  const WilcoxonResult two_sided = wilcoxon_signed_rank(x, y);
  EXPECT_EQ(two_sided.statistic, 6.0);
  expect_close(two_sided.p_value, 0.0068359375);
  // stats.wilcoxon(x, y, alternative='greater', method='exact') -> (72.0, 0.00341796875)
  const WilcoxonResult greater = wilcoxon_signed_rank(x, y, options(Alternative::kGreater));
  EXPECT_EQ(greater.statistic, 72.0);
  expect_close(greater.p_value, 0.00341796875);
  // stats.wilcoxon(x, y, alternative='less', method='exact') -> (72.0, 0.99755859375)
  expect_close(wilcoxon_signed_rank(x, y, options(Alternative::kLess)).p_value, 0.99755859375);
}

TEST(WilcoxonExact, TwentyPairs) {
  // x = 1..20, d = [0.5, -1.5, 2.5, 3.5, -4.5, 5.5, 6.5, 7.5, -8.5, 9.5, 10.5, 11.5, 12.5,
  //                 -13.5, 14.5, 15.5, 16.5, 17.5, -18.5, 19.5], y = x - d
  const std::vector<double> d = {0.5,  -1.5, 2.5,  3.5,   -4.5, 5.5,  6.5,  7.5,  -8.5,  9.5,
                                 10.5, 11.5, 12.5, -13.5, 14.5, 15.5, 16.5, 17.5, -18.5, 19.5};
  std::vector<double> x;
  std::vector<double> y;
  for (size_t i = 0; i < d.size(); ++i) {
    x.push_back(static_cast<double>(i + 1));
    y.push_back(x.back() - d[i]);
  }
  // stats.wilcoxon(x, y, method='exact') -> (49.0, 0.03623390197753906)
  const WilcoxonResult two_sided =
      wilcoxon_signed_rank(x, y, options(Alternative::kTwoSided, WilcoxonMethod::kExact));
  EXPECT_EQ(two_sided.statistic, 49.0);
  expect_close(two_sided.p_value, 0.03623390197753906);
  // stats.wilcoxon(x, y, alternative='greater', method='exact') -> (161.0, 0.01811695098876953)
  expect_close(wilcoxon_signed_rank(x, y, options(Alternative::kGreater)).p_value,
               0.01811695098876953);
  // stats.wilcoxon(x, y, alternative='less', method='exact') -> (161.0, 0.9836158752441406)
  expect_close(wilcoxon_signed_rank(x, y, options(Alternative::kLess)).p_value, 0.9836158752441406);
}

TEST(WilcoxonExact, CountsMatchScipyDistribution) {
  // scipy.stats._hypotests._get_wilcoxon_distr(5) * 2**5
  //   -> [1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 2, 2, 1, 1, 1]
  const std::vector<double> expected = {1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 2, 2, 1, 1, 1};
  EXPECT_EQ(wilcoxon_exact_counts(5), expected);
  // The counts of every size sum to 2^n, exactly, up to the largest exact size.
  const std::vector<double> counts = wilcoxon_exact_counts(50);
  double total = 0.0;
  for (double count : counts) total += count;
  EXPECT_EQ(total, std::ldexp(1.0, 50));
  EXPECT_EQ(counts.size(), 1276u);
  expect_error([] { wilcoxon_exact_counts(51); },
               "[stats] wilcoxon exact distribution expected 0..50 pairs, got 51");
}

// Ten pairs with a zero difference and ties: d = [1, 0, 2, 2, 1, -1, 2, 3, -1, 2].
const std::vector<double> kTiedX = {3, 5, 4, 6, 7, 5, 8, 6, 4, 9};
const std::vector<double> kTiedY = {2, 5, 2, 4, 6, 6, 6, 3, 5, 7};

TEST(WilcoxonNormal, ZerosAndTiesAllAlternatives) {
  struct Case {
    Alternative alternative;
    bool correction;
    double statistic, p_value, z;
  };
  const std::vector<Case> cases = {
      // stats.wilcoxon(x, y, alternative='two-sided', method='approx', correction=False)
      {Alternative::kTwoSided, false, 5.0, 0.034808478811867126, -2.1105794120443453},
      // stats.wilcoxon(x, y, alternative='two-sided', method='approx', correction=True)
      {Alternative::kTwoSided, true, 5.0, 0.040337393747568846, -2.0502771431287923},
      // stats.wilcoxon(x, y, alternative='greater', method='approx', correction=False)
      {Alternative::kGreater, false, 40.0, 0.017404239405933563, 2.1105794120443453},
      // stats.wilcoxon(x, y, alternative='greater', method='approx', correction=True)
      {Alternative::kGreater, true, 40.0, 0.020168696873784423, 2.0502771431287923},
      // stats.wilcoxon(x, y, alternative='less', method='approx', correction=False)
      {Alternative::kLess, false, 40.0, 0.9825957605940664, 2.1105794120443453},
      // stats.wilcoxon(x, y, alternative='less', method='approx', correction=True)
      {Alternative::kLess, true, 40.0, 0.9850299412817934, 2.170881680959898},
  };
  for (const Case& c : cases) {
    // kAuto picks the normal approximation because of the zero (SciPy's auto does the same).
    const WilcoxonResult result = wilcoxon_signed_rank(
        kTiedX, kTiedY, options(c.alternative, WilcoxonMethod::kAuto, c.correction));
    EXPECT_FALSE(result.exact);
    EXPECT_EQ(result.num_pairs, 10);
    EXPECT_EQ(result.num_ranked, 9);
    EXPECT_EQ(result.statistic, c.statistic);
    expect_close(result.p_value, c.p_value);
    expect_close(result.z, c.z);
  }
}

TEST(WilcoxonNormal, TiesWithoutZerosUseTheApproximation) {
  // d = [1, 2, 2, 3, -1, 4, 3, -1]: tied |d|, no zero
  const std::vector<double> x = {5, 7, 6, 9, 4, 8, 10, 6};
  const std::vector<double> y = {4, 5, 4, 6, 5, 4, 7, 7};
  // stats.wilcoxon(x, y, method='approx') -> (4.0, 0.04827181085171039), z = -1.974967724404075
  const WilcoxonResult two_sided = wilcoxon_signed_rank(x, y);
  EXPECT_FALSE(two_sided.exact);
  EXPECT_EQ(two_sided.statistic, 4.0);
  expect_close(two_sided.p_value, 0.04827181085171039);
  expect_close(two_sided.z, -1.974967724404075);
  // stats.wilcoxon(x, y, alternative='greater', method='approx') -> (32.0, 0.024135905425855194)
  expect_close(wilcoxon_signed_rank(x, y, options(Alternative::kGreater)).p_value,
               0.024135905425855194);
  // stats.wilcoxon(x, y, alternative='less', method='approx') -> (32.0, 0.9758640945741448)
  expect_close(wilcoxon_signed_rank(x, y, options(Alternative::kLess)).p_value, 0.9758640945741448);
  // stats.wilcoxon(x, y, alternative='greater', method='approx', correction=True)
  //   -> (32.0, 0.028426896806120847), z = 1.9044331628182154
  const WilcoxonResult corrected =
      wilcoxon_signed_rank(x, y, options(Alternative::kGreater, WilcoxonMethod::kAuto, true));
  expect_close(corrected.p_value, 0.028426896806120847);
  expect_close(corrected.z, 1.9044331628182154);
  expect_error(
      [&] { wilcoxon_signed_rank(x, y, options(Alternative::kGreater, WilcoxonMethod::kExact)); },
      "[stats] wilcoxon exact method expected no tied |x - y|");
}

TEST(WilcoxonNormal, SixtyPairsAboveTheExactLimit) {
  // rng = np.random.default_rng(7); x60 = np.round(rng.normal(0.8, 0.02, 60), 6)
  // y60 = np.round(x60 - rng.normal(0.004, 0.01, 60), 6)
  const std::vector<double> x = {
      0.800025, 0.805975, 0.794517, 0.782188, 0.790907, 0.780167, 0.801203, 0.826804, 0.790156,
      0.787591, 0.809797, 0.807138, 0.802108, 0.781391, 0.799415, 0.813906, 0.773116, 0.790848,
      0.761976, 0.774209, 0.763165, 0.795298, 0.774651, 0.805425, 0.803135, 0.796261, 0.749665,
      0.789226, 0.79903,  0.802266, 0.769397, 0.790445, 0.78043,  0.783823, 0.821218, 0.783849,
      0.79935,  0.817688, 0.788328, 0.797766, 0.802209, 0.801276, 0.775499, 0.801523, 0.827176,
      0.769057, 0.817188, 0.802387, 0.787171, 0.840008, 0.815245, 0.776014, 0.80149,  0.811534,
      0.796224, 0.813658, 0.79867,  0.813345, 0.82877,  0.786487};
  const std::vector<double> y = {
      0.793994, 0.806608, 0.789244, 0.79006,  0.7927,   0.778129, 0.788215, 0.811352, 0.799391,
      0.791537, 0.799328, 0.823062, 0.80274,  0.778364, 0.782845, 0.803012, 0.772388, 0.790534,
      0.760478, 0.754974, 0.763445, 0.794335, 0.767125, 0.802633, 0.801108, 0.803402, 0.74578,
      0.789662, 0.783369, 0.791735, 0.765638, 0.779761, 0.779829, 0.769302, 0.817272, 0.774015,
      0.808259, 0.810221, 0.80121,  0.814119, 0.801254, 0.806275, 0.769858, 0.775075, 0.831493,
      0.771296, 0.811134, 0.793457, 0.784935, 0.838067, 0.80422,  0.766815, 0.807827, 0.808326,
      0.791871, 0.820203, 0.792072, 0.817925, 0.815049, 0.78056};
  // stats.wilcoxon(x60, y60) -> (529.5, 0.004541033053085255)  (auto: n > 50 -> approx)
  const WilcoxonResult two_sided = wilcoxon_signed_rank(x, y);
  EXPECT_FALSE(two_sided.exact);
  EXPECT_EQ(two_sided.statistic, 529.5);
  expect_close(two_sided.p_value, 0.004541033053085255);
  // stats.wilcoxon(x60, y60, alternative='greater', method='approx')
  //   -> (1300.5, 0.0022705165265426274), z = 2.8379075693488574
  const WilcoxonResult greater = wilcoxon_signed_rank(x, y, options(Alternative::kGreater));
  EXPECT_EQ(greater.statistic, 1300.5);
  expect_close(greater.p_value, 0.0022705165265426274);
  expect_close(greater.z, 2.8379075693488574);
  expect_error(
      [&] { wilcoxon_signed_rank(x, y, options(Alternative::kGreater, WilcoxonMethod::kExact)); },
      "[stats] wilcoxon exact method expected at most 50 pairs, got 60");
}

TEST(WilcoxonNormal, ForcedOnSmallUntiedSample) {
  // stats.wilcoxon(A, B, alternative='greater', method='approx')
  //   -> (14.0, 0.03980790073005672), z = 1.7529196424044293
  const WilcoxonResult result = wilcoxon_signed_rank(
      kSeedsA, kSeedsB, options(Alternative::kGreater, WilcoxonMethod::kNormal));
  EXPECT_FALSE(result.exact);
  EXPECT_EQ(result.statistic, 14.0);
  expect_close(result.p_value, 0.03980790073005672);
  expect_close(result.z, 1.7529196424044293);
}

TEST(Wilcoxon, RejectsBadInput) {
  expect_error(
      [] {
        wilcoxon_signed_rank({1.0, 2.0, 3.0}, {1.0, 2.0});
      },
      "[stats] wilcoxon expected paired samples of equal length, got 3 and 2");
  expect_error([] { wilcoxon_signed_rank({1.0}, {2.0}); },
               "[stats] wilcoxon expected at least 2 pairs, got 1");
  expect_error(
      [] {
        wilcoxon_signed_rank({1.0, std::nan("")}, {2.0, 3.0});
      },
      "[stats] wilcoxon expected finite values, got x = nan and y = 3 at index 1");
  expect_error(
      [] {
        wilcoxon_signed_rank({1.0, 2.0}, {1.0, 2.0});
      },
      "[stats] wilcoxon expected at least one nonzero difference, got all 2 zero");
  expect_error(
      [] {
        wilcoxon_signed_rank(kTiedX, kTiedY,
                             options(Alternative::kTwoSided, WilcoxonMethod::kExact));
      },
      "[stats] wilcoxon exact method expected no zero differences, got 1");
}

TEST(PairwiseWilcoxon, FourModelsHolmAdjusted) {
  const lunar::stats::ResultMatrix blocks = {
      {0.84, 0.86, 0.83, 0.88}, {0.71, 0.73, 0.73, 0.75}, {0.90, 0.90, 0.88, 0.91},
      {0.66, 0.69, 0.65, 0.70}, {0.75, 0.74, 0.76, 0.78}, {0.81, 0.83, 0.80, 0.83},
      {0.92, 0.93, 0.91, 0.95}, {0.60, 0.62, 0.60, 0.64},
  };
  const auto comparisons = lunar::stats::pairwise_wilcoxon(blocks, {"a", "b", "c", "d"});
  ASSERT_EQ(comparisons.size(), 6u);
  // Every pair has tied |d| (and most a zero), so both sides use the approximation:
  // [stats.wilcoxon(cols[i], cols[j], method='approx').pvalue for i, j in pairs]
  const std::vector<double> p = {0.03300625766123253, 0.42901717454179844, 0.011310671074428623,
                                 0.04775694786088037, 0.0169473483375683,  0.011616044899262472};
  // holm(p) -> (numpy lines in friedman_test.cpp)
  const std::vector<double> adjusted = {0.0990187729836976,  0.42901717454179844,
                                        0.06786402644657173, 0.0990187729836976,
                                        0.06786402644657173, 0.06786402644657173};
  for (size_t i = 0; i < comparisons.size(); ++i) {
    expect_close(comparisons[i].p_value, p[i]);
    expect_close(comparisons[i].adjusted_p_value, adjusted[i]);
    EXPECT_FALSE(comparisons[i].rejected);
  }
  // z of (a, b): -2.132007163556104
  expect_close(comparisons[0].z, -2.132007163556104);
  expect_close(comparisons[2].difference, -0.03125);  // mean of a - d
  const auto matrix = lunar::stats::p_value_matrix(comparisons, {"a", "b", "c", "d"});
  expect_close(matrix.values[3][1], 0.06786402644657173);
}

TEST(PairwiseWilcoxon, IdenticalColumnsHaveNoEvidence) {
  const lunar::stats::ResultMatrix blocks = {{0.5, 0.5, 0.4}, {0.7, 0.7, 0.4}, {0.2, 0.2, 0.15}};
  const auto comparisons = lunar::stats::pairwise_wilcoxon(blocks);
  EXPECT_EQ(comparisons[0].p_value, 1.0);
  EXPECT_EQ(comparisons[0].adjusted_p_value, 1.0);
  // stats.wilcoxon([0.5, 0.7, 0.2], [0.4, 0.4, 0.15], method='exact') -> (0.0, 0.25)
  EXPECT_TRUE(comparisons[1].z != comparisons[1].z);  // NaN: exact test
  expect_close(comparisons[1].p_value, 0.25);
}

}  // namespace
