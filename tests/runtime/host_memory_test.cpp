// The large-block cache retain_freed_memory() installs as LibTorch's CPU allocator.
#include "lunar/runtime/host_memory.h"

#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {
using lunar::host_memory_stats;
using lunar::kLargeBlockBytes;

constexpr int64_t kMiB = int64_t{1} << 20;

class HostMemory : public ::testing::Test {
 protected:
  void SetUp() override { lunar::retain_freed_memory(); }
};

at::Tensor bytes_tensor(int64_t bytes) { return at::empty({bytes}, at::kByte); }

uintptr_t address(const at::Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); }

// The VmFlags line of the mapping of /proc/self/smaps that holds `at`.
std::string vm_flags_of(uintptr_t at) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-') inside = begin <= at && at < end;
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST_F(HostMemory, LargeTensorsGetHugePageMappingsAndSmallOnesDoNot) {
  const auto before = host_memory_stats();
  const auto small = bytes_tensor(kLargeBlockBytes - 1);
  EXPECT_EQ(host_memory_stats().in_use, before.in_use);

  const auto large = bytes_tensor(5 * kMiB + 3);
  EXPECT_EQ(address(large) % (2 * kMiB), 0u);
  EXPECT_EQ(host_memory_stats().in_use, before.in_use + 6 * kMiB);  // rounded up to 2 MiB
  // The mapping asked for transparent huge pages ("hg"), where the kernel has them.
  if (std::filesystem::exists("/sys/kernel/mm/transparent_hugepage")) {
    EXPECT_NE(vm_flags_of(address(large)).find(" hg"), std::string::npos)
        << vm_flags_of(address(large));
  }
  large.fill_(7);
  EXPECT_EQ(large.sum().item<int64_t>(), 7 * (5 * kMiB + 3));
}

TEST_F(HostMemory, AFreedMappingServesALaterRequestThatFitsIt) {
  // Sizes above any block the other tests free, so that none of theirs fits first.
  uintptr_t first = 0;
  {
    const auto block = bytes_tensor(300 * kMiB);
    first = address(block);
  }
  const auto cached = host_memory_stats().cached;
  EXPECT_GE(cached, 300 * kMiB);
  {
    // 300 MiB leaves less than a quarter of 250 MiB over.
    const auto again = bytes_tensor(250 * kMiB);
    EXPECT_EQ(address(again), first);
    EXPECT_EQ(host_memory_stats().cached, cached - 300 * kMiB);
  }
  // It would leave more than a quarter of 100 MiB over: a new mapping.
  const auto smaller = bytes_tensor(100 * kMiB);
  EXPECT_NE(address(smaller), first);
}

TEST_F(HostMemory, WhatIsMappedStaysWithinTwiceThePeakInUse) {
  for (int64_t size = 4; size <= 64; size += 4) {
    { const auto block = bytes_tensor(size * kMiB + 1); }
    const auto stats = host_memory_stats();
    EXPECT_LE(stats.in_use + stats.cached, 2 * stats.peak_in_use) << size << " MiB";
  }
  EXPECT_GE(host_memory_stats().peak_in_use, 66 * kMiB);
}

TEST_F(HostMemory, RawAllocationsOfBothKindsAreFreedByTheAllocatorsDeleter) {
  auto* allocator = c10::GetCPUAllocator();
  const auto before = host_memory_stats();
  for (const int64_t bytes : {int64_t{100}, 3 * kMiB}) {
    void* data = allocator->raw_allocate(bytes);
    static_cast<char*>(data)[bytes - 1] = 1;
    allocator->raw_deallocate(data);
  }
  EXPECT_EQ(host_memory_stats().in_use, before.in_use);
}

TEST_F(HostMemory, RunningOutOfMemoryIsLibTorchsError) {
  const auto before = host_memory_stats();
  try {
    bytes_tensor(int64_t{1} << 50);  // 1 PiB
    FAIL() << "allocated a petabyte";
  } catch (const c10::Error& error) {
    EXPECT_NE(std::string(error.what()).find("not enough memory"), std::string::npos);
  }
  EXPECT_EQ(host_memory_stats().in_use, before.in_use);
}
}  // namespace
