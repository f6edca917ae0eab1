// Distributed pieces without processes: environment parsing errors, bucket planning, and a
// two-rank Gloo group on loopback inside one process (one thread per rank) checked against
// sums computed directly.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "lunar/core/error.h"
#include "lunar/dist/buckets.h"
#include "lunar/dist/data_parallel.h"
#include "lunar/dist/env.h"
#include "lunar/dist/launcher.h"
#include "lunar/dist/process_group.h"
#include "support/tensor_compare.h"

namespace lunar::dist {
namespace {

EnvLookup lookup_from(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::map<std::string, std::string> complete_env() {
  return {{"MASTER_ADDR", "10.0.0.1"},
          {"MASTER_PORT", "29500"},
          {"RANK", "1"},
          {"WORLD_SIZE", "4"},
          {"LOCAL_RANK", "1"}};
}

// The message of the lunar::Error `call` throws ("" if none).
template <class F>
std::string error_of(F&& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(DistEnv, ParsesTheLauncherVariables) {
  const auto env = parse_env(lookup_from(complete_env()));
  EXPECT_EQ(env.master_addr, "10.0.0.1");
  EXPECT_EQ(env.master_port, 29500);
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  auto without_local = complete_env();
  without_local.erase("LOCAL_RANK");
  EXPECT_EQ(parse_env(lookup_from(without_local)).local_rank, 0);
}

TEST(DistEnv, MissingVariableIsNamed) {
  for (const char* name : {"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"}) {
    auto values = complete_env();
    values.erase(name);
    const auto message = error_of([&] { parse_env(lookup_from(values)); });
    EXPECT_NE(message.find(std::string("variable ") + name + " is not set"), std::string::npos)
        << message;
  }
}

TEST(DistEnv, MalformedValuesAreNamedWithTheValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"MASTER_PORT", "http"}, {"MASTER_PORT", "70000"}, {"WORLD_SIZE", "0"},  {"RANK", "4"},
      {"RANK", "-1"},          {"RANK", "1x"},           {"LOCAL_RANK", "two"}};
  for (const auto& [name, value] : cases) {
    auto values = complete_env();
    values[name] = value;
    const auto message = error_of([&] { parse_env(lookup_from(values)); });
    EXPECT_NE(message.find("variable " + name + ": expected"), std::string::npos) << message;
    EXPECT_NE(message.find("got '" + value + "'"), std::string::npos) << message;
  }
}

TEST(DistEnv, DistributedOnlyWhenWorldSizeAboveOne) {
  EXPECT_FALSE(env_requests_distributed(lookup_from({})));
  EXPECT_FALSE(env_requests_distributed(lookup_from({{"WORLD_SIZE", "1"}})));
  EXPECT_TRUE(env_requests_distributed(lookup_from({{"WORLD_SIZE", "2"}})));
  EXPECT_NE(error_of([] { env_requests_distributed(lookup_from({{"WORLD_SIZE", "many"}})); }), "");
}

TEST(Buckets, ConsecutiveRunsUnderTheCapSplitByDtype) {
  const std::vector<at::Tensor> tensors = {
      at::zeros({10}),              // 40 bytes
      at::zeros({5}),               // 20
      at::zeros({20}),              // 80: would exceed 100 with the previous two
      at::zeros({200}),             // 800: larger than the cap, alone
      at::zeros({2}, at::kDouble),  // another dtype
      at::zeros({1}, at::kDouble)};
  const auto buckets = plan_buckets(tensors, 100);
  const std::vector<std::vector<size_t>> expected = {{0, 1}, {2}, {3}, {4, 5}};
  EXPECT_EQ(buckets, expected);
  EXPECT_EQ(plan_buckets(tensors).size(), 2u);  // 25 MB: one per dtype
}

TEST(Buckets, FlattenAndUnflattenRoundTrip) {
  const std::vector<at::Tensor> tensors = {at::arange(6.0f).view({2, 3}), at::full({4}, -1.0f),
                                           at::full({1, 2}, 7.0f)};
  const auto flat = flatten_bucket(tensors, {0, 2});
  EXPECT_TENSORS_CLOSE(flat, at::tensor(std::vector<float>{0, 1, 2, 3, 4, 5, 7, 7}));
  const std::vector<at::Tensor> out = {at::empty({2, 3}), at::empty({4}), at::empty({1, 2})};
  unflatten_bucket(flat * 2, out, {0, 2});
  EXPECT_TENSORS_CLOSE(out[0], tensors[0] * 2);
  EXPECT_TENSORS_CLOSE(out[2], tensors[2] * 2);
}

DistEnv loopback_env(int64_t rank, int64_t world, int64_t port) {
  DistEnv env;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  env.rank = rank;
  env.world_size = world;
  env.local_rank = rank;
  return env;
}

TEST(GlooGroup, TwoRanksAverageGradientsAndSumMetrics) {
  const int64_t port = free_port("127.0.0.1");
  // Rank r's gradients: distinct values per rank and per element, over two small buckets.
  auto gradient = [](int64_t rank, int64_t size, double offset) {
    return at::arange(static_cast<double>(size)).to(at::kFloat) * (rank + 1) + offset;
  };
  std::vector<std::vector<at::Tensor>> grads(2), params(2);
  std::vector<std::vector<double>> sums(2);
  std::vector<at::Tensor> broadcast(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int64_t rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        auto group =
            ProcessGroup::connect(loopback_env(rank, 2, port), at::kCPU, std::chrono::seconds(20));
        EXPECT_EQ(group->backend(), "gloo");
        DataParallel parallel(group, /*bucket_bytes=*/64);
        for (int64_t i = 0; i < 3; ++i) {
          auto p = at::zeros({7 + i}).requires_grad_();
          p.mutable_grad() = gradient(rank, 7 + i, static_cast<double>(i));
          params[rank].push_back(p);
        }
        auto unused = at::zeros({4}).requires_grad_();  // no gradient on either rank
        params[rank].push_back(unused);
        parallel.average_gradients(params[rank]);
        for (const auto& p : params[rank]) grads[rank].push_back(p.grad());
        sums[rank] = {static_cast<double>(rank) + 0.5, 10.0 * (rank + 1)};
        parallel.sum(sums[rank]);
        broadcast[rank] = at::full({3}, static_cast<float>(rank + 5));
        group->broadcast({broadcast[rank]}, 0);
        parallel.barrier();
      } catch (const std::exception& error) {
        errors[rank] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  for (int64_t rank = 0; rank < 2; ++rank) {
    for (int64_t i = 0; i < 3; ++i) {
      const auto expected = (gradient(0, 7 + i, i) + gradient(1, 7 + i, i)) / 2;
      EXPECT_TENSORS_CLOSE(grads[rank][i], expected, 0, 1e-6);
    }
    EXPECT_FALSE(grads[rank][3].defined());
    EXPECT_DOUBLE_EQ(sums[rank][0], 2.0);  // 0.5 + 1.5
    EXPECT_DOUBLE_EQ(sums[rank][1], 30.0);
    EXPECT_TENSORS_CLOSE(broadcast[rank], at::full({3}, 5.0f));
  }
}

// The hooked path: two micro-batches of backward per rank, the second armed, small buckets so
// several all-reduces start during backward, and one parameter that gets no gradient.
TEST(GlooGroup, GradientsAveragedDuringBackwardWithAccumulation) {
  const int64_t port = free_port("127.0.0.1");
  auto input = [](int64_t rank, int64_t micro) {  // [3]
    return at::tensor(std::vector<float>{1, -2, 0.5}) * static_cast<float>(rank + 1) +
           static_cast<float>(micro);
  };
  std::vector<std::vector<at::Tensor>> grads(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int64_t rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        auto group =
            ProcessGroup::connect(loopback_env(rank, 2, port), at::kCPU, std::chrono::seconds(20));
        auto parallel = std::make_unique<DataParallel>(group, /*bucket_bytes=*/12);
        const std::vector<at::Tensor> params = {at::full({3}, 0.5f).requires_grad_(),
                                                at::zeros({2}).requires_grad_(),  // unused
                                                at::full({4}, 2.0f).requires_grad_()};
        for (int64_t micro = 0; micro < 2; ++micro) {
          // loss = w·x + (rank + 1) Σ v²: d/dw = x, d/dv = 2 (rank + 1) v
          const auto loss = (params[0] * input(rank, micro)).sum() +
                            (params[2] * params[2]).sum() * static_cast<double>(rank + 1);
          parallel->prepare_backward(params, micro == 1);
          loss.backward();
        }
        parallel->average_gradients(params);
        // Buckets in reverse parameter order: [v], [unused], [w]. v's started inside backward;
        // w's waited for the unused one before it, as the order must match across ranks.
        EXPECT_EQ(parallel->buckets_started_during_backward(), 1);
        for (const auto& p : params) grads[rank].push_back(p.grad());
        parallel.reset();  // removes the hooks
        EXPECT_TRUE(params[0].grad().defined());
      } catch (const std::exception& error) {
        errors[rank] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  const auto expected_w = (input(0, 0) + input(0, 1) + input(1, 0) + input(1, 1)) / 2;
  // v: two micro-batches of 2 (rank + 1) · 2.0, averaged over ranks 1 and 2: 2 · 2 · 1.5 · 2
  const auto expected_v = at::full({4}, 12.0f);
  for (int64_t rank = 0; rank < 2; ++rank) {
    EXPECT_TENSORS_CLOSE(grads[rank][0], expected_w, 0, 1e-6);
    EXPECT_FALSE(grads[rank][1].defined());
    EXPECT_TENSORS_CLOSE(grads[rank][2], expected_v, 0, 1e-6);
  }
}

TEST(GlooGroup, MissingPeerFailsWithinTheTimeout) {
  const int64_t port = free_port("127.0.0.1");
  const auto started = std::chrono::steady_clock::now();
  const auto message = error_of(
      [&] { ProcessGroup::connect(loopback_env(0, 2, port), at::kCPU, std::chrono::seconds(2)); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_NE(message.find("rank 0 of 2: rendezvous at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("dist_timeout_s = 2 s"), std::string::npos) << message;
  EXPECT_LT(seconds, 10.0);
}

}  // namespace
}  // namespace lunar::dist
