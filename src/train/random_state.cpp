// Generator states as bytes.
#include "lunar/train/random_state.h"

#include <ATen/CPUGeneratorImpl.h>

#include <vector>

namespace lunar::train {

namespace {
std::vector<at::Generator> generators(const at::Device& device) {
  std::vector<at::Generator> out{at::detail::getDefaultCPUGenerator()};
  if (!device.is_cpu()) out.push_back(at::globalContext().defaultGenerator(device));
  return out;
}
}  // namespace

at::Tensor random_state(const at::Device& device) {
  std::vector<at::Tensor> parts;
  for (auto& generator : generators(device)) parts.push_back(generator.get_state().flatten());
  return at::cat(parts);
}

bool restore_random_state(const at::Tensor& state, const at::Device& device) {
  const auto bytes = state.to(at::kByte).contiguous();
  int64_t offset = 0;
  for (auto& generator : generators(device)) {
    const int64_t size = generator.get_state().numel();
    if (offset + size > bytes.numel()) return false;
    generator.set_state(bytes.slice(0, offset, offset + size).clone());
    offset += size;
  }
  return offset == bytes.numel();
}

}  // namespace lunar::train
