// Reference multi-head attention: plain matmul and softmax.
#include "lunar/nn/attention.h"

#include <limits>

#include "lunar/core/error.h"
#include "lunar/nn/dropout.h"

namespace lunar::nn {

AttentionResult scaled_attention(const at::Tensor& query, const at::Tensor& key,
                                 const at::Tensor& value, const at::Tensor& key_mask,
                                 const at::Tensor& divisor, double dropout, bool training) {
  check(query.dim() == 4 && key.dim() == 4 && value.dim() == 4,
        "[attention] expected 4-D query/key/value [B, H, L, Dh], got {}-D/{}-D/{}-D", query.dim(),
        key.dim(), value.dim());
  check(query.size(-1) == key.size(-1),
        "[attention] expected query and key head widths equal, "
        "got {} and {}",
        query.size(-1), key.size(-1));
  check(key.size(2) == value.size(2), "[attention] expected as many keys as values, got {} and {}",
        key.size(2), value.size(2));
  // Dividing the queries [B, H, Lq, Dh] rather than the logits [B, H, Lq, Lk] saves a pass over
  // the attention map and the copy autograd would keep of it when the divisor is learned.
  auto logits = at::matmul(query / divisor, key.transpose(-2, -1));  // [B, H, Lq, Lk]
  if (key_mask.defined()) {
    check(key_mask.dim() == 2 && key_mask.size(0) == key.size(0) && key_mask.size(1) == key.size(2),
          "[attention] expected key_mask [B={}, Lk={}], got {}-D [{}, {}]", key.size(0),
          key.size(2), key_mask.dim(), key_mask.size(0), key_mask.size(-1));
    const auto padding = key_mask.logical_not().unsqueeze(1).unsqueeze(2);  // [B, 1, 1, Lk]
    logits = logits.masked_fill(padding, -std::numeric_limits<float>::infinity());
  }
  auto weights = at::softmax(logits, -1);
  auto probabilities = weights;
  if (training && dropout > 0) probabilities = nn::fast_dropout(weights, dropout, true);
  return {at::matmul(probabilities, value), weights};
}

at::Tensor split_heads(const at::Tensor& x, int64_t num_heads) {
  check(x.dim() == 3 && x.size(2) % num_heads == 0,
        "[attention] expected [B, L, H·Dh] with width divisible by {} heads, got {}-D width {}",
        num_heads, x.dim(), x.size(-1));
  return x.view({x.size(0), x.size(1), num_heads, x.size(2) / num_heads}).transpose(1, 2);
}

at::Tensor merge_heads(const at::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

}  // namespace lunar::nn
