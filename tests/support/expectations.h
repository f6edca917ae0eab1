// Small assertion helpers shared by test suites.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "lunar/core/error.h"

namespace lunar::testing {

// Runs `body`, expects lunar::Error, and checks that its message contains `expected`.
template <typename Body>
void expect_error(Body body, const std::string& expected) {
  try {
    body();
    FAIL() << "expected lunar::Error containing '" << expected << "'";
  } catch (const lunar::Error& error) {
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
  }
}

// |actual − expected| <= 1e-14 + rtol·|expected|: for values checked against literals computed
// independently (e.g. with SciPy).
inline void expect_close(double actual, double expected, double rtol = 1e-10) {
  EXPECT_NEAR(actual, expected, 1e-14 + rtol * std::fabs(expected));
}

}  // namespace lunar::testing
