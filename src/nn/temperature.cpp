// Learnable or frozen softmax temperature.
#include "lunar/nn/temperature.h"

#include <cmath>

namespace lunar::nn {

TemperatureImpl::TemperatureImpl(TemperatureOptions options_) : options(std::move(options_)) {
  reset();
}

void TemperatureImpl::reset() {
  const auto mode = options.mode();
  const double tau =
      mode == TemperatureMode::sqrt ? 0.5 * std::log(static_cast<double>(options.head_dim())) : 0.0;
  auto initial = at::full({}, tau, at::kFloat);
  if (mode == TemperatureMode::learn) {
    log_temperature = register_parameter("log_temperature", initial);
  } else {
    log_temperature = register_buffer("log_temperature", initial);
  }
}

at::Tensor TemperatureImpl::divisor() const { return log_temperature.exp(); }

}  // namespace lunar::nn
