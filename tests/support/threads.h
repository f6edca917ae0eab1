// LibTorch's intra-op threads for the length of a scope. LibTorch starts at one thread on the
// project's machines, so a kernel test that must cover tasks running at once asks for two.
#pragma once

#include <ATen/Parallel.h>

namespace lunar::testing {

class IntraOpThreads {
 public:
  explicit IntraOpThreads(int threads = 2) : previous_(at::get_num_threads()) {
    at::set_num_threads(threads);
  }
  ~IntraOpThreads() { at::set_num_threads(previous_); }
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_;
};

}  // namespace lunar::testing
