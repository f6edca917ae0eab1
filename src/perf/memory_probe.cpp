// Peak memory probes.
#include "lunar/perf/memory_probe.h"

#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>

#include "lunar/core/error.h"
#include "lunar/runtime/compat.h"

namespace lunar::perf {

namespace {
// Wraps LibTorch's CPU allocator and keeps the current and highest number of bytes it has out.
// The context of each pointer is the pointer itself (raw_allocate requires it); a table maps it
// to the base allocation and its size.
class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* base) : base_(base) {}

  c10::DataPtr allocate(size_t bytes) const override {
    auto inner = base_->allocate(bytes);
    void* data = inner.get();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ += static_cast<int64_t>(bytes);
      peak_ = std::max(peak_, current_);
      live_[data] = Record{std::move(inner), static_cast<int64_t>(bytes)};
    }
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  LUNAR_ALLOCATOR_COPY_DATA

  int64_t current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  int64_t peak() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }
  void reset_peak() const {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_ = current_;
  }

 private:
  struct Record {
    c10::DataPtr inner;  // frees the base allocation when destroyed
    int64_t bytes = 0;
  };
  static void release(void* data);

  c10::Allocator* base_;
  mutable std::mutex mutex_;
  mutable int64_t current_ = 0, peak_ = 0;
  mutable std::unordered_map<void*, Record> live_;
};

// Installed once for the life of the process: tensors it allocated may outlive any probe.
CountingAllocator* install_counting_allocator() {
  auto* wrapped = new CountingAllocator(c10::GetCPUAllocator());
  c10::SetCPUAllocator(wrapped, /*priority=*/100);
  return wrapped;
}

const CountingAllocator& counting_allocator() {
  static CountingAllocator* allocator = install_counting_allocator();
  return *allocator;
}

void CountingAllocator::release(void* data) {
  Record record;
  {
    const auto& self = counting_allocator();
    std::lock_guard<std::mutex> lock(self.mutex_);
    auto found = self.live_.find(data);
    if (found == self.live_.end()) return;
    record = std::move(found->second);
    self.live_.erase(found);
    self.current_ -= record.bytes;
  }
  // record.inner frees the memory here, outside the lock.
}

// A "Key:   123 kB" field of /proc/meminfo, in bytes.
int64_t meminfo_field(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  check(static_cast<bool>(in), "[perf] cannot read /proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    int64_t kilobytes = 0;
    fields >> kilobytes;
    return kilobytes * 1024;
  }
  throw Error(fmt::format("[perf] /proc/meminfo has no field {}", key));
}
}  // namespace

PeakMemoryProbe::PeakMemoryProbe(at::Device device) : device_(device) {
  if (!device_.is_cuda()) counting_allocator();
}

void PeakMemoryProbe::start() {
  if (device_.is_cuda()) {
    compat::cuda_reset_peak_memory(device_);
    baseline_ = compat::cuda_peak_memory(device_);
    return;
  }
  counting_allocator().reset_peak();
  baseline_ = counting_allocator().current();
}

int64_t PeakMemoryProbe::peak_bytes() const {
  const int64_t peak =
      device_.is_cuda() ? compat::cuda_peak_memory(device_) : counting_allocator().peak();
  return std::max<int64_t>(0, peak - baseline_);
}

int64_t available_memory_bytes(const at::Device& device) {
  if (device.is_cuda()) return compat::cuda_free_memory(device);
  return meminfo_field("MemAvailable");
}

}  // namespace lunar::perf
