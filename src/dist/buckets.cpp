// Bucket planning, flattening and unflattening.
#include "lunar/dist/buckets.h"

#include "lunar/core/error.h"

namespace lunar::dist {

std::vector<std::vector<size_t>> plan_buckets(const std::vector<at::Tensor>& tensors,
                                              int64_t cap_bytes) {
  check(cap_bytes > 0, "[dist] expected a positive bucket size, got {} bytes", cap_bytes);
  std::vector<std::vector<size_t>> buckets;
  int64_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& tensor = tensors[i];
    const int64_t size = tensor.numel() * static_cast<int64_t>(tensor.element_size());
    const bool fits = !buckets.empty() && bytes + size <= cap_bytes &&
                      tensors[buckets.back().front()].scalar_type() == tensor.scalar_type() &&
                      tensors[buckets.back().front()].device() == tensor.device();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += size;
  }
  return buckets;
}

at::Tensor flatten_bucket(const std::vector<at::Tensor>& tensors,
                          const std::vector<size_t>& bucket) {
  std::vector<at::Tensor> pieces;
  pieces.reserve(bucket.size());
  for (size_t i : bucket) pieces.push_back(tensors[i].reshape(-1));
  return at::cat(pieces);
}

void unflatten_bucket(const at::Tensor& flat, const std::vector<at::Tensor>& tensors,
                      const std::vector<size_t>& bucket) {
  at::NoGradGuard no_grad;
  int64_t offset = 0;
  for (size_t i : bucket) {
    const int64_t count = tensors[i].numel();
    tensors[i].copy_(flat.narrow(0, offset, count).view_as(tensors[i]));
    offset += count;
  }
  check(offset == flat.numel(), "[dist] bucket layout mismatch: {} elements for {}", offset,
        flat.numel());
}

}  // namespace lunar::dist
