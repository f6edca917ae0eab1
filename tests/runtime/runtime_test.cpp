// Contract tests for lunar_runtime: devices, threads, CPU features, BLAS detection, rank seeds.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

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
  EXPECT_FALSE(lunar::blas_warning({"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", false, ""}, true)
                   .empty());
  EXPECT_TRUE(lunar::blas_warning(
                  {"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", true, ""}, true)
                  .empty());
}

TEST(Runtime, OpenBlasWithoutItsAvx512KernelsOnAnAvx512CpuGivesAWarning) {
  const std::string openblas = "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3";
  const auto warning = lunar::blas_warning({openblas, true, "Haswell"}, true);
  EXPECT_NE(warning.find("Haswell kernels"), std::string::npos) << warning;
  EXPECT_NE(warning.find("OPENBLAS_CORETYPE"), std::string::npos) << warning;
  EXPECT_TRUE(lunar::blas_warning({openblas, true, "Haswell"}, false).empty());  // no AVX-512
  EXPECT_TRUE(lunar::blas_warning({openblas, true, "SkylakeX"}, true).empty());
  EXPECT_TRUE(lunar::blas_warning({openblas, true, "Cooperlake"}, true).empty());
}

TEST(Runtime, DetectsTheKernelsOfTheLoadedOpenBlas) {
  // This binary links LibTorch, which links the system BLAS; with OpenBLAS loaded its kernel set
  // has a name (which one depends on the CPU and OPENBLAS_CORETYPE), with another BLAS none.
  const auto info = lunar::detect_blas();
  const bool openblas = info.library.find("openblas") != std::string::npos;
  EXPECT_EQ(!info.kernels.empty(), openblas) << info.library << " kernels '" << info.kernels << "'";
  const char* asked = std::getenv("OPENBLAS_CORETYPE");
  if (openblas && asked != nullptr && std::string(asked) == "Haswell") {
    EXPECT_EQ(info.kernels, "Haswell");
  }
}

TEST(Runtime, DetectsAvx512AsProcCpuinfoReportsIt) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  if (!cpuinfo) GTEST_SKIP() << "no /proc/cpuinfo";
  std::stringstream text;
  text << cpuinfo.rdbuf();
  const auto has = [&](const std::string& flag) {
    return text.str().find(" " + flag + " ") != std::string::npos ||
           text.str().find(" " + flag + "\n") != std::string::npos;
  };
  EXPECT_EQ(lunar::cpu_has_avx512(),
            has("avx512f") && has("avx512dq") && has("avx512bw") && has("avx512vl"));
  EXPECT_EQ(lunar::cpu_has_avx512_bf16(), lunar::cpu_has_avx512() && has("avx512_bf16"));
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
