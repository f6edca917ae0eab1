// Measures of memory collapse (docs/memory-collapse.md): how far the M memory vectors of a
// Luna-style model have converged to one or a few directions, and how the pack and unpack
// attentions use them.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace lunar::diag {

// Rows whose cosine similarity reaches this are counted as one distinct row.
inline constexpr double kDistinctCosine = 0.99;

// Collapse measures of one memory matrix P [M, D]. All values are computed in float64 on the CPU.
struct MemoryMetrics {
  // Mean cosine similarity over the M(M-1) ordered pairs of different rows. A single row (M = 1)
  // is trivially collapsed: 1.0. A zero row has cosine 0 with every row.
  double mean_cosine = 0;
  // distinct_rows / memory_len, in (0, 1]; 1/M means everything merged into one row.
  double distinct_fraction = 0;
  // exp(-sum p_i ln p_i), p_i = sigma_i / sum(sigma) over the singular values of P (Roy and
  // Vetterli 2007); in [1, min(M, D)], 0 for the zero matrix.
  double effective_rank = 0;
  // ||P - 1 p̄ᵀ||_F / ||P||_F with p̄ the mean row; 0 when all rows are equal (or P is zero), 1
  // when the mean row is zero.
  double collapse_residual = 0;
  // Clusters of rows under greedy leader clustering at cosine >= threshold (see memory_metrics).
  int64_t distinct_rows = 0;
  int64_t memory_len = 0;  // M
};

// MemoryMetrics averaged over the batch elements of a batched memory [B, M, D].
struct BatchMemoryMetrics {
  double mean_cosine = 0;
  double distinct_fraction = 0;
  double effective_rank = 0;
  double collapse_residual = 0;
  double distinct_rows = 0;  // mean over the batch, hence not an integer
  int64_t memory_len = 0;    // M
  int64_t batch_size = 0;    // B
};

// Collapse measures of memory [M, D] (any floating dtype and device; M >= 1, D >= 1).
//
// Distinct rows use greedy leader clustering in row order: each row joins the first earlier
// leader with cosine >= `distinct_cosine`, otherwise it becomes a leader. Leaders are pairwise
// below the threshold and every row is within it of its leader, so unlike connected components
// a slow chain of slightly rotated rows is not merged into one. Zero rows are never merged.
// A memory with NaN or infinite entries (a diverged run) gives NaN for every double field and
// distinct_rows = 0 rather than an exception, so diagnostics never stop a training run.
MemoryMetrics memory_metrics(const at::Tensor& memory,  // [M, D]
                             double distinct_cosine = kDistinctCosine);

// memory_metrics of each batch element of memory [B, M, D], averaged over the batch.
BatchMemoryMetrics batch_memory_metrics(const at::Tensor& memory,  // [B, M, D]
                                        double distinct_cosine = kDistinctCosine);

// Normalised entropy of attention rows: for each row a of a distribution over L_valid choices,
// H(a) / ln L_valid, which is 1 for uniform attention and 0 for one-hot.
struct AttentionEntropy {
  double mean = 0;   // over all rows (batch, heads, queries)
  double min = 0;    // the most peaked row
  double max = 0;    // the flattest row
  int64_t rows = 0;  // rows averaged
};

// Entropy of the pack attention probabilities [B, H, M, L] (memory queries over input keys).
// key_mask [B, L] bool, true = real key, false = padding (the polarity of nn/attention.h);
// undefined = all real. Padding keys are excluded and each row is renormalised over the real
// keys, so the result is the same whether the model ran with masks on (no mass on padding) or
// off. A row with a single real key counts as uniform (1). For ConvLuna with a pooling filter
// the keys are the filtered sequence: pass a mask of that length or none.
AttentionEntropy attention_entropy(const at::Tensor& attention,       // [B, H, M, L]
                                   const at::Tensor& key_mask = {});  // [B, L] bool

// How evenly the unpack attention spreads over the M memory slots.
struct SlotUsage {
  // For each batch element and head, the attention mass per slot averaged over the real
  // queries, u [M] (sums to 1); then H(u) / ln M, averaged over batch and heads. 1 when M = 1.
  double normalized_entropy = 0;
  // exp(H(u)) averaged over batch and heads: the effective number of used slots, in [1, M].
  double effective_slots = 0;
  int64_t memory_len = 0;  // M
};

// Slot usage of the unpack attention probabilities [B, H, L, M] (input queries over memory
// slots). query_mask [B, L] bool, true = real query; padding queries are left out of the
// average; undefined = all real.
SlotUsage slot_usage(const at::Tensor& attention,         // [B, H, L, M]
                     const at::Tensor& query_mask = {});  // [B, L] bool

}  // namespace lunar::diag
