// Counts the matrix-multiply and convolution FLOPs of the ATen ops run while a counter is alive,
// so "model FLOPs" come from what the model really computes, for every family alike.
#pragma once

#include <ATen/record_function.h>

#include <cstdint>

namespace lunar::perf {

// While alive, counts 2·m·n·k per matrix product (aten::mm, bmm, addmm, baddbmm, addbmm) and
// 2·(output elements)·(C_in / groups)·(kernel size) per aten::convolution, in the current
// thread. Composite ops (matmul, linear, conv1d) are counted through the primitives they call,
// never twice. Elementwise ops, softmax and norms are not counted (the usual "model FLOPs").
// Counters do not nest.
class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  int64_t flops() const;

 private:
  at::CallbackHandle handle_;
};

}  // namespace lunar::perf
