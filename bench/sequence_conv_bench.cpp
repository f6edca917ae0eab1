// The conv filter's convolution (nn::sequence_conv) on the keys or values of one ConvLuna block,
// forward and backward, with the AVX-512 row kernels or the portable ones, in fp32 and in bf16.
// LRA ListOps sizes at L = 4096: batch 4, 4 heads of Dh = 32, kernel 4 ('same' padding). A
// ConvLuna training step runs it twice per block (keys and values). Counter: GB/s of the
// tensors a call must read and write at least (x and y forward; x, dy and dx backward).
//
//   build/bench/lunar_microbench --benchmark_filter=SequenceConv --benchmark_repetitions=5 \
//     --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>
#include <torch/autograd.h>

#include "lunar/nn/filter.h"
#include "lunar/runtime/host_memory.h"
#include "lunar/runtime/platform.h"

namespace {

constexpr int64_t kBatch = 4, kHeads = 4, kLength = 4096, kHeadDim = 32, kKernel = 4;

void BM_SequenceConv(benchmark::State& state) {
  static const int threads = [] {
    lunar::retain_freed_memory();  // as in training: large tensors reuse huge-page mappings
    return lunar::configure_threads(0);
  }();
  const bool avx512 = state.range(0) == 1, bf16 = state.range(1) == 1;
  const auto dtype = bf16 ? at::kBFloat16 : at::kFloat;
  at::manual_seed(0);
  // [B, H, L, Dh] as the projections give it: a permuted [B, L, H, Dh] buffer.
  const auto rows = [&] {
    return at::randn({kBatch, kLength, kHeads, kHeadDim}).to(dtype).permute({0, 2, 1, 3});
  };
  const auto x = rows().requires_grad_(), grad = rows();
  const auto weight = at::randn({kHeads, kKernel}).to(dtype).requires_grad_();
  const auto run = [&] {
    const auto y = lunar::nn::sequence_conv(x, weight, 1, (kKernel - 1) / 2, kLength, avx512);
    torch::autograd::grad({y}, {x, weight}, {grad});
  };
  run();
  for (auto _ : state) run();
  const double bytes = 5.0 * static_cast<double>(x.numel() * x.element_size());
  state.counters["GB/s"] = benchmark::Counter(
      bytes * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = threads;
  const bool native = bf16 ? lunar::cpu_has_avx512_bf16() : lunar::cpu_has_avx512();
  state.SetLabel(std::string(avx512 && native ? "avx512" : "portable") +
                 (bf16 ? " bf16" : " fp32"));
}
BENCHMARK(BM_SequenceConv)
    ->ArgNames({"avx512", "bf16"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
