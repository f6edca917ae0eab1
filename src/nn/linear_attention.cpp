// Right-to-left linear attention kernels.
#include "lunar/nn/linear_attention.h"

#include "lunar/core/error.h"
#include "lunar/nn/dropout.h"

namespace lunar::nn {

namespace {
at::Tensor zero_padding(const at::Tensor& x, const at::Tensor& key_mask) {  // x [B, H, L, F]
  if (!key_mask.defined()) return x;
  check(key_mask.dim() == 2 && key_mask.size(0) == x.size(0) && key_mask.size(1) == x.size(2),
        "[attention] expected key_mask [B={}, L={}], got {}-D", x.size(0), x.size(2),
        key_mask.dim());
  return x.masked_fill(key_mask.logical_not().view({x.size(0), 1, x.size(2), 1}), 0);
}

at::ScalarType accumulation_type(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}
}  // namespace

at::Tensor normalized_linear_attention(const at::Tensor& phi_query, const at::Tensor& phi_key,
                                       const at::Tensor& value, const at::Tensor& key_mask) {
  check(phi_query.dim() == 4 && phi_key.dim() == 4 && value.dim() == 4,
        "[attention] expected 4-D φ(Q), φ(K), V [B, H, L, F]");
  check(phi_key.size(2) == value.size(2),
        "[attention] expected as many keys as values, got {} "
        "and {}",
        phi_key.size(2), value.size(2));
  const auto type = accumulation_type(value);
  const auto q = phi_query.to(type);
  const auto k = zero_padding(phi_key.to(type), key_mask);
  const auto context = at::matmul(k.transpose(-2, -1), value.to(type));  // [B, H, F, Dv]
  const auto normaliser = k.sum(2);                                      // [B, H, F]
  const auto numerator = at::matmul(q, context);                         // [B, H, Lq, Dv]
  const auto denominator = at::matmul(q, normaliser.unsqueeze(-1));      // [B, H, Lq, 1]
  return (numerator / denominator).to(value.scalar_type());
}

at::Tensor softmax_free_attention(const at::Tensor& query, const at::Tensor& key,
                                  const at::Tensor& value, const at::Tensor& key_mask,
                                  LengthNorm length_norm, double dropout, bool training) {
  const auto k = zero_padding(key, key_mask);
  const auto v = zero_padding(value, key_mask);
  auto context = at::matmul(k.transpose(-2, -1), v);  // [B, H, Dh, Dv]
  if (length_norm != LengthNorm::none) {
    // With a mask (masks on) N is each example's valid length; without one, the padded length.
    const auto length =
        key_mask.defined()
            ? key_mask.sum(1).to(context.scalar_type())
            : at::full({key.size(0)}, static_cast<double>(key.size(2)), context.options());
    context = context / length.sqrt().view({key.size(0), 1, 1, 1});
  }
  if (training && dropout > 0) context = nn::fast_dropout(context, dropout, true);
  return at::matmul(query, context);  // [B, H, Lq, Dv]
}

}  // namespace lunar::nn
