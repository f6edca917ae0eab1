// Tensor comparison for tests: reports the worst element, as llm.c's validate_result does.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

namespace lunar::testing {

// Passes when |actual - expected| <= atol + rtol * |expected| everywhere; otherwise the failure
// names the worst element's index, both values and the shapes.
::testing::AssertionResult tensors_close(const at::Tensor& actual, const at::Tensor& expected,
                                         double rtol = 1e-5, double atol = 1e-6);

}  // namespace lunar::testing

#define EXPECT_TENSORS_CLOSE(actual, expected, ...) \
  EXPECT_TRUE(::lunar::testing::tensors_close((actual), (expected), ##__VA_ARGS__))
