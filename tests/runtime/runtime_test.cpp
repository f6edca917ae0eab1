// Contract tests for lunar_runtime: devices, threads, BLAS detection, rank seeds.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "lunar/core/error.h"
#include "lunar/runtime/platform.h"
#include "lunar/runtime/seed.h"

TEST(Runtime, ParsesDevices) {
  EXPECT_TRUE(lunar::parse_device("cpu").is_cpu());
  EXPECT_THROW(lunar::parse_device("tpu"), lunar::Error);
}

TEST(Runtime, ConfiguresThreads) {
  EXPECT_EQ(lunar::configure_threads(1), 1);
  EXPECT_GE(lunar::configure_threads(0), 1);
}

TEST(Runtime, ReferenceBlasGivesAWarning) {
  EXPECT_FALSE(lunar::blas_warning({"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", false}).empty());
  EXPECT_TRUE(lunar::blas_warning({"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", true})
                  .empty());
}

TEST(Seed, RankZeroKeepsTheSeedAndOtherRanksGetDistinctStreams) {
  EXPECT_EQ(lunar::rank_seed(7, 0), 7u);
  // SplitMix64's first output for the state 0x9E3779B97F4A7C15 (the published sequence from
  // seed 0 starts 0xE220A8397B1DCDAF).
  EXPECT_EQ(lunar::rank_seed(0, 1), 0xE220A8397B1DCDAFULL);
  std::set<uint64_t> seen;
  for (uint64_t seed : {0u, 1u, 7u}) {
    for (int64_t rank = 0; rank < 256; ++rank) seen.insert(lunar::rank_seed(seed, rank));
  }
  EXPECT_EQ(seen.size(), 3u * 256u);
  // Distinct seeds give a rank distinct dropout masks.
  lunar::seed_everything(lunar::rank_seed(1, 1));
  const auto first = at::rand({64});
  lunar::seed_everything(lunar::rank_seed(1, 2));
  EXPECT_FALSE(at::equal(first, at::rand({64})));
}
