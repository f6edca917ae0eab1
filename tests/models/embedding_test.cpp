// The input embedding: the authors' initialisations, pixel normalisation and the pixel and token
// formulas by hand.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/models/embedding.h"
#include "support/tensor_compare.h"

namespace {

using namespace lunar::models;

// The authors' initialisations: TEmbedding's CLS is xavier-uniform on [1, 1, d] (bound
// √(3/d)); IEmbedding's w ~ N(0, 1), b ~ N(0, 0.1) and CLS ~ N(0, 1); positions 0.
TEST(Embedding, InitialisationsFollowTheAuthors) {
  constexpr int64_t kDim = 4096;  // enough draws for the sample moments to be tight
  InputConfig tokens;
  tokens.vocab_size = 5;
  tokens.max_length = 4;
  torch::manual_seed(41);
  InputEmbedding token_embedding(tokens, kDim);
  const double bound = std::sqrt(3.0 / kDim);
  const auto& cls = token_embedding->cls;
  EXPECT_LE(cls.abs().max().item<double>(), bound);
  EXPECT_GT(cls.abs().max().item<double>(), 0.95 * bound);
  EXPECT_NEAR(cls.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);  // U(±a): a/√3

  InputConfig pixels;
  pixels.embedding = Embedding::pixel;
  pixels.max_length = 4;
  InputEmbedding pixel_embedding(pixels, kDim);
  EXPECT_NEAR(pixel_embedding->pixels->weight.std().item<double>(), 1.0, 0.05);
  EXPECT_NEAR(pixel_embedding->pixels->bias.std().item<double>(), 0.1, 0.005);
  EXPECT_NEAR(pixel_embedding->cls.std().item<double>(), 1.0, 0.05);
  EXPECT_NEAR(pixel_embedding->pixels->weight.mean().item<double>(), 0.0, 0.05);
  EXPECT_EQ(pixel_embedding->positions.abs().max().item<double>(), 0.0);
}

// Pathfinder's constants, (p/255 − 0.5)/0.5: p = 0 → −1, p = 255 → 1, p = 51 → −0.6.
TEST(Embedding, PixelNormalisationComesFromTheInputConfig) {
  InputConfig input;
  input.embedding = Embedding::pixel;
  input.max_length = 3;
  input.pixel_mean = 0.5;
  input.pixel_std = 0.5;
  InputEmbedding embedding(input, 1);
  embedding->to(at::kDouble);
  {
    at::NoGradGuard no_grad;
    embedding->pixels->weight.fill_(1.0);
    embedding->pixels->bias.zero_();
  }
  const auto out =
      embedding->forward(at::tensor({0, 255, 51}, at::kLong).view({1, 3}), at::Tensor());
  EXPECT_TENSORS_CLOSE(out.x.slice(1, 1).flatten(), at::tensor({-1.0, 1.0, -0.6}, at::kDouble),
                       1e-12, 1e-12);
}

TEST(Embedding, PixelFormulaByHand) {
  InputConfig input;
  input.embedding = Embedding::pixel;
  input.max_length = 4;
  InputEmbedding embedding(input, 2);
  embedding->to(at::kDouble);
  {
    at::NoGradGuard no_grad;
    embedding->pixels->weight.copy_(at::tensor({2.0, -1.0}).view({2, 1}));
    embedding->pixels->bias.copy_(at::tensor({0.5, 0.25}));
    embedding->positions.copy_(at::tensor({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}).view({4, 2}));
    embedding->cls.copy_(at::tensor({7.0, 8.0}));
  }
  const auto out =
      embedding->forward(at::tensor({0, 255, 51}, at::kLong).view({1, 3}), at::Tensor());
  // x̂ = (p/255 − 0.48)/0.24: p = 0 → −2, p = 255 → 13/6, p = 51 → −7/6; e = x̂·w + b + pos.
  const auto expected = at::tensor({7.0, 8.0,                                          // CLS
                                    -2.0 * 2 + 0.5 + 0.1, 2.0 + 0.25 + 0.2,            //
                                    13.0 / 6 * 2 + 0.5 + 0.3, -13.0 / 6 + 0.25 + 0.4,  //
                                    -7.0 / 6 * 2 + 0.5 + 0.5, 7.0 / 6 + 0.25 + 0.6},
                                   at::kDouble)
                            .view({1, 4, 2});
  EXPECT_TENSORS_CLOSE(out.x, expected, 1e-12, 1e-12);
  EXPECT_FALSE(out.mask.defined());
}

TEST(Embedding, TokensPlusPositionsAfterCls) {
  InputConfig input;
  input.vocab_size = 5;
  input.max_length = 4;
  torch::manual_seed(45);
  InputEmbedding embedding(input, 3);
  embedding->to(at::kDouble);
  EXPECT_EQ(embedding->positions.abs().max().item<double>(), 0.0);          // init 0
  EXPECT_EQ(embedding->tokens->weight[0].abs().max().item<double>(), 0.0);  // padding id 0
  {
    at::NoGradGuard no_grad;
    embedding->positions.copy_(at::randn({4, 3}, at::kDouble));
  }
  const auto ids = at::tensor({3, 1, 0, 4, 2, 2}, at::kLong).view({2, 3});
  const auto mask = at::tensor({1, 1, 0, 1, 1, 1}, at::kLong).to(at::kBool).view({2, 3});
  const auto out = embedding->forward(ids, mask);
  ASSERT_EQ(out.x.sizes(), (std::vector<int64_t>{2, 4, 3}));
  const auto& table = embedding->tokens->weight;
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_TENSORS_CLOSE(out.x[b][0], embedding->cls, 0.0, 0.0);
    for (int64_t i = 0; i < 3; ++i) {
      EXPECT_TENSORS_CLOSE(out.x[b][i + 1],
                           table[ids[b][i].item<int64_t>()] + embedding->positions[i], 1e-15,
                           1e-15);
    }
  }
  EXPECT_TRUE(
      out.mask.equal(at::tensor({1, 1, 1, 0, 1, 1, 1, 1}, at::kLong).to(at::kBool).view({2, 4})));
  EXPECT_THROW(embedding->forward(at::ones({1, 5}, at::kLong), at::Tensor()), lunar::Error);
}

}  // namespace
