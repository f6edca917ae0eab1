// Fused attention's AVX-512 kernels, on raw pointers: fp32 products by FMA (AVX-512F) and bf16
// products by dot-product pairs (AVX512-BF16). Their files are compiled with AVX-512 flags, so
// this header and those files include nothing with inline or template code shared with the rest
// of the library (ATen, the standard containers): the linker keeps one copy of such code, and an
// AVX-512 copy would then run on every CPU. The ATen side (tensors, threads, scratch) is
// fused_attention_kernel.cpp; the fp32 kernels run only where cpu_has_avx512(), the bf16 ones
// only where cpu_has_avx512_bf16().
#pragma once

#include <cstdint>

namespace lunar::nn::fused::avx512 {

struct Dims {
  int64_t heads, query_len, key_len, head_dim, value_dim;
  int64_t query_block, key_block;  // as configured; the kernels round them up (see the .cpp)
  int64_t drop_threshold;          // keep where 15 hash bits reach it; 0 = no dropout
  float keep_scale;                // 1 / keep probability
  uint64_t seed;
};

// Elements: float for fp32, uint16_t (the bits) for bf16; both accumulate in fp32. Row-major;
// bias [B, Lk] is 0 for real keys and −inf for padding, or null.
template <typename T>
struct ForwardIo {
  const T *query, *key, *value;  // [B·H, Lq, Dh], [B·H, Lk, Dh], [B·H, Lk, Dv]
  const float* bias;
  T* output;       // [B·H, Lq, Dv]
  float* log_sum;  // [B·H, Lq]
};

template <typename T>
struct BackwardIo {
  const T *query, *key, *value, *output, *grad_output;
  const float *bias, *log_sum;
  T *grad_query, *grad_key, *grad_value;
};

// Forward runs tasks (bh, query block) in [begin, end), bh-major; scratch holds
// forward_scratch_bytes<T>(dims), 64-byte aligned, one per thread.
int64_t forward_query_blocks(const Dims& dims);
template <typename T>
int64_t forward_scratch_bytes(const Dims& dims);
template <typename T>
void forward_tasks(const Dims& dims, const ForwardIo<T>& io, int64_t begin, int64_t end,
                   void* scratch);

// Backward runs heads bh in [begin, end); scratch as for forward.
template <typename T>
int64_t backward_scratch_bytes(const Dims& dims);
template <typename T>
void backward_heads(const Dims& dims, const BackwardIo<T>& io, int64_t begin, int64_t end,
                    void* scratch);

}  // namespace lunar::nn::fused::avx512
