// Collation, and the BatchLoader's determinism, resumption, sharding and error propagation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "lunar/core/error.h"
#include "lunar/data/batch_loader.h"

namespace lunar::data {
namespace {

std::vector<Example> make_examples(int count, bool pair = false) {
  std::vector<Example> examples(count);
  for (int i = 0; i < count; ++i) {
    examples[i].label = i;  // the label identifies the example
    examples[i].tokens.assign(1 + (i * 7) % 13, i + 1);
    if (pair) examples[i].tokens2.assign(1 + (i * 5) % 11, i + 2);
  }
  return examples;
}

std::vector<int64_t> labels_of(const Batch& batch) {
  const auto* data = batch.labels.data_ptr<int64_t>();
  return std::vector<int64_t>(data, data + batch.size());
}

std::vector<std::vector<int64_t>> drain_epoch(BatchLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  while (auto batch = loader.next()) out.push_back(labels_of(*batch));
  return out;
}

TEST(Collate, PadsToTheLongestAndMasks) {
  auto examples = make_examples(4, true);
  examples[2].tokens = {0, 0, 5};  // a pixel value 0 is a real token: the mask must say so
  const Batch batch = collate(examples, {0, 1, 2});
  EXPECT_EQ(batch.tokens.sizes(), (at::IntArrayRef{3, 8}));
  EXPECT_EQ(batch.tokens.scalar_type(), at::kLong);
  EXPECT_EQ(batch.mask.scalar_type(), at::kBool);
  EXPECT_EQ(batch.labels.sizes(), (at::IntArrayRef{3}));
  for (int b = 0; b < 3; ++b) {
    const auto& tokens = examples[b].tokens;
    for (int64_t i = 0; i < 8; ++i) {
      const bool real = i < static_cast<int64_t>(tokens.size());
      EXPECT_EQ(batch.mask[b][i].item<bool>(), real);
      EXPECT_EQ(batch.tokens[b][i].item<int64_t>(), real ? tokens[i] : 0);
    }
  }
  ASSERT_TRUE(batch.tokens2.defined());
  EXPECT_EQ(batch.tokens2.size(1), 11);  // lengths 1, 6 and 11
  EXPECT_EQ(batch.mask2.sum().item<int64_t>(),
            static_cast<int64_t>(examples[0].tokens2.size() + examples[1].tokens2.size() +
                                 examples[2].tokens2.size()));
  EXPECT_FALSE(collate(make_examples(2), {0, 1}).tokens2.defined());
}

// task.padding = max_length: every document of every batch has exactly pad_to positions, so a
// batch's shape (and, with masks off, each example's output) never depends on its neighbours.
TEST(Collate, PadsEveryDocumentToAFixedLength) {
  const auto examples = make_examples(4, true);
  for (const std::vector<int64_t>& indices : {std::vector<int64_t>{0}, {1, 2}, {0, 1, 2, 3}}) {
    const Batch batch = collate(examples, indices, 20);
    EXPECT_EQ(batch.tokens.sizes(), (at::IntArrayRef{static_cast<int64_t>(indices.size()), 20}));
    EXPECT_EQ(batch.tokens2.sizes(), (at::IntArrayRef{static_cast<int64_t>(indices.size()), 20}));
    for (size_t b = 0; b < indices.size(); ++b) {
      const auto& tokens = examples[indices[b]].tokens;
      const auto real = static_cast<int64_t>(tokens.size());
      EXPECT_EQ(batch.mask[b].sum().item<int64_t>(), real);
      EXPECT_EQ(batch.tokens[b].slice(0, real).abs().sum().item<int64_t>(), 0);
      EXPECT_EQ(batch.tokens[b][real - 1].item<int64_t>(), tokens.back());
    }
  }
  // The same example, alone or among others, gives the same row.
  EXPECT_TRUE(collate(examples, {3}, 20).tokens[0].equal(collate(examples, {0, 3}, 20).tokens[1]));
  EXPECT_THROW(collate(examples, {0, 1, 2, 3}, 9), lunar::Error);  // a row of 13 tokens
}

TEST(BatchLoader, PadsEveryBatchToPadTo) {
  const auto examples = make_examples(30);
  BatchLoaderOptions options;
  options.batch_size = 7;
  options.pad_to = 16;
  BatchLoader loader(examples, options);
  int batches = 0;
  while (auto batch = loader.next()) {
    EXPECT_EQ(batch->tokens.size(1), 16);
    ++batches;
  }
  EXPECT_EQ(batches, 5);
}

TEST(BatchLoader, CoversEveryExampleOncePerEpochDeterministically) {
  const auto examples = make_examples(103);
  BatchLoaderOptions options;
  options.batch_size = 10;
  options.seed = 5;
  BatchLoader a(examples, options), b(examples, options);
  const auto epoch0 = drain_epoch(a);
  EXPECT_EQ(epoch0, drain_epoch(b));
  ASSERT_EQ(epoch0.size(), 11u);
  EXPECT_EQ(epoch0.back().size(), 3u);
  std::multiset<int64_t> seen;
  for (const auto& batch : epoch0) seen.insert(batch.begin(), batch.end());
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 103u);
  const auto epoch1 = drain_epoch(a);
  EXPECT_NE(epoch0, epoch1);  // a new order each epoch
  EXPECT_EQ(a.state(), (LoaderState{2, 0}));

  options.seed = 6;
  BatchLoader c(examples, options);
  EXPECT_NE(drain_epoch(c), epoch0);
  options.drop_last = true;
  BatchLoader d(examples, options);
  EXPECT_EQ(drain_epoch(d).size(), 10u);
  options.shuffle = false;
  BatchLoader e(examples, options);
  EXPECT_EQ(drain_epoch(e)[0], (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(BatchLoader, ResumesAtASavedState) {
  const auto examples = make_examples(50);
  BatchLoaderOptions options;
  options.batch_size = 4;
  options.seed = 9;
  options.repeat = true;
  BatchLoader reference(examples, options);
  std::vector<std::vector<int64_t>> expected;
  LoaderState saved;
  for (int step = 0; step < 40; ++step) {
    if (step == 17) saved = reference.state();
    expected.push_back(labels_of(*reference.next()));
  }
  EXPECT_EQ(saved, (LoaderState{1, 4}));  // 13 batches per epoch: step 17 is epoch 1, batch 4
  BatchLoader resumed(examples, options);
  resumed.next();  // whatever it had prefetched is discarded by restore
  resumed.restore(saved);
  for (int step = 17; step < 40; ++step) {
    EXPECT_EQ(labels_of(*resumed.next()), expected[step]) << "step " << step;
  }
  EXPECT_THROW(resumed.restore(LoaderState{0, 99}), lunar::Error);
}

TEST(BatchLoader, TwoRanksCoverEachGlobalBatchExactlyOnce) {
  const auto examples = make_examples(45);
  BatchLoaderOptions options;
  options.batch_size = 8;
  options.seed = 3;
  BatchLoader whole(examples, options);
  options.world_size = 2;
  options.rank = 0;
  BatchLoader rank0(examples, options);
  options.rank = 1;
  BatchLoader rank1(examples, options);
  EXPECT_EQ(rank0.batches_per_epoch(), whole.batches_per_epoch());
  for (int epoch = 0; epoch < 2; ++epoch) {
    const auto global = drain_epoch(whole);
    const auto first = drain_epoch(rank0);
    const auto second = drain_epoch(rank1);
    ASSERT_EQ(first.size(), global.size());
    ASSERT_EQ(second.size(), global.size());
    for (size_t b = 0; b < global.size(); ++b) {
      std::vector<int64_t> joined = first[b];
      joined.insert(joined.end(), second[b].begin(), second[b].end());
      EXPECT_EQ(joined, global[b]) << "batch " << b;
      EXPECT_LE(
          std::abs(static_cast<int64_t>(first[b].size()) - static_cast<int64_t>(second[b].size())),
          1);
    }
  }
}

TEST(BatchLoader, BucketingCutsPadding) {
  const auto examples = make_examples(400);
  BatchLoaderOptions options;
  options.batch_size = 16;
  options.seed = 1;
  auto padding = [&](bool bucket) {
    options.bucket_by_length = bucket;
    options.bucket_window = 25;
    BatchLoader loader(examples, options);
    int64_t pad = 0, count = 0;
    while (auto batch = loader.next()) {
      pad += batch->mask.numel() - batch->mask.sum().item<int64_t>();
      count += batch->size();
    }
    EXPECT_EQ(count, 400);
    return pad;
  };
  EXPECT_LT(padding(true) * 4, padding(false));
}

TEST(BatchLoader, WorkerExceptionsReachTheCaller) {
  const auto examples = make_examples(30);
  BatchLoaderOptions options;
  options.batch_size = 5;
  int calls = 0;
  options.on_batch = [&calls](Batch&) {
    if (++calls == 3) throw lunar::Error("[test] expected failure, got one");
  };
  BatchLoader loader(examples, options);
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_TRUE(loader.next().has_value());
  EXPECT_THROW(loader.next(), lunar::Error);
  EXPECT_THROW(loader.next(), lunar::Error);
  EXPECT_THROW(BatchLoader(std::vector<Example>{}, BatchLoaderOptions{}), lunar::Error);
}

TEST(BatchLoader, DestroysCleanlyWhileTheWorkerWaits) {
  const auto examples = make_examples(200);
  BatchLoaderOptions options;
  options.batch_size = 2;
  options.repeat = true;
  for (int i = 0; i < 20; ++i) {
    std::atomic<int64_t> prepared{0};
    options.on_batch = [&prepared](Batch&) { ++prepared; };
    {
      BatchLoader loader(examples, options);
      if (i % 2) {
        EXPECT_EQ(loader.next()->size(), 2);
      }
    }
    // The worker stopped at its prefetch bound (plus the batch in hand) and was joined: nothing
    // is prepared after the loader is gone.
    const int64_t at_destruction = prepared;
    EXPECT_LE(at_destruction, options.prefetch + 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(prepared, at_destruction);
  }
}

}  // namespace
}  // namespace lunar::data
