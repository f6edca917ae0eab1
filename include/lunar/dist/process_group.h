// A c10d process group (Gloo on CPU, NCCL on CUDA where LibTorch has it) reached through a
// TCPStore rendezvous. Failures of PyTorch's collectives (a peer that exited, a timeout)
// surface as lunar::Error naming this rank and the operation.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lunar/dist/env.h"

namespace lunar::dist {

class ProcessGroup {
 public:
  // Rendezvous of all env.world_size processes at MASTER_ADDR:MASTER_PORT (rank 0 hosts the
  // store), then the backend for `device`: "gloo" on CPU, "nccl" on CUDA. A missing peer is an
  // error after `timeout`; the same timeout bounds every collective.
  static std::shared_ptr<ProcessGroup> connect(const DistEnv& env, const at::Device& device,
                                               std::chrono::seconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const;
  int64_t world_size() const;
  const std::string& backend() const;
  const at::Device& device() const;  // where tensors handed to the collectives live

  // Each tensor takes rank `root`'s values, in place.
  void broadcast(const std::vector<at::Tensor>& tensors, int64_t root);
  // Each tensor becomes the element-wise sum over the ranks, in place. The operations run
  // concurrently in the backend; the call returns when all are done.
  void all_reduce_sum(const std::vector<at::Tensor>& tensors);
  // Starts an all-reduce (sum) of `tensor` in place and returns the function that waits for
  // it (and throws if it failed). Calls must start in the same order on every rank.
  std::function<void()> start_all_reduce_sum(const at::Tensor& tensor);
  void barrier();

  struct Impl;  // the c10d store and backend (process_group.cpp)

 private:
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lunar::dist
