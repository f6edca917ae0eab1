// Memory-collapse measures: cosine similarity, distinct rows, effective rank, rank-collapse
// residual, and entropies of the pack and unpack attentions, all in float64 on the CPU.
#include "lunar/diag/memory_metrics.h"

#include <cmath>
#include <limits>
#include <vector>

#include "lunar/core/error.h"

namespace lunar::diag {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Detached float64 CPU copy: the measures are small reductions, and float64 keeps the SVD and
// the entropies of peaked distributions accurate whatever precision the model ran in.
at::Tensor to_cpu_double(const at::Tensor& tensor, const char* name) {
  check(tensor.defined(), "[diag] expected a defined {} tensor, got an undefined one", name);
  check(!tensor.is_complex(), "[diag] expected a real {} tensor, got {}", name,
        std::string(c10::toString(tensor.scalar_type())));
  return tensor.detach().to(at::kCPU, at::kDouble).contiguous();
}

// -sum p ln p over the last dimension, with 0 ln 0 = 0.
at::Tensor entropy_last_dim(const at::Tensor& probabilities) {
  const auto terms = at::where(probabilities > 0, probabilities * at::log(probabilities),
                               at::zeros_like(probabilities));
  return -terms.sum(-1);
}

// Mask [B, L] (any dtype; nonzero = real) as float64 on the CPU, checked against the attention.
at::Tensor checked_mask(const at::Tensor& mask, int64_t batch, int64_t length, const char* name,
                        const char* what) {
  check(mask.dim() == 2 && mask.size(0) == batch && mask.size(1) == length,
        "[diag] expected {} [B={}, L={}], got {}-D {}", name, batch, length, mask.dim(),
        std::string(c10::str(mask.sizes())));
  const auto real = mask.detach().to(at::kCPU).ne(0).to(at::kDouble);  // [B, L]
  const auto counts = real.sum(1);                                     // [B]
  check(counts.min().item<double>() >= 1, "[diag] expected at least one real {} per example in {}",
        what, name);
  return real;
}

// Greedy leader clustering of unit rows (Gram matrix [M, M]); see memory_metrics in the header.
int64_t count_distinct_rows(const at::Tensor& gram, double distinct_cosine) {
  const auto cosine = gram.accessor<double, 2>();
  const int64_t rows = gram.size(0);
  std::vector<int64_t> leaders;
  for (int64_t row = 0; row < rows; ++row) {
    bool merged = false;
    for (int64_t leader : leaders) {
      if (cosine[row][leader] >= distinct_cosine) {
        merged = true;
        break;
      }
    }
    if (!merged) leaders.push_back(row);
  }
  return static_cast<int64_t>(leaders.size());
}

MemoryMetrics metrics_of(const at::Tensor& memory, double distinct_cosine) {  // [M, D] float64
  MemoryMetrics result;
  const int64_t rows = memory.size(0);
  result.memory_len = rows;
  if (!memory.isfinite().all().item<bool>()) {
    result.mean_cosine = result.distinct_fraction = kNaN;
    result.effective_rank = result.collapse_residual = kNaN;
    return result;
  }

  // Unit rows; a zero row stays zero and so has cosine 0 with everything.
  const auto norms = memory.norm(2, {1}, /*keepdim=*/true);                      // [M, 1]
  const auto unit = memory / at::where(norms > 0, norms, at::ones_like(norms));  // [M, D]
  const auto gram = at::matmul(unit, unit.t());                                  // [M, M]
  if (rows == 1) {
    result.mean_cosine = 1.0;
  } else {
    const double off_diagonal = gram.sum().item<double>() - gram.diagonal().sum().item<double>();
    result.mean_cosine = off_diagonal / static_cast<double>(rows * (rows - 1));
  }
  result.distinct_rows = count_distinct_rows(gram, distinct_cosine);
  result.distinct_fraction = static_cast<double>(result.distinct_rows) / static_cast<double>(rows);

  const auto singular = at::linalg_svdvals(memory);  // [min(M, D)]
  const double total = singular.sum().item<double>();
  result.effective_rank =
      total > 0 ? std::exp(entropy_last_dim(singular / total).item<double>()) : 0.0;

  const double norm = memory.norm().item<double>();
  const auto centred = memory - memory.mean(0, /*keepdim=*/true);  // P - 1 p̄ᵀ
  result.collapse_residual = norm > 0 ? centred.norm().item<double>() / norm : 0.0;
  return result;
}

}  // namespace

MemoryMetrics memory_metrics(const at::Tensor& memory, double distinct_cosine) {
  check(memory.defined() && memory.dim() == 2, "[diag] expected memory [M, D], got {}-D",
        memory.defined() ? memory.dim() : 0);
  check(memory.size(0) >= 1 && memory.size(1) >= 1,
        "[diag] expected memory with M >= 1 and D >= 1, got [{}, {}]", memory.size(0),
        memory.size(1));
  return metrics_of(to_cpu_double(memory, "memory"), distinct_cosine);
}

BatchMemoryMetrics batch_memory_metrics(const at::Tensor& memory, double distinct_cosine) {
  check(memory.defined() && memory.dim() == 3, "[diag] expected memory [B, M, D], got {}-D",
        memory.defined() ? memory.dim() : 0);
  check(memory.size(0) >= 1 && memory.size(1) >= 1 && memory.size(2) >= 1,
        "[diag] expected memory with B, M, D >= 1, got {}", std::string(c10::str(memory.sizes())));
  const auto values = to_cpu_double(memory, "memory");  // [B, M, D]
  BatchMemoryMetrics result;
  result.batch_size = values.size(0);
  result.memory_len = values.size(1);
  for (int64_t b = 0; b < result.batch_size; ++b) {
    const auto one = metrics_of(values[b], distinct_cosine);
    result.mean_cosine += one.mean_cosine;
    result.distinct_fraction += one.distinct_fraction;
    result.effective_rank += one.effective_rank;
    result.collapse_residual += one.collapse_residual;
    result.distinct_rows += static_cast<double>(one.distinct_rows);
  }
  const double count = static_cast<double>(result.batch_size);
  result.mean_cosine /= count;
  result.distinct_fraction /= count;
  result.effective_rank /= count;
  result.collapse_residual /= count;
  result.distinct_rows /= count;
  return result;
}

AttentionEntropy attention_entropy(const at::Tensor& attention, const at::Tensor& key_mask) {
  check(attention.defined() && attention.dim() == 4,
        "[diag] expected pack attention [B, H, M, L], got {}-D",
        attention.defined() ? attention.dim() : 0);
  check(attention.numel() > 0, "[diag] expected a non-empty pack attention, got {}",
        std::string(c10::str(attention.sizes())));
  auto probabilities = to_cpu_double(attention, "pack attention");  // [B, H, M, L]
  const int64_t batch = probabilities.size(0);
  const int64_t length = probabilities.size(3);

  at::Tensor real_keys = at::full({batch}, static_cast<double>(length), at::kDouble);  // [B]
  if (key_mask.defined()) {
    const auto real = checked_mask(key_mask, batch, length, "key_mask", "key");  // [B, L]
    real_keys = real.sum(1);
    probabilities = probabilities * real.view({batch, 1, 1, length});
  }
  // Renormalise over the real keys: with masks off the model may put mass on padding.
  const auto totals = probabilities.sum(-1, /*keepdim=*/true);  // [B, H, M, 1]
  probabilities = probabilities / at::where(totals > 0, totals, at::ones_like(totals));

  const auto log_length = at::log(real_keys).view({batch, 1, 1});  // [B, 1, 1]
  const auto entropy = entropy_last_dim(probabilities);            // [B, H, M]
  // One real key: the only possible distribution, uniform over one choice.
  const auto normalized = at::where(log_length > 0, entropy / log_length.clamp_min(1e-300),
                                    at::ones_like(entropy));  // [B, H, M]

  AttentionEntropy result;
  result.mean = normalized.mean().item<double>();
  result.min = normalized.min().item<double>();
  result.max = normalized.max().item<double>();
  result.rows = normalized.numel();
  return result;
}

SlotUsage slot_usage(const at::Tensor& attention, const at::Tensor& query_mask) {
  check(attention.defined() && attention.dim() == 4,
        "[diag] expected unpack attention [B, H, L, M], got {}-D",
        attention.defined() ? attention.dim() : 0);
  check(attention.numel() > 0, "[diag] expected a non-empty unpack attention, got {}",
        std::string(c10::str(attention.sizes())));
  auto probabilities = to_cpu_double(attention, "unpack attention");  // [B, H, L, M]
  const int64_t batch = probabilities.size(0);
  const int64_t length = probabilities.size(2);
  const int64_t slots = probabilities.size(3);

  at::Tensor usage;  // [B, H, M]
  if (query_mask.defined()) {
    const auto real = checked_mask(query_mask, batch, length, "query_mask", "query");  // [B, L]
    usage =
        (probabilities * real.view({batch, 1, length, 1})).sum(2) / real.sum(1).view({batch, 1, 1});
  } else {
    usage = probabilities.mean(2);
  }
  const auto totals = usage.sum(-1, /*keepdim=*/true);  // [B, H, 1]
  usage = usage / at::where(totals > 0, totals, at::ones_like(totals));
  const auto entropy = entropy_last_dim(usage);  // [B, H]

  SlotUsage result;
  result.memory_len = slots;
  result.normalized_entropy =
      slots > 1 ? (entropy / std::log(static_cast<double>(slots))).mean().item<double>() : 1.0;
  result.effective_slots = at::exp(entropy).mean().item<double>();
  return result;
}

}  // namespace lunar::diag
