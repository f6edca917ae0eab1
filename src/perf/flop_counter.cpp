// FLOP counting through ATen's RecordFunction observers.
#include "lunar/perf/flop_counter.h"

#include <cstring>
#include <memory>

#include "lunar/core/error.h"

namespace lunar::perf {

namespace {
thread_local int64_t counted = 0;
thread_local bool active = false;

int64_t product(c10::IntArrayRef sizes, size_t from, size_t to) {
  int64_t result = 1;
  for (size_t i = from; i < to; ++i) result *= sizes[i];
  return result;
}

// 2·m·n·k for a (batched) product whose first operand is inputs[first] and second inputs[first+1].
int64_t matmul_flops(c10::ArrayRef<const c10::IValue> inputs, size_t first) {
  if (inputs.size() < first + 2 || !inputs[first].isTensor() || !inputs[first + 1].isTensor())
    return 0;
  const auto a = inputs[first].toTensor().sizes();      // [.., m, k]
  const auto b = inputs[first + 1].toTensor().sizes();  // [.., k, n]
  if (a.size() < 2 || b.size() < 2) return 0;
  const int64_t batch = product(a, 0, a.size() - 2);
  return 2 * batch * a[a.size() - 2] * a[a.size() - 1] * b[b.size() - 1];
}

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
// groups): 2 · N · C_out · prod(L_out) · C_in/groups · prod(kernel).
int64_t convolution_flops(c10::ArrayRef<const c10::IValue> inputs) {
  if (inputs.size() < 9 || !inputs[0].isTensor() || !inputs[1].isTensor()) return 0;
  const auto input = inputs[0].toTensor().sizes();   // [N, C_in, L...]
  const auto weight = inputs[1].toTensor().sizes();  // [C_out, C_in/groups, k...]
  const auto stride = inputs[3].toIntVector(), padding = inputs[4].toIntVector(),
             dilation = inputs[5].toIntVector();
  int64_t outputs = input[0] * weight[0];
  int64_t per_output = weight[1];
  for (size_t d = 2; d < input.size(); ++d) {
    const size_t i = d - 2;
    const int64_t k = weight[d];
    const int64_t s = stride.size() > i ? stride[i] : stride.at(0);
    const int64_t p = padding.size() > i ? padding[i] : padding.at(0);
    const int64_t dl = dilation.size() > i ? dilation[i] : dilation.at(0);
    outputs *= (input[d] + 2 * p - dl * (k - 1) - 1) / s + 1;
    per_output *= k;
  }
  return 2 * outputs * per_output;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const char* name = fn.name();
  const auto inputs = fn.inputs();
  if (std::strcmp(name, "aten::mm") == 0 || std::strcmp(name, "aten::bmm") == 0) {
    counted += matmul_flops(inputs, 0);
  } else if (std::strcmp(name, "aten::addmm") == 0 || std::strcmp(name, "aten::baddbmm") == 0 ||
             std::strcmp(name, "aten::addbmm") == 0) {
    counted += matmul_flops(inputs, 1);
  } else if (std::strcmp(name, "aten::convolution") == 0) {
    counted += convolution_flops(inputs);
  }
  return nullptr;
}
}  // namespace

FlopCounter::FlopCounter() {
  check(!active, "[perf] FLOP counters do not nest");
  active = true;
  counted = 0;
  handle_ = at::addThreadLocalCallback(
      at::RecordFunctionCallback(on_start).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
}

FlopCounter::~FlopCounter() {
  at::removeCallback(handle_);
  active = false;
}

int64_t FlopCounter::flops() const { return counted; }

}  // namespace lunar::perf
