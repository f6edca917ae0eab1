// Grouping of tensors into flat buckets for collectives: fewer, larger messages (as PyTorch's
// DistributedDataParallel does with its 25 MB buckets).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace lunar::dist {

inline constexpr int64_t kDefaultBucketBytes = 25 * 1024 * 1024;

// Consecutive runs of tensors of one dtype and device, each run holding at most `cap_bytes`
// (a tensor larger than the cap gets a bucket of its own). Returns indices into `tensors`;
// every index appears exactly once, in order.
std::vector<std::vector<size_t>> plan_buckets(const std::vector<at::Tensor>& tensors,
                                              int64_t cap_bytes = kDefaultBucketBytes);

// The tensors of `bucket` flattened into one contiguous 1-D tensor.
at::Tensor flatten_bucket(const std::vector<at::Tensor>& tensors,
                          const std::vector<size_t>& bucket);

// Copies `flat` (laid out as flatten_bucket made it) back into the tensors of `bucket`.
void unflatten_bucket(const at::Tensor& flat, const std::vector<at::Tensor>& tensors,
                      const std::vector<size_t>& bucket);

}  // namespace lunar::dist
