// ConvLuna's filter on the packing keys and values (Yorsh et al. 2024, §3): a depthwise
// convolution per head or a max-pool, along the sequence axis.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "lunar/nn/choices.h"

namespace lunar::nn {

struct SequenceFilterOptions {
  SequenceFilterOptions(FilterKind kind, int64_t num_heads, int64_t kernel, int64_t stride)
      : kind_(kind), num_heads_(num_heads), kernel_(kernel), stride_(stride) {}
  // conv: one k-tap filter per head shared by the head's features, no bias, init U(±1/√k);
  //       for s = 1 'same' zero padding (⌊(k−1)/2⌋ left, the rest right), output length L;
  //       for s > 1 no padding, output length ⌊(L−k)/s⌋+1 (the authors' ConvLunaBlock pads
  //       only for stride 1).
  // maxpool: window k, stride s, no padding, output length ⌊(L−k)/s⌋+1.
  // k = 1 is the identity for both kinds and every stride (no parameters), as in the authors'
  // ConvAttention.
  TORCH_ARG(FilterKind, kind);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, kernel);
  TORCH_ARG(int64_t, stride);
};

struct FilterResult {
  at::Tensor values;  // [B, H, L', Dh]
  at::Tensor mask;    // [B, L'] bool (true = real), undefined when the input mask was
};

class SequenceFilterImpl : public torch::nn::Cloneable<SequenceFilterImpl> {
 public:
  explicit SequenceFilterImpl(SequenceFilterOptions options);
  void reset() override;

  // x [B, H, L, Dh]; mask [B, L] bool or undefined. Padded positions are zeroed first.
  // Output positions are real when: conv with s = 1, the input position t is real; otherwise
  // the whole window is real (so appending padding never changes a real output; the first
  // window stays real so that no row is fully masked).
  FilterResult forward(const at::Tensor& x, const at::Tensor& mask) const;
  int64_t output_length(int64_t length) const;
  bool is_identity() const;
  bool pads() const;  // 'same' padding: conv with stride 1

  SequenceFilterOptions options;
  at::Tensor weight;  // [H, k] (conv only)
};
TORCH_MODULE(SequenceFilter);

// The conv filter's convolution: x [B, H, L, Dh], weight [H, k] ->
// y [B, H, out_length, Dh] with y[b, h, o, :] = Σ_j weight[h, j] · x[b, h, o·stride + j − left, :]
// (zero outside [0, L)): LibTorch's conv1d with one group per (head, feature) channel after
// `left` zeros of padding. The result has x's dtype (the weight is cast to it; under autocast
// both take the autocast dtype, as conv1d does): sums in float (double for double) rounded
// once. On CPU a kernel of its own with an autograd backward, on AVX-512 in fp32 and bf16 where
// the CPU has it (`avx512 = false` takes the portable kernel on any CPU; the tests compare the
// two); elsewhere conv1d.
at::Tensor sequence_conv(const at::Tensor& x, const at::Tensor& weight, int64_t stride,
                         int64_t left, int64_t out_length, bool avx512 = true);

}  // namespace lunar::nn
