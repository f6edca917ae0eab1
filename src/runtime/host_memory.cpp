// A CPU allocator that keeps large blocks on huge pages between steps.
#include "lunar/runtime/host_memory.h"

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lunar/runtime/compat.h"

namespace lunar {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;

size_t round_to_huge_pages(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// A fresh mapping of `bytes` (a multiple of kHugePage) aligned to kHugePage, with transparent
// huge pages asked for; nullptr when the system has no memory left. Over-maps by one huge page
// and unmaps the unaligned ends.
void* map_huge_pages(size_t bytes) {
  const size_t span = bytes + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span, used_end = aligned + bytes;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  // Advisory: where the kernel has no transparent huge pages the mapping keeps 4 KiB pages.
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

// Large blocks from kept huge-page mappings; small ones from the allocator it replaced. The
// context of a large block is its data pointer (raw_allocate requires it), and a table maps it
// to the mapping's size.
class HugePageCache final : public c10::Allocator {
 public:
  explicit HugePageCache(c10::Allocator* small) : small_(small) {}

  c10::DataPtr allocate(size_t bytes) const override {
    if (bytes < static_cast<size_t>(kLargeBlockBytes)) return small_->allocate(bytes);
    void* data = take(round_to_huge_pages(bytes));
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  LUNAR_ALLOCATOR_COPY_DATA

  HostMemoryStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {in_use_bytes_, cached_bytes_, peak_in_use_};
  }

 private:
  using Freed = std::list<std::pair<void*, size_t>>;  // oldest first

  void* take(size_t bytes) const;
  static void release(void* data);
  // Unmaps every kept mapping (before asking the system again when it refused).
  void drop_cache() const;

  c10::Allocator* small_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, size_t> in_use_;  // data -> mapped bytes
  mutable Freed freed_;
  mutable std::multimap<size_t, Freed::iterator> freed_by_size_;
  mutable int64_t in_use_bytes_ = 0, cached_bytes_ = 0, peak_in_use_ = 0;
};

HugePageCache* installed = nullptr;  // set once by retain_freed_memory()

void* HugePageCache::take(size_t bytes) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto fit = freed_by_size_.lower_bound(bytes);
    if (fit != freed_by_size_.end() && fit->first <= bytes + bytes / 4) {
      const auto [data, size] = *fit->second;
      freed_.erase(fit->second);
      freed_by_size_.erase(fit);
      cached_bytes_ -= static_cast<int64_t>(size);
      in_use_.emplace(data, size);
      in_use_bytes_ += static_cast<int64_t>(size);
      peak_in_use_ = std::max(peak_in_use_, in_use_bytes_);
      return data;
    }
  }
  void* data = map_huge_pages(bytes);
  if (data == nullptr) {
    drop_cache();
    data = map_huge_pages(bytes);
  }
  // The message and exception type of LibTorch's own CPU allocator when memory runs out.
  TORCH_CHECK(data != nullptr, "DefaultCPUAllocator: not enough memory: you tried to allocate ",
              bytes, " bytes.");
  std::lock_guard<std::mutex> lock(mutex_);
  in_use_.emplace(data, bytes);
  in_use_bytes_ += static_cast<int64_t>(bytes);
  peak_in_use_ = std::max(peak_in_use_, in_use_bytes_);
  return data;
}

void HugePageCache::release(void* data) {
  auto& self = *installed;
  std::vector<std::pair<void*, size_t>> evicted;
  {
    std::lock_guard<std::mutex> lock(self.mutex_);
    const auto found = self.in_use_.find(data);
    if (found != self.in_use_.end()) {
      const size_t size = found->second;
      self.in_use_.erase(found);
      self.in_use_bytes_ -= static_cast<int64_t>(size);
      self.freed_.emplace_back(data, size);
      self.freed_by_size_.emplace(size, std::prev(self.freed_.end()));
      self.cached_bytes_ += static_cast<int64_t>(size);
      while (self.in_use_bytes_ + self.cached_bytes_ > 2 * self.peak_in_use_) {
        const auto oldest = self.freed_.begin();
        const auto range = self.freed_by_size_.equal_range(oldest->second);
        for (auto it = range.first; it != range.second; ++it) {
          if (it->second != oldest) continue;
          self.freed_by_size_.erase(it);
          break;
        }
        self.cached_bytes_ -= static_cast<int64_t>(oldest->second);
        evicted.push_back(*oldest);
        self.freed_.erase(oldest);
      }
      data = nullptr;
    }
  }
  // A small block given out by raw_allocate: its owner frees it. Neither that nor unmapping
  // needs the lock.
  if (data != nullptr) self.small_->raw_deleter()(data);
  for (const auto& [mapping, size] : evicted) munmap(mapping, size);
}

void HugePageCache::drop_cache() const {
  Freed dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dropped.swap(freed_);
    freed_by_size_.clear();
    cached_bytes_ = 0;
  }
  for (const auto& [mapping, size] : dropped) munmap(mapping, size);
}
}  // namespace

void retain_freed_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_MAX, 0);                                      // small blocks from the heap
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());  // and none given back
    // Lives as long as the process: tensors it allocated may outlive any caller.
    installed = new HugePageCache(c10::GetCPUAllocator());
    c10::SetCPUAllocator(installed, /*priority=*/50);
  });
}

HostMemoryStats host_memory_stats() { return installed ? installed->stats() : HostMemoryStats{}; }

}  // namespace lunar
