// Pack + unpack attention of one Luna block, forward and backward, reference (scaled_attention)
// against fused_attention, in fp32 and in bf16 (bf16 inputs under CPU autocast, as
// `--precision bf16` runs them). LRA ListOps sizes at L = 4096: batch 4, M = 256, d = 128,
// 4 heads (Dh = 32), dropout 0.1 in training. Counters: peak tensor MiB of one step and the
// rate of the attention's model FLOPs (Q·Kᵀ and P·V forward, four products backward).
//
//   build/bench/lunar_microbench --benchmark_filter=PackUnpack --benchmark_repetitions=3
//
// FusedAttentionBf16: the bf16 kernel alone (native AVX512-BF16 where the CPU has it), pack and
// unpack, forward and forward + backward, at the same sizes.
#include <benchmark/benchmark.h>
#include <torch/autograd.h>

#include "lunar/nn/attention.h"
#include "lunar/nn/fused_attention.h"
#include "lunar/perf/memory_probe.h"
#include "lunar/runtime/compat.h"
#include "lunar/runtime/host_memory.h"
#include "lunar/runtime/platform.h"

namespace {

constexpr int64_t kBatch = 4, kHeads = 4, kLength = 4096, kMemory = 256, kHeadDim = 32;
constexpr double kDropout = 0.1;

struct Leaves {
  at::Tensor memory_query, input_key, input_value;   // pack: M queries, L keys/values
  at::Tensor input_query, memory_key, memory_value;  // unpack: L queries, M keys/values
  at::Tensor divisor;
};

Leaves make_leaves(at::ScalarType dtype) {
  const auto make = [&](int64_t length) {
    return at::randn({kBatch, kHeads, length, kHeadDim}).to(dtype).requires_grad_();
  };
  return {make(kMemory),
          make(kLength),
          make(kLength),
          make(kLength),
          make(kMemory),
          make(kMemory),
          at::full({}, std::sqrt(double(kHeadDim))).requires_grad_()};
}

at::Tensor attend(bool fused, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& divisor) {
  if (fused) return lunar::nn::fused_attention(q, k, v, {}, divisor, kDropout, true);
  return lunar::nn::scaled_attention(q, k, v, {}, divisor, kDropout, true).output;
}

// One step: pack and unpack forward, then backward through both.
void step(bool fused, const Leaves& in) {
  const auto packed = attend(fused, in.memory_query, in.input_key, in.input_value, in.divisor);
  const auto unpacked = attend(fused, in.input_query, in.memory_key, in.memory_value, in.divisor);
  (packed.sum() + unpacked.sum()).backward();
}

void BM_PackUnpack(benchmark::State& state) {
  static const int threads = [] {
    lunar::retain_freed_memory();
    return lunar::configure_threads(0);
  }();
  const bool fused = state.range(0) == 1;
  const bool bf16 = state.range(1) == 1;
  at::manual_seed(0);
  const auto in = make_leaves(bf16 ? at::kBFloat16 : at::kFloat);
  lunar::compat::AutocastGuard autocast(at::kCPU, bf16, at::kBFloat16);
  step(fused, in);  // warm-up: first-touch pages, oneDNN's kernels
  lunar::perf::PeakMemoryProbe probe(at::kCPU);
  probe.start();
  step(fused, in);
  state.counters["peak_MiB"] = static_cast<double>(probe.peak_bytes()) / (1 << 20);
  for (auto _ : state) step(fused, in);
  // Q·Kᵀ and P·V in forward, four products in backward: 6 × 2·B·H·M·L·Dh per direction.
  const double flops = 2.0 * 6 * 2 * kBatch * kHeads * kMemory * kLength * kHeadDim;
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = threads;
  state.SetLabel(std::string(fused ? "fused" : "reference") + (bf16 ? " bf16" : " fp32") +
                 (bf16 && fused && !lunar::cpu_has_avx512_bf16() ? " (fp32 fallback)" : ""));
}
BENCHMARK(BM_PackUnpack)
    ->ArgNames({"fused", "bf16"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// fused_attention alone on bf16 inputs (no autocast), one direction at a time: pack (M queries,
// L keys) or unpack (L queries, M keys), forward only or forward and backward.
void BM_FusedAttentionBf16(benchmark::State& state) {
  static const int threads = lunar::configure_threads(0);
  const bool unpack = state.range(0) == 1, backward = state.range(1) == 1;
  at::manual_seed(0);
  const int64_t lq = unpack ? kLength : kMemory, lk = unpack ? kMemory : kLength;
  const auto make = [](int64_t length) {
    return at::randn({kBatch, kHeads, length, kHeadDim}).to(at::kBFloat16).requires_grad_();
  };
  const auto q = make(lq), k = make(lk), v = make(lk);
  const auto divisor = at::full({}, std::sqrt(double(kHeadDim)));
  const auto run = [&] {
    const auto out = lunar::nn::fused_attention(q, k, v, {}, divisor, kDropout, true);
    if (backward) out.sum().backward();
  };
  run();
  for (auto _ : state) run();
  const double flops = (backward ? 6.0 : 2.0) * 2 * kBatch * kHeads * kMemory * kLength * kHeadDim;
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = threads;
}
BENCHMARK(BM_FusedAttentionBf16)
    ->ArgNames({"unpack", "backward"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
