// Memory-collapse measures on constructed matrices and attentions whose answers are known by hand.
#include "lunar/diag/memory_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lunar/core/error.h"

namespace {

using lunar::diag::attention_entropy;
using lunar::diag::batch_memory_metrics;
using lunar::diag::memory_metrics;
using lunar::diag::slot_usage;

constexpr double kTolerance = 1e-9;

at::Tensor matrix(std::initializer_list<std::initializer_list<double>> rows) {
  std::vector<double> values;
  int64_t columns = 0;
  for (const auto& row : rows) {
    columns = static_cast<int64_t>(row.size());
    values.insert(values.end(), row.begin(), row.end());
  }
  return at::tensor(values, at::kDouble).view({static_cast<int64_t>(rows.size()), columns});
}

// Rows of a random orthogonal matrix: [M, D] with orthonormal rows, M <= D.
at::Tensor orthonormal_rows(int64_t rows, int64_t columns, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto gaussian = at::randn({columns, columns}, generator, at::kDouble);
  const auto q = std::get<0>(at::linalg_qr(gaussian));  // [D, D] orthogonal
  return q.slice(0, 0, rows).contiguous();
}

TEST(MemoryMetrics, IdenticalRowsAreFullyCollapsed) {
  const auto row = at::arange(1, 9, at::kDouble).view({1, 8});
  const auto metrics = memory_metrics(row.repeat({16, 1}));  // [16, 8]
  EXPECT_NEAR(metrics.mean_cosine, 1.0, kTolerance);
  EXPECT_EQ(metrics.distinct_rows, 1);
  EXPECT_EQ(metrics.memory_len, 16);
  EXPECT_NEAR(metrics.distinct_fraction, 1.0 / 16, kTolerance);
  EXPECT_NEAR(metrics.effective_rank, 1.0, 1e-6);
  EXPECT_NEAR(metrics.collapse_residual, 0.0, kTolerance);
}

TEST(MemoryMetrics, OrthonormalRowsAreFullyDistinct) {
  const auto metrics = memory_metrics(orthonormal_rows(8, 32, 7));
  EXPECT_NEAR(metrics.mean_cosine, 0.0, 1e-9);
  EXPECT_EQ(metrics.distinct_rows, 8);
  EXPECT_NEAR(metrics.distinct_fraction, 1.0, kTolerance);
  EXPECT_NEAR(metrics.effective_rank, 8.0, 1e-9);
  // The mean row of M orthonormal rows has norm 1/sqrt(M): residual sqrt(1 - 1/M).
  EXPECT_NEAR(metrics.collapse_residual, std::sqrt(1.0 - 1.0 / 8), 1e-9);
}

TEST(MemoryMetrics, HandWorkedThreeByTwo) {
  const auto metrics = memory_metrics(matrix({{1, 0}, {0, 1}, {1, 1}}));
  // Pair cosines 0, 1/sqrt2, 1/sqrt2; each pair counts twice over 3*2 ordered pairs.
  EXPECT_NEAR(metrics.mean_cosine, std::sqrt(2.0) / 3.0, kTolerance);
  EXPECT_EQ(metrics.distinct_rows, 3);
  // PᵀP = [[2, 1], [1, 2]] has eigenvalues 3 and 1: singular values sqrt3 and 1.
  const double p1 = std::sqrt(3.0) / (std::sqrt(3.0) + 1.0);
  const double p2 = 1.0 / (std::sqrt(3.0) + 1.0);
  EXPECT_NEAR(metrics.effective_rank, std::exp(-(p1 * std::log(p1) + p2 * std::log(p2))), 1e-12);
  // Mean row (2/3, 2/3); ||P - 1 p̄ᵀ||² = 4/3 and ||P||² = 4.
  EXPECT_NEAR(metrics.collapse_residual, std::sqrt(1.0 / 3.0), kTolerance);
}

TEST(MemoryMetrics, HandWorkedTwoByTwo) {
  const auto metrics = memory_metrics(matrix({{3, 0}, {0, 1}}));
  EXPECT_NEAR(metrics.mean_cosine, 0.0, kTolerance);
  EXPECT_EQ(metrics.distinct_rows, 2);
  EXPECT_NEAR(metrics.effective_rank, std::exp(-(0.75 * std::log(0.75) + 0.25 * std::log(0.25))),
              1e-12);
  // Mean row (1.5, 0.5): centred rows (1.5, -0.5), (-1.5, 0.5); squared norm 5 over 10.
  EXPECT_NEAR(metrics.collapse_residual, std::sqrt(0.5), kTolerance);
}

TEST(MemoryMetrics, TwoClustersGiveTwoDistinctRows) {
  const auto metrics = memory_metrics(matrix({{1, 0}, {0, 1}, {1, 0.01}, {0.01, 1}, {2, 0}}));
  EXPECT_EQ(metrics.distinct_rows, 2);
  EXPECT_NEAR(metrics.distinct_fraction, 0.4, kTolerance);
}

TEST(MemoryMetrics, GreedyClusteringDoesNotChain) {
  // Rows 5 degrees apart: neighbours merge (cos 5° > 0.99) but rows 10 degrees apart do not
  // (cos 10° < 0.99). Leaders are 0°, 10° and 20°; connected components would give 1.
  std::vector<double> values;
  for (int i = 0; i < 5; ++i) {
    const double angle = i * 5.0 * M_PI / 180.0;
    values.push_back(std::cos(angle));
    values.push_back(std::sin(angle));
  }
  const auto metrics = memory_metrics(at::tensor(values, at::kDouble).view({5, 2}));
  EXPECT_EQ(metrics.distinct_rows, 3);
}

TEST(MemoryMetrics, ThresholdIsAParameter) {
  const auto memory = matrix({{1, 0}, {1, 1}});  // cosine 1/sqrt2
  EXPECT_EQ(memory_metrics(memory).distinct_rows, 2);
  EXPECT_EQ(memory_metrics(memory, 0.7).distinct_rows, 1);
}

TEST(MemoryMetrics, SingleRowIsCollapsedByDefinition) {
  const auto metrics = memory_metrics(matrix({{0.5, -2, 1}}));
  EXPECT_EQ(metrics.memory_len, 1);
  EXPECT_DOUBLE_EQ(metrics.mean_cosine, 1.0);
  EXPECT_EQ(metrics.distinct_rows, 1);
  EXPECT_DOUBLE_EQ(metrics.distinct_fraction, 1.0);
  EXPECT_NEAR(metrics.effective_rank, 1.0, kTolerance);
  EXPECT_NEAR(metrics.collapse_residual, 0.0, kTolerance);
}

TEST(MemoryMetrics, ZeroMatrixAndZeroRows) {
  const auto zero = memory_metrics(at::zeros({3, 4}));
  EXPECT_DOUBLE_EQ(zero.mean_cosine, 0.0);
  EXPECT_DOUBLE_EQ(zero.effective_rank, 0.0);
  EXPECT_DOUBLE_EQ(zero.collapse_residual, 0.0);
  EXPECT_EQ(zero.distinct_rows, 3);
  // A zero row next to two equal rows: cosines 1 (the pair), 0, 0.
  const auto mixed = memory_metrics(matrix({{1, 1}, {0, 0}, {1, 1}}));
  EXPECT_NEAR(mixed.mean_cosine, 2.0 / 6.0, kTolerance);
  EXPECT_EQ(mixed.distinct_rows, 2);
}

TEST(MemoryMetrics, NonFiniteMemoryGivesNaNNotAnError) {
  auto memory = at::ones({2, 3});
  memory[0][1] = std::nan("");
  const auto metrics = memory_metrics(memory);
  EXPECT_TRUE(std::isnan(metrics.mean_cosine));
  EXPECT_TRUE(std::isnan(metrics.effective_rank));
  EXPECT_TRUE(std::isnan(metrics.collapse_residual));
  EXPECT_TRUE(std::isnan(metrics.distinct_fraction));
  EXPECT_EQ(metrics.distinct_rows, 0);
}

TEST(MemoryMetrics, AnyFloatingDtypeAgreesWithDouble) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto memory = at::randn({6, 10}, generator, at::kDouble);
  const auto reference = memory_metrics(memory);
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    const double tolerance = dtype == at::kFloat ? 1e-6 : 2e-2;
    const auto metrics = memory_metrics(memory.to(dtype));
    EXPECT_NEAR(metrics.mean_cosine, reference.mean_cosine, tolerance) << dtype;
    EXPECT_NEAR(metrics.effective_rank, reference.effective_rank, tolerance * 6) << dtype;
    EXPECT_NEAR(metrics.collapse_residual, reference.collapse_residual, tolerance) << dtype;
    EXPECT_EQ(metrics.distinct_rows, reference.distinct_rows) << dtype;
  }
}

TEST(MemoryMetrics, RequiresGradInputIsFine) {
  const auto memory = at::randn({4, 5}).requires_grad_(true);
  EXPECT_EQ(memory_metrics(memory).memory_len, 4);
}

TEST(MemoryMetrics, RejectsWrongShapes) {
  EXPECT_THROW(memory_metrics(at::ones({2, 3, 4})), lunar::Error);
  EXPECT_THROW(memory_metrics(at::ones({0, 4})), lunar::Error);
  EXPECT_THROW(memory_metrics(at::Tensor()), lunar::Error);
  try {
    memory_metrics(at::ones({4}));
    FAIL() << "no error";
  } catch (const lunar::Error& error) {
    EXPECT_STREQ(error.what(), "[diag] expected memory [M, D], got 1-D");
  }
}

TEST(BatchMemoryMetrics, AveragesOverTheBatch) {
  const auto collapsed = at::ones({4, 8}, at::kDouble);                       // [M, D]
  const auto spread = orthonormal_rows(4, 8, 11);                             // [M, D]
  const auto metrics = batch_memory_metrics(at::stack({collapsed, spread}));  // [2, 4, 8]
  EXPECT_EQ(metrics.batch_size, 2);
  EXPECT_EQ(metrics.memory_len, 4);
  EXPECT_NEAR(metrics.mean_cosine, 0.5, 1e-9);
  EXPECT_NEAR(metrics.distinct_rows, 2.5, kTolerance);
  EXPECT_NEAR(metrics.distinct_fraction, (0.25 + 1.0) / 2, kTolerance);
  EXPECT_NEAR(metrics.effective_rank, 2.5, 1e-6);
  EXPECT_NEAR(metrics.collapse_residual, std::sqrt(1.0 - 0.25) / 2, 1e-9);
  EXPECT_THROW(batch_memory_metrics(collapsed), lunar::Error);
}

TEST(BatchMemoryMetrics, MatchesOneAtATime) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto memory = at::randn({3, 5, 7}, generator, at::kFloat);  // [B, M, D]
  const auto batched = batch_memory_metrics(memory);
  double cosine = 0, rank = 0;
  for (int64_t b = 0; b < 3; ++b) {
    cosine += memory_metrics(memory[b]).mean_cosine / 3;
    rank += memory_metrics(memory[b]).effective_rank / 3;
  }
  EXPECT_NEAR(batched.mean_cosine, cosine, 1e-12);
  EXPECT_NEAR(batched.effective_rank, rank, 1e-12);
}

TEST(AttentionEntropy, UniformIsOneAndOneHotIsZero) {
  const auto uniform = at::full({2, 3, 4, 5}, 0.2);  // [B, H, M, L]
  const auto flat = attention_entropy(uniform);
  EXPECT_NEAR(flat.mean, 1.0, kTolerance);
  EXPECT_NEAR(flat.min, 1.0, kTolerance);
  EXPECT_EQ(flat.rows, 2 * 3 * 4);
  auto one_hot = at::zeros({2, 3, 4, 5});
  one_hot.select(3, 2).fill_(1.0);
  const auto peaked = attention_entropy(one_hot);
  EXPECT_NEAR(peaked.mean, 0.0, kTolerance);
  EXPECT_NEAR(peaked.max, 0.0, kTolerance);
}

TEST(AttentionEntropy, HandWorkedRows) {
  // Rows (1/2, 1/2, 0) -> ln2/ln3 and (1, 0, 0) -> 0.
  const auto attention = matrix({{0.5, 0.5, 0.0}, {1.0, 0.0, 0.0}}).view({1, 1, 2, 3});
  const auto entropy = attention_entropy(attention);
  EXPECT_NEAR(entropy.mean, std::log(2.0) / std::log(3.0) / 2, kTolerance);
  EXPECT_NEAR(entropy.min, 0.0, kTolerance);
  EXPECT_NEAR(entropy.max, std::log(2.0) / std::log(3.0), kTolerance);
}

TEST(AttentionEntropy, PaddingIsExcluded) {
  // Example 0 has 2 real keys of 4, example 1 has 4. Uniform over the real keys is 1 whether
  // the model masked the padding (rows 0) or spread mass onto it (rows 1, renormalised).
  auto attention = at::zeros({2, 1, 2, 4}, at::kDouble);  // [B, H, M, L]
  attention[0][0][0] = at::tensor({0.5, 0.5, 0.0, 0.0}, at::kDouble);
  attention[0][0][1] = at::tensor({0.25, 0.25, 0.25, 0.25}, at::kDouble);
  attention[1][0][0] = at::tensor({0.25, 0.25, 0.25, 0.25}, at::kDouble);
  attention[1][0][1] = at::tensor({0.25, 0.25, 0.25, 0.25}, at::kDouble);
  const auto mask = at::tensor({1, 1, 0, 0, 1, 1, 1, 1}).ne(0).view({2, 4});  // [B, L]
  EXPECT_NEAR(attention_entropy(attention, mask).mean, 1.0, kTolerance);
  // Without the mask, the first row of example 0 uses 2 keys of 4: ln2/ln4 = 1/2.
  EXPECT_NEAR(attention_entropy(attention).min, 0.5, kTolerance);
}

TEST(AttentionEntropy, SingleRealKeyCountsAsUniform) {
  const auto attention = at::ones({1, 1, 3, 1});
  EXPECT_NEAR(attention_entropy(attention).mean, 1.0, kTolerance);
}

TEST(AttentionEntropy, RejectsBadMasksAndShapes) {
  const auto attention = at::full({2, 1, 3, 4}, 0.25);
  EXPECT_THROW(attention_entropy(attention, at::ones({2, 5}, at::kBool)), lunar::Error);
  EXPECT_THROW(attention_entropy(attention.view({2, 3, 4})), lunar::Error);
  auto empty_example = at::ones({2, 4}, at::kBool);
  empty_example[1].fill_(false);
  EXPECT_THROW(attention_entropy(attention, empty_example), lunar::Error);
}

TEST(SlotUsage, UniformAndSingleSlot) {
  const auto uniform = slot_usage(at::full({2, 2, 5, 4}, 0.25));  // [B, H, L, M]
  EXPECT_NEAR(uniform.normalized_entropy, 1.0, kTolerance);
  EXPECT_NEAR(uniform.effective_slots, 4.0, kTolerance);
  EXPECT_EQ(uniform.memory_len, 4);
  auto first = at::zeros({2, 2, 5, 4});
  first.select(3, 0).fill_(1.0);
  const auto single = slot_usage(first);
  EXPECT_NEAR(single.normalized_entropy, 0.0, kTolerance);
  EXPECT_NEAR(single.effective_slots, 1.0, kTolerance);
}

TEST(SlotUsage, HandWorkedQueries) {
  // Each query is one-hot, yet together they use both slots evenly.
  EXPECT_NEAR(slot_usage(matrix({{1, 0}, {0, 1}}).view({1, 1, 2, 2})).effective_slots, 2.0,
              kTolerance);
  // Three of four queries on slot 0: u = (3/4, 1/4).
  const auto usage = slot_usage(matrix({{1, 0}, {1, 0}, {1, 0}, {0, 1}}).view({1, 1, 4, 2}));
  const double entropy = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  EXPECT_NEAR(usage.normalized_entropy, entropy / std::log(2.0), kTolerance);
  EXPECT_NEAR(usage.effective_slots, std::exp(entropy), kTolerance);
}

TEST(SlotUsage, PaddingQueriesAreExcluded) {
  const auto attention = matrix({{1, 0}, {0, 1}, {1, 0}}).view({1, 1, 3, 2});
  const auto mask = at::tensor({1, 1, 0}).ne(0).view({1, 3});
  EXPECT_NEAR(slot_usage(attention, mask).normalized_entropy, 1.0, kTolerance);
  EXPECT_LT(slot_usage(attention).normalized_entropy, 0.95);
}

TEST(SlotUsage, SingleSlotIsFullyUsed) {
  const auto usage = slot_usage(at::ones({1, 2, 3, 1}));
  EXPECT_DOUBLE_EQ(usage.normalized_entropy, 1.0);
  EXPECT_NEAR(usage.effective_slots, 1.0, kTolerance);
}

}  // namespace
