// Memory-efficient attention for training: the query rows are computed a chunk at a time and
// the [Lq, Lk] attention map is not kept for backward but recomputed there, chunk by chunk. Pack
// (queries = the M memory rows) and unpack (queries = the L positions) both have independent
// query rows, so one kernel serves both. Tested against scaled_attention, forward and backward.
#pragma once

#include <ATen/ATen.h>

namespace lunar::nn {

// The output of scaled_attention (same arguments and shapes) without its weights, holding only
// `chunk` query rows' attention map at a time, in forward and in backward. Dropout masks are
// drawn in forward and redrawn identically in backward (the generator state of each chunk is
// kept), and the generator ends where a forward without recomputation would leave it.
at::Tensor chunked_attention(const at::Tensor& query, const at::Tensor& key,
                             const at::Tensor& value, const at::Tensor& key_mask,
                             const at::Tensor& divisor, double dropout, bool training,
                             int64_t chunk);

}  // namespace lunar::nn
