// Tests of the p-value matrix of the post-hoc comparisons against the numpy lines at the top of
// friedman_test.cpp.
#include <gtest/gtest.h>

#include <string>
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
using lunar::stats::p_value_matrix;
using lunar::stats::PValueKind;
using lunar::stats::testing::kMemorySeeds;
using lunar::stats::testing::kModelsDatasets;

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
