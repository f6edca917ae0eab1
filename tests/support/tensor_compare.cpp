// Worst-element tensor comparison.
#include "support/tensor_compare.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sstream>

namespace lunar::testing {

namespace {
std::string shape_of(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

std::string index_of(int64_t flat, at::IntArrayRef sizes) {
  std::vector<int64_t> index(sizes.size());
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    index[d] = flat % sizes[d];
    flat /= sizes[d];
  }
  return fmt::format("[{}]", fmt::join(index, ", "));
}
}  // namespace

::testing::AssertionResult tensors_close(const at::Tensor& actual, const at::Tensor& expected,
                                         double rtol, double atol) {
  if (!actual.defined() || !expected.defined()) {
    return ::testing::AssertionFailure() << "undefined tensor in comparison";
  }
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure() << "shape mismatch: actual " << shape_of(actual)
                                         << " vs expected " << shape_of(expected);
  }
  if (actual.numel() == 0) return ::testing::AssertionSuccess();
  const auto a = actual.detach().to(at::kCPU, at::kDouble).contiguous();
  const auto e = expected.detach().to(at::kCPU, at::kDouble).contiguous();
  const auto diff = (a - e).abs();
  const auto allowed = atol + rtol * e.abs();
  const auto excess = (diff - allowed).flatten();
  const auto nan_mismatch = (a.isnan() != e.isnan()).flatten();
  if (nan_mismatch.any().item<bool>()) {
    const int64_t worst = nan_mismatch.to(at::kInt).argmax().item<int64_t>();
    return ::testing::AssertionFailure() << "NaN mismatch at " << index_of(worst, actual.sizes());
  }
  const auto finite_excess = at::nan_to_num(excess, -1.0);
  const int64_t worst = finite_excess.argmax().item<int64_t>();
  if (finite_excess[worst].item<double>() <= 0) return ::testing::AssertionSuccess();
  const int64_t failing = (finite_excess > 0).sum().item<int64_t>();
  return ::testing::AssertionFailure() << fmt::format(
             "{} of {} elements differ; worst at {}: actual {:.10g}, expected {:.10g}, "
             "|diff| {:.3g} > allowed {:.3g} (rtol {:g}, atol {:g}), shape {}",
             failing, a.numel(), index_of(worst, actual.sizes()), a.flatten()[worst].item<double>(),
             e.flatten()[worst].item<double>(), diff.flatten()[worst].item<double>(),
             allowed.flatten()[worst].item<double>(), rtol, atol, shape_of(actual));
}

}  // namespace lunar::testing
