// Luna's nested attention (Ma et al. 2021, eq. 4-5) and its variants from Yorsh et al. 2024:
//   pack:   Yp = Att(P, F(X))   memory queries the (filtered) input     [B, M, D]
//   unpack: Yx = Att(X, Yp)     input queries the packed memory         [B, L, D]
// One attention kernel called twice. Variants are options, not classes:
//   shared = true:  one set of projections serves pack and unpack (the research's Luna and
//                   the simplified ConvLuna, which also drops W_v);
//   shared = false: separate pack and unpack projections (official Luna: the pack projects
//                   only its queries; full ConvLuna: both have W_q, W_k, W_v, W_o).
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "lunar/nn/attention.h"
#include "lunar/nn/filter.h"
#include "lunar/nn/projections.h"
#include "lunar/nn/temperature.h"

namespace lunar::nn {

struct ProjectionSet {
  bool query = true, key = true, value = true, output = true;
};

struct PackUnpackOptions {
  PackUnpackOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, attention_dim) = 0;  // 0 = dim
  TORCH_ARG(bool, shared) = true;
  TORCH_ARG(ProjectionSet, pack_projections) = ProjectionSet{};
  TORCH_ARG(ProjectionSet, unpack_projections) = ProjectionSet{};  // ignored when shared
  TORCH_ARG(FilterKind, filter) = FilterKind::conv;                // with kernel 1: no filtering
  TORCH_ARG(int64_t, kernel) = 1;
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(TemperatureMode, pack_temperature) = TemperatureMode::sqrt;
  TORCH_ARG(TemperatureMode, unpack_temperature) = TemperatureMode::sqrt;
  TORCH_ARG(double, dropout) = 0.0;  // on attention probabilities
  // > 0: while gradients are recorded, compute this many query rows at a time and recompute
  // the attention maps in backward (chunked_attention); the results then carry no weights.
  TORCH_ARG(int64_t, chunk) = 0;
  // true: on CPU, fused_attention (no attention map kept; takes precedence over chunk) while
  // gradients are recorded or an AttentionWeightsUnused guard is alive; the results then carry
  // no weights.
  TORCH_ARG(bool, fused) = false;
};

struct PackResult {
  at::Tensor packed;   // Yp [B, M, D]
  at::Tensor weights;  // [B, H, M, L'] pack attention (L' = filtered length); undefined if chunked
  at::Tensor mask;     // [B, L'] real filtered positions, undefined without a mask
};

struct UnpackResult {
  at::Tensor sequence;  // Yx [B, L, D]
  at::Tensor weights;   // [B, H, L, M] unpack attention; undefined if chunked
};

// While alive, this thread's forward passes need no attention weights (evaluation,
// prediction): PackUnpack with `fused` then takes the fused kernel without gradients too.
// Diagnostics, which read the weights, run without it. Guards nest.
class AttentionWeightsUnused {
 public:
  AttentionWeightsUnused();
  ~AttentionWeightsUnused();
  AttentionWeightsUnused(const AttentionWeightsUnused&) = delete;
  AttentionWeightsUnused& operator=(const AttentionWeightsUnused&) = delete;

  static bool active();  // whether a guard is alive on this thread
};

class PackUnpackImpl : public torch::nn::Cloneable<PackUnpackImpl> {
 public:
  explicit PackUnpackImpl(PackUnpackOptions options);
  void reset() override;

  // memory [B, M, D] (queries), x [B, L, D] (keys/values), key_mask [B, L] or undefined.
  PackResult pack(const at::Tensor& memory, const at::Tensor& x, const at::Tensor& key_mask);
  // x [B, L, D] (queries), packed [B, M, D] (keys/values, never masked).
  UnpackResult unpack(const at::Tensor& x, const at::Tensor& packed);

  PackUnpackOptions options;
  AttentionProjections pack_attention{nullptr};
  AttentionProjections unpack_attention{nullptr};  // the same module as pack_attention if shared
  SequenceFilter filter{nullptr};
  Temperature pack_temperature{nullptr}, unpack_temperature{nullptr};

 private:
  // The attention kernel both directions use: chunked when options.chunk() asks for it.
  AttentionResult attend(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                         const at::Tensor& key_mask, const at::Tensor& divisor) const;
};
TORCH_MODULE(PackUnpack);

}  // namespace lunar::nn
