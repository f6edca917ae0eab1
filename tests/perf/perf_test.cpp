// FLOP counter, peak-memory probe and the benchmark loop, against hand-worked counts.
#include <gtest/gtest.h>

#include "lunar/perf/benchmark.h"
#include "lunar/perf/flop_counter.h"
#include "lunar/perf/memory_probe.h"
#include "support/expectations.h"

namespace lunar::perf {
namespace {

TEST(FlopCounter, CountsMatrixProductsOnceThroughComposites) {
  const auto x = at::randn({3, 5, 8});
  const auto w = at::randn({16, 8});
  FlopCounter counter;
  at::linear(x, w, at::randn({16}));                       // 2·(3·5)·8·16
  at::matmul(at::randn({2, 4, 6}), at::randn({2, 6, 3}));  // 2·2·4·6·3
  at::softmax(x, -1);                                      // not counted
  EXPECT_EQ(counter.flops(), 2 * 15 * 8 * 16 + 2 * 2 * 4 * 6 * 3);
}

TEST(FlopCounter, CountsGroupedConvolutionWithStrideAndPadding) {
  FlopCounter counter;
  // Depthwise: 4 channels, kernel 3, padding 1, stride 2 on length 10 -> 5 outputs per channel.
  at::conv1d(at::randn({2, 4, 10}), at::randn({4, 1, 3}), at::Tensor(), {2}, {1}, {1}, 4);
  EXPECT_EQ(counter.flops(), 2 * (2 * 4 * 5) * 1 * 3);
}

TEST(FlopCounter, CountsTheBackwardPass) {
  const auto a = at::randn({4, 5}).requires_grad_();
  const auto b = at::randn({5, 6}).requires_grad_();
  FlopCounter counter;
  at::mm(a, b).sum().backward();  // forward, then one product per input gradient
  EXPECT_EQ(counter.flops(), 3 * 2 * 4 * 5 * 6);
}

TEST(FlopCounter, RefusesToNest) {
  FlopCounter outer;
  lunar::testing::expect_error([] { FlopCounter inner; }, "do not nest");
}

TEST(PeakMemoryProbe, CountsTheTensorsHeldAtOnce) {
  PeakMemoryProbe probe(at::kCPU);
  const auto resting = at::ones({1 << 20});  // allocated before start(): the baseline
  probe.start();
  {
    const auto a = at::ones({16 << 20});  // 64 MiB
    const auto b = at::ones({8 << 20});   // 32 MiB, while a is alive
  }
  const auto c = at::ones({4 << 20});  // 16 MiB after both are freed
  EXPECT_EQ(probe.peak_bytes(), 96LL << 20);
  probe.start();  // a new measurement starts from what is alive now
  EXPECT_EQ(probe.peak_bytes(), 0);
  EXPECT_GT(available_memory_bytes(at::kCPU), 0);
}

train::RunConfig tiny_base() {
  train::RunConfig config;
  config.model.dim = 16;
  config.model.num_heads = 2;
  config.model.ffn_dim = 24;
  config.model.num_blocks = 1;
  config.model.num_classes = 3;
  config.model.input.vocab_size = 10;
  return config;
}

BenchOptions tiny_options(std::vector<std::string> models, std::vector<int64_t> lengths) {
  BenchOptions options;
  options.models = std::move(models);
  options.lengths = std::move(lengths);
  options.batch = 2;
  options.memory_len = 4;
  options.warmup = 1;
  options.repeats = 2;
  return options;
}

TEST(Benchmark, TransformerFlopsMatchTheHandCount) {
  auto options = tiny_options({"transformer"}, {7, 31});
  options.mode = BenchMode::infer;
  const auto report = run_benchmark(tiny_base(), options);
  ASSERT_EQ(report.points.size(), 2u);
  const double d = 16, f = 24, classes = 3;
  for (const auto& p : report.points) {
    ASSERT_EQ(p.status, "ok") << p.reason;
    const double n = double(p.length + 1);  // with CLS
    // Q, K, V, O projections; Q·Kᵀ and A·V; the FFN; the classifier's two layers.
    const double per_sequence =
        8 * n * d * d + 4 * n * n * d + 4 * n * d * f + 2 * d * f + 2 * f * classes;
    lunar::testing::expect_close(p.flops_per_token, per_sequence / double(p.length), 1e-12);
    EXPECT_GT(p.tokens_per_s.median, 0);
    EXPECT_LE(p.tokens_per_s.min, p.tokens_per_s.median);
    EXPECT_GE(p.tokens_per_s.max, p.tokens_per_s.median);
  }
  EXPECT_GT(report.gemm_flops_per_s, 0);
}

TEST(Benchmark, LunaCostPerTokenIsFlatWhileTheTransformersGrows) {
  const auto report =
      run_benchmark(tiny_base(), tiny_options({"transformer", "luna", "convluna"}, {64, 256}));
  ASSERT_EQ(report.points.size(), 6u);
  for (const auto& p : report.points) ASSERT_EQ(p.status, "ok") << p.model << " " << p.reason;
  const auto growth = [&](size_t first) {
    return report.points[first + 1].flops_per_token / report.points[first].flops_per_token;
  };
  EXPECT_GT(growth(0), 2.0);  // transformer: attention FLOPs per token ∝ L
  EXPECT_NEAR(growth(2), 1.0, 0.05);
  EXPECT_NEAR(growth(4), 1.0, 0.05);
  // Training counts the backward pass too: between 2 and 3 times the forward.
  auto infer = tiny_options({"luna"}, {64});
  infer.mode = BenchMode::infer;
  const double forward = run_benchmark(tiny_base(), infer).points[0].flops_per_token;
  EXPECT_GT(report.points[2].flops_per_token, 2 * forward);
  EXPECT_LE(report.points[2].flops_per_token, 3 * forward * 1.001);
  EXPECT_EQ(report.configs.size(), 3u);
  EXPECT_NE(report.configs.at("luna").find("memory_len = 4"), std::string::npos);
}

// The fused kernel computes the same products as the reference path, so it reports the same
// model FLOPs, though its products run where the counter does not see them (on two threads,
// half of its blocks run on a worker thread).
TEST(Benchmark, FusedAttentionCountsTheReferenceFlops) {
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  const auto options = tiny_options({"luna", "convluna"}, {100});
  auto fused = tiny_base();
  fused.model.fused_attention = true;
  const auto reference = run_benchmark(tiny_base(), options);
  const auto measured = run_benchmark(fused, options);
  ASSERT_EQ(measured.points.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(measured.points[i].status, "ok") << measured.points[i].reason;
    EXPECT_GT(measured.points[i].flops_per_token, 0);
    lunar::testing::expect_close(measured.points[i].flops_per_token,
                                 reference.points[i].flops_per_token, 1e-12);
  }
  at::set_num_threads(threads);
}

TEST(Benchmark, SkipsLengthsBeyondTheMemoryLimit) {
  auto options = tiny_options({"transformer"}, {32, 64});
  options.memory_limit_bytes = 1;
  const auto report = run_benchmark(tiny_base(), options);
  ASSERT_EQ(report.points.size(), 2u);
  EXPECT_EQ(report.points[0].status, "ok");  // nothing to extrapolate from yet
  EXPECT_EQ(report.points[1].status, "skipped");
  EXPECT_NE(report.points[1].reason.find("needs about"), std::string::npos);
  const auto markdown = to_markdown(report);
  EXPECT_NE(markdown.find("| transformer | 64 | skipped: needs about"), std::string::npos);
  const auto json = to_json(report);
  EXPECT_EQ(json["results"][1]["status"], "skipped");
  EXPECT_GT(json["results"][0]["tokens_per_s"]["median"].get<double>(), 0);
  EXPECT_EQ(json["settings"]["batch"], 2);
}

TEST(Benchmark, RejectsBadOptions) {
  lunar::testing::expect_error([] { parse<BenchMode>("fly", "--mode"); },
                               "expected --mode one of \"train\", \"infer\", got \"fly\"");
  auto options = tiny_options({"nope"}, {32});
  lunar::testing::expect_error([&] { run_benchmark(tiny_base(), options); }, "nope");
}

}  // namespace
}  // namespace lunar::perf
