// Tests of Holm's step-down adjustment against the numpy lines at the top of friedman_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/stats/posthoc.h"
#include "support/expectations.h"

namespace {

using lunar::testing::expect_close;
using lunar::testing::expect_error;

using lunar::stats::holm_adjust;

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

}  // namespace
