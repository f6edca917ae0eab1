// The sibling families' kernels against their explicit quadratic forms, forward and backward,
// and the feature map's contract.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lunar/nn/feature_map.h"
#include "lunar/nn/linear_attention.h"
#include "support/tensor_compare.h"

using namespace lunar;

namespace {

// normalise(φ(Q) φ(K)ᵀ) V with padding keys excluded: the N×N form the kernel must never build.
at::Tensor quadratic_normalized(const at::Tensor& pq, const at::Tensor& pk, const at::Tensor& v,
                                const at::Tensor& mask) {
  auto scores = at::matmul(pq, pk.transpose(-2, -1));  // [B, H, Lq, Lk]
  if (mask.defined()) scores = scores * mask.view({mask.size(0), 1, 1, mask.size(1)});
  return at::matmul(scores / scores.sum(-1, true), v);
}

// (Q Kᵀ / √N) V, N the valid length under a mask.
at::Tensor quadratic_simpletron(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& mask) {
  auto scores = at::matmul(q, k.transpose(-2, -1));
  auto n = at::full({q.size(0)}, static_cast<double>(k.size(2)), q.options());
  if (mask.defined()) {
    scores = scores * mask.view({mask.size(0), 1, 1, mask.size(1)});
    n = mask.sum(1).to(q.scalar_type());
  }
  return at::matmul(scores / n.sqrt().view({-1, 1, 1, 1}), v);
}

at::Tensor lengths_mask(std::vector<int64_t> lengths, int64_t padded) {
  auto mask = at::zeros({static_cast<int64_t>(lengths.size()), padded}, at::kBool);
  for (size_t b = 0; b < lengths.size(); ++b) mask[b].slice(0, 0, lengths[b]).fill_(true);
  return mask;
}

std::vector<at::Tensor> grads_of(const at::Tensor& out, const std::vector<at::Tensor>& inputs,
                                 const at::Tensor& weight) {
  return torch::autograd::grad({(out * weight).sum()}, inputs);
}

}  // namespace

TEST(NormalizedLinearAttention, EqualsTheQuadraticFormForwardAndBackward) {
  at::manual_seed(1);
  const auto pq = (at::rand({2, 3, 5, 4}, at::kDouble) + 0.1).requires_grad_();
  const auto pk = (at::rand({2, 3, 7, 4}, at::kDouble) + 0.1).requires_grad_();
  const auto v = at::randn({2, 3, 7, 6}, at::kDouble).requires_grad_();
  for (const auto& mask : {at::Tensor(), lengths_mask({7, 4}, 7)}) {
    const auto fast = nn::normalized_linear_attention(pq, pk, v, mask);
    const auto slow = quadratic_normalized(pq, pk, v, mask);
    EXPECT_TENSORS_CLOSE(fast, slow, 1e-10, 1e-12);
    const auto weight = at::randn_like(slow);
    const auto gf = grads_of(fast, {pq, pk, v}, weight), gs = grads_of(slow, {pq, pk, v}, weight);
    for (size_t i = 0; i < gf.size(); ++i) EXPECT_TENSORS_CLOSE(gf[i], gs[i], 1e-9, 1e-11);
  }
}

TEST(NormalizedLinearAttention, AccumulatesLowPrecisionInputsInFloat32) {
  at::manual_seed(2);
  const auto pq = at::rand({1, 2, 4, 4}) + 0.1, pk = at::rand({1, 2, 300, 4}) + 0.1;
  const auto v = at::randn({1, 2, 300, 4});
  const auto reference = nn::normalized_linear_attention(pq, pk, v, {});
  const auto low = nn::normalized_linear_attention(pq.to(at::kBFloat16), pk.to(at::kBFloat16),
                                                   v.to(at::kBFloat16), {});
  EXPECT_EQ(low.scalar_type(), at::kBFloat16);
  EXPECT_TENSORS_CLOSE(low.to(at::kFloat), reference, 3e-2, 3e-2);
}

TEST(SoftmaxFreeAttention, EqualsTheQuadraticFormForwardAndBackward) {
  at::manual_seed(3);
  const auto q = at::randn({2, 2, 5, 4}, at::kDouble).requires_grad_();
  const auto k = at::randn({2, 2, 6, 4}, at::kDouble).requires_grad_();
  const auto v = at::randn({2, 2, 6, 3}, at::kDouble).requires_grad_();
  for (const auto& mask : {at::Tensor(), lengths_mask({6, 2}, 6)}) {
    const auto fast = nn::softmax_free_attention(q, k, v, mask, nn::LengthNorm::padded, 0.0, false);
    const auto slow = quadratic_simpletron(q, k, v, mask);
    EXPECT_TENSORS_CLOSE(fast, slow, 1e-10, 1e-12);
    const auto weight = at::randn_like(slow);
    const auto gf = grads_of(fast, {q, k, v}, weight), gs = grads_of(slow, {q, k, v}, weight);
    for (size_t i = 0; i < gf.size(); ++i) EXPECT_TENSORS_CLOSE(gf[i], gs[i], 1e-9, 1e-11);
  }
  // none: N = 1
  EXPECT_TENSORS_CLOSE(nn::softmax_free_attention(q, k, v, {}, nn::LengthNorm::none, 0.0, false),
                       at::matmul(at::matmul(q, k.transpose(-2, -1)), v), 1e-10, 1e-12);
}

TEST(FeatureMap, IsStrictlyPositiveForEveryVariant) {
  at::manual_seed(4);
  for (const auto& kind : lunar::names<nn::FeatureMapKind>()) {
    nn::FeatureMap phi(nn::FeatureMapOptions(lunar::parse<nn::FeatureMapKind>(kind, "kind"), 2, 8));
    const auto x = at::randn({3, 2, 11, 8}) * 3;
    const auto y = phi->forward(x);
    EXPECT_EQ(y.sizes(), x.sizes()) << kind;
    EXPECT_GT(y.min().item<double>(), 0.0) << kind;
  }
}

TEST(FeatureMap, LayersAndGatesPerVariant) {
  auto names = [](nn::FeatureMapKind kind) {
    nn::FeatureMap phi(nn::FeatureMapOptions(kind, 2, 8));
    std::vector<std::string> out;
    for (const auto& p : phi->named_parameters()) out.push_back(p.key());
    return out;
  };
  EXPECT_EQ(names(nn::FeatureMapKind::softplus), std::vector<std::string>{"layer0_output"});
  EXPECT_EQ(names(nn::FeatureMapKind::gated1),
            (std::vector<std::string>{"layer0_output", "layer0_gate"}));
  EXPECT_EQ(names(nn::FeatureMapKind::gated2).size(), 4u);
  EXPECT_EQ(names(nn::FeatureMapKind::gated3).size(), 9u);  // three layers: output, gates
  nn::FeatureMap low(nn::FeatureMapOptions(nn::FeatureMapKind::gated3, 2, 8));
  EXPECT_EQ(low->gates_down[0].sizes(), (at::IntArrayRef{2, 8, 2}));  // rank d_h / 4
}

TEST(FeatureMap, OrthogonalInitialisationHasZeroPenalty) {
  nn::FeatureMap phi(nn::FeatureMapOptions(nn::FeatureMapKind::gated2, 3, 8));
  EXPECT_NEAR(phi->orthogonality().item<double>(), 0.0, 1e-10);
  {
    at::NoGradGuard no_grad;
    phi->outputs[0].mul_(2.0);  // W Wᵀ = 4 I: deviation 9 on the diagonal, mean 9/8 per layer
  }
  EXPECT_NEAR(phi->orthogonality().item<double>(), (9.0 / 8.0) / 2.0, 1e-5);
}
