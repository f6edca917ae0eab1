// Collation into padded tensors and the prefetching BatchLoader.
#include "lunar/data/batch_loader.h"

#include <algorithm>
#include <numeric>

#include "lunar/core/error.h"
#include "lunar/data/random.h"

namespace lunar::data {
namespace {

void fill(const std::vector<const std::vector<int32_t>*>& rows, int64_t pad_to, at::Tensor& tokens,
          at::Tensor& mask) {
  size_t longest = 0;
  for (const auto* row : rows) longest = std::max(longest, row->size());
  check(pad_to == 0 || static_cast<int64_t>(longest) <= pad_to,
        "[collate] expected examples of at most {} tokens to pad to, got {}", pad_to, longest);
  if (pad_to > 0) longest = static_cast<size_t>(pad_to);
  const auto batch = static_cast<int64_t>(rows.size());
  tokens = at::zeros({batch, static_cast<int64_t>(longest)}, at::kLong);  // [B, L]
  mask = at::zeros({batch, static_cast<int64_t>(longest)}, at::kBool);    // [B, L]
  auto* token_data = tokens.data_ptr<int64_t>();
  auto* mask_data = mask.data_ptr<bool>();
  for (size_t b = 0; b < rows.size(); ++b) {
    const auto& row = *rows[b];
    int64_t* out = token_data + b * longest;
    bool* valid = mask_data + b * longest;
    for (size_t i = 0; i < row.size(); ++i) {
      out[i] = row[i];
      valid[i] = true;
    }
  }
}

int64_t example_length(const Example& example) {
  return static_cast<int64_t>(std::max(example.tokens.size(), example.tokens2.size()));
}

}  // namespace

Batch collate(const std::vector<Example>& examples, const std::vector<int64_t>& indices,
              int64_t pad_to) {
  check(!indices.empty(), "[collate] expected at least one example, got 0");
  check(pad_to >= 0, "[collate] expected pad_to >= 0, got {}", pad_to);
  std::vector<const std::vector<int32_t>*> first, second;
  bool pair = false;
  Batch batch;
  batch.labels = at::empty({static_cast<int64_t>(indices.size())}, at::kLong);  // [B]
  auto* labels = batch.labels.data_ptr<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t index = indices[i];
    check(index >= 0 && index < static_cast<int64_t>(examples.size()),
          "[collate] expected an index in [0, {}), got {}", examples.size(), index);
    const Example& example = examples[index];
    first.push_back(&example.tokens);
    second.push_back(&example.tokens2);
    pair = pair || !example.tokens2.empty();
    labels[i] = example.label;
  }
  fill(first, pad_to, batch.tokens, batch.mask);
  if (pair) fill(second, pad_to, batch.tokens2, batch.mask2);
  return batch;
}

BatchLoader::BatchLoader(const std::vector<Example>& examples, BatchLoaderOptions options)
    : examples_(examples), options_(options) {
  check(options.batch_size >= 1, "[batch_loader] expected batch_size >= 1, got {}",
        options.batch_size);
  check(options.world_size >= 1 && options.rank >= 0 && options.rank < options.world_size,
        "[batch_loader] expected 0 <= rank < world_size, got rank {} of {}", options.rank,
        options.world_size);
  check(options.batch_size >= options.world_size,
        "[batch_loader] expected batch_size >= world_size, got {} < {}", options.batch_size,
        options.world_size);
  check(options.bucket_window >= 1, "[batch_loader] expected bucket_window >= 1, got {}",
        options.bucket_window);
  check(options.prefetch >= 1, "[batch_loader] expected prefetch >= 1, got {}", options.prefetch);
  check(options.pad_to >= 0, "[batch_loader] expected pad_to >= 0, got {}", options.pad_to);
  const auto count = static_cast<int64_t>(examples.size());
  num_batches_ = count / options.batch_size;
  const int64_t rest = count % options.batch_size;
  // A final partial batch is kept unless drop_last, or too small to give every rank one example.
  if (rest > 0 && !options.drop_last && rest >= options.world_size) ++num_batches_;
  check(num_batches_ > 0,
        "[batch_loader] expected at least one batch, got {} examples for batch_size {}{}", count,
        options.batch_size, options.drop_last ? " with drop_last" : "");
  start(LoaderState{});
}

BatchLoader::~BatchLoader() { stop(); }

std::vector<std::vector<int64_t>> BatchLoader::epoch_plan(int64_t epoch) const {
  const auto count = static_cast<int64_t>(examples_.size());
  const int64_t batch_size = options_.batch_size;
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(mix_seed(options_.seed, static_cast<uint64_t>(epoch)));
  if (options_.shuffle) shuffle(order, rng);
  order.resize(std::min<int64_t>(count, num_batches_ * batch_size));

  std::vector<std::vector<int64_t>> global;
  const int64_t window = options_.bucket_by_length ? options_.bucket_window * batch_size : count;
  for (int64_t start = 0; start < static_cast<int64_t>(order.size()); start += window) {
    const auto begin = order.begin() + start;
    const auto end = order.begin() + std::min<int64_t>(start + window, order.size());
    if (options_.bucket_by_length) {
      std::stable_sort(begin, end, [&](int64_t a, int64_t b) {
        return example_length(examples_[a]) < example_length(examples_[b]);
      });
    }
    for (auto it = begin; it < end; it += std::min<int64_t>(batch_size, end - it)) {
      global.emplace_back(it, it + std::min<int64_t>(batch_size, end - it));
    }
  }
  // Sorted windows would feed batches in increasing length; shuffle the batch order instead.
  if (options_.bucket_by_length && options_.shuffle) shuffle(global, rng);

  for (auto& indices : global) {
    const auto size = static_cast<int64_t>(indices.size());
    const int64_t first = options_.rank * size / options_.world_size;
    const int64_t last = (options_.rank + 1) * size / options_.world_size;
    indices = std::vector<int64_t>(indices.begin() + first, indices.begin() + last);
  }
  return global;
}

void BatchLoader::start(const LoaderState& from) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.clear();
    stopping_ = false;
    consumed_ = from;
    failed_ = nullptr;
  }
  worker_ = std::thread([this, from] { work(from); });
}

void BatchLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void BatchLoader::work(LoaderState state) {
  try {
    while (true) {
      const auto plan = epoch_plan(state.epoch);
      for (; state.position < static_cast<int64_t>(plan.size()); ++state.position) {
        Item item;
        item.batch = collate(examples_, plan[state.position], options_.pad_to);
        if (options_.on_batch) options_.on_batch(*item.batch);
        item.after = LoaderState{state.epoch, state.position + 1};
        if (item.after.position == num_batches_ && options_.repeat)
          item.after = {state.epoch + 1, 0};
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] {
          return stopping_ || static_cast<int64_t>(queue_.size()) < options_.prefetch;
        });
        if (stopping_) return;
        queue_.push_back(std::move(item));
        changed_.notify_all();
      }
      state = LoaderState{state.epoch + 1, 0};
      if (!options_.repeat) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] {
          return stopping_ || static_cast<int64_t>(queue_.size()) < options_.prefetch;
        });
        if (stopping_) return;
        queue_.push_back(Item{std::nullopt, state, nullptr});
        changed_.notify_all();
      }
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(Item{std::nullopt, consumed_, std::current_exception()});
    changed_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (failed_) std::rethrow_exception(failed_);
  changed_.wait(lock, [&] { return !queue_.empty(); });
  Item item = std::move(queue_.front());
  queue_.pop_front();
  if (item.error) {
    failed_ = item.error;
    std::rethrow_exception(failed_);
  }
  consumed_ = item.after;
  changed_.notify_all();
  return std::move(item.batch);
}

LoaderState BatchLoader::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return consumed_;
}

void BatchLoader::restore(const LoaderState& state) {
  check(state.epoch >= 0 && state.position >= 0 && state.position <= num_batches_,
        "[batch_loader] expected a state with 0 <= position <= {}, got epoch {} position {}",
        num_batches_, state.epoch, state.position);
  stop();
  start(state);
}

}  // namespace lunar::data
