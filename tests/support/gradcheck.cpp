// Central-difference gradient checking.
#include "support/gradcheck.h"

#include <fmt/format.h>
#include <torch/autograd.h>

namespace lunar::testing {

::testing::AssertionResult gradcheck(const std::function<at::Tensor()>& loss,
                                     const std::vector<at::Tensor>& inputs, double eps, double rtol,
                                     double atol, int64_t max_elements) {
  for (const auto& input : inputs) {
    if (input.scalar_type() != at::kDouble || !input.requires_grad()) {
      return ::testing::AssertionFailure() << "gradcheck inputs must be float64 and require grad";
    }
  }
  const auto output = loss();
  const auto analytic = torch::autograd::grad({output}, inputs, {}, false, false, true);
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto data = inputs[i].detach();  // shares storage: perturbs the leaf in place
    auto flat = data.view(-1);
    const auto grad = analytic[i].defined() ? analytic[i].reshape(-1) : at::zeros_like(flat);
    const int64_t n = flat.numel();
    const int64_t step = std::max<int64_t>(1, n / std::max<int64_t>(1, max_elements));
    for (int64_t j = 0; j < n; j += step) {
      const double original = flat[j].item<double>();
      double plus, minus;
      {
        at::NoGradGuard no_grad;
        flat[j] = original + eps;
        plus = loss().item<double>();
        flat[j] = original - eps;
        minus = loss().item<double>();
        flat[j] = original;
      }
      const double numeric = (plus - minus) / (2 * eps);
      const double exact = grad[j].item<double>();
      if (std::abs(numeric - exact) > atol + rtol * std::abs(numeric)) {
        return ::testing::AssertionFailure()
               << fmt::format("input {} element {}: autograd {:.10g} vs central difference {:.10g}",
                              i, j, exact, numeric);
      }
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace lunar::testing
