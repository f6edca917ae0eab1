// Batches of padded token tensors, and a prefetching, resumable, shardable loader over a split.
#pragma once

#include <ATen/ATen.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "lunar/data/task_config.h"

namespace lunar::data {

// Padded with id 0 to the longest example in the batch, or to a fixed length. Pixel tasks have
// fixed lengths, so their masks are all true; a pixel value 0 is a real token, hence the
// explicit mask.
struct Batch {
  at::Tensor tokens;   // [B, L] int64
  at::Tensor mask;     // [B, L] bool, true = real token
  at::Tensor tokens2;  // [B, L2] int64, matching only (undefined otherwise)
  at::Tensor mask2;    // [B, L2] bool, matching only
  at::Tensor labels;   // [B] int64
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Builds one batch from examples[indices[i]]; tokens2/mask2 when any example has tokens2.
// pad_to = 0 pads to the longest example (each document separately); pad_to > 0 pads every
// document to exactly pad_to tokens (an example longer than that is an error).
Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices,
              int64_t pad_to = 0);

struct BatchLoaderOptions {
  int64_t batch_size = 32;  // global batch size, split across ranks
  bool shuffle = true;
  uint64_t seed = 0;              // the order is a pure function of (seed, epoch)
  bool drop_last = false;         // drop a final partial batch
  bool bucket_by_length = false;  // sort by length within windows, then shuffle the batches
  int64_t bucket_window = 100;    // batches per sorting window
  int64_t rank = 0;               // this process takes its contiguous shard of every global batch
  int64_t world_size = 1;
  bool repeat = false;   // cycle epochs forever (step-based training): next() never ends
  int64_t prefetch = 4;  // batches prepared ahead by the background thread
  int64_t pad_to = 0;    // 0: pad to the longest example; > 0: every batch to this length
  // Optional work on each batch in the background thread (e.g. augmentation, pinning);
  // an exception it throws reaches the caller of next().
  std::function<void(Batch&)> on_batch;
};

// Where the loader is: the next batch to return is global batch `position` of `epoch`.
struct LoaderState {
  int64_t epoch = 0;
  int64_t position = 0;
  bool operator==(const LoaderState& other) const {
    return epoch == other.epoch && position == other.position;
  }
};

// Iterates over `examples` (which must outlive the loader) in batches prepared by a background
// thread. Without `repeat`, next() returns std::nullopt once at the end of each epoch and the
// following call starts the next epoch. Exceptions raised while preparing a batch are rethrown
// by next(). state()/restore() resume a killed run at exactly the same batch.
class BatchLoader {
 public:
  BatchLoader(const std::vector<Example>& examples, BatchLoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  std::optional<Batch> next();
  LoaderState state() const;
  void restore(const LoaderState& state);

  int64_t batches_per_epoch() const { return num_batches_; }
  const BatchLoaderOptions& options() const { return options_; }

  // This rank's example indices for every batch of `epoch`, in order (a pure function).
  std::vector<std::vector<int64_t>> epoch_plan(int64_t epoch) const;

 private:
  struct Item {
    std::optional<Batch> batch;  // empty: end of epoch
    LoaderState after;           // state once this item is consumed
    std::exception_ptr error;
  };

  void start(const LoaderState& from);
  void stop();
  void work(LoaderState from);

  const std::vector<Example>& examples_;
  BatchLoaderOptions options_;
  int64_t num_batches_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  LoaderState consumed_;
  std::exception_ptr failed_;
  std::thread worker_;
};

}  // namespace lunar::data
