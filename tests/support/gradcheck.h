// Central-difference gradient checks in float64.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace lunar::testing {

// Compares autograd's gradient of the scalar `loss()` with respect to each tensor in `inputs`
// (float64, requires_grad) against central differences with step `eps`. Inputs are perturbed
// in place, so `loss` must read them on every call. At most `max_elements` entries per input
// are probed (spread evenly) to keep the check fast on larger models.
::testing::AssertionResult gradcheck(const std::function<at::Tensor()>& loss,
                                     const std::vector<at::Tensor>& inputs, double eps = 1e-6,
                                     double rtol = 1e-4, double atol = 1e-6,
                                     int64_t max_elements = 64);

}  // namespace lunar::testing
