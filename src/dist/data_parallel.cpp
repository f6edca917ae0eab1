// Broadcast of the model, bucketed gradient averaging overlapped with backward, metric sums.
#include "lunar/dist/data_parallel.h"

#include <numeric>

#include "lunar/core/error.h"

namespace lunar::dist {

DataParallel::DataParallel(std::shared_ptr<ProcessGroup> group, int64_t bucket_bytes)
    : group_(std::move(group)), bucket_bytes_(bucket_bytes) {
  check(group_ != nullptr, "[dist] expected a process group");
}

DataParallel::~DataParallel() {
  for (size_t i = 0; i < hooks_.size(); ++i) parameters_[i].remove_hook(hooks_[i]);
}

void DataParallel::broadcast_model(models::LunarModel& model) {
  std::vector<at::Tensor> tensors = model->parameters();
  for (const auto& buffer : model->buffers()) tensors.push_back(buffer);
  const auto buckets = plan_buckets(tensors, bucket_bytes_);
  std::vector<at::Tensor> flats;
  for (const auto& bucket : buckets) flats.push_back(flatten_bucket(tensors, bucket));
  group_->broadcast(flats, 0);
  for (size_t b = 0; b < buckets.size(); ++b) {
    unflatten_bucket(flats[b], tensors, buckets[b]);
  }
}

// Buckets over the parameters in reverse order: backward produces the gradients of the last
// layers first, so the first buckets fill first.
void DataParallel::set_up(const std::vector<at::Tensor>& parameters) {
  if (!parameters_.empty()) {
    check(parameters.size() == parameters_.size(),
          "[dist] expected the same {} parameters at every step, got {}", parameters_.size(),
          parameters.size());
    return;
  }
  parameters_ = parameters;
  std::vector<size_t> order(parameters.size());
  std::iota(order.rbegin(), order.rend(), 0);
  std::vector<at::Tensor> reversed;
  for (size_t i : order) reversed.push_back(parameters[i]);
  bucket_of_.assign(parameters.size(), 0);
  offset_of_.assign(parameters.size(), 0);
  for (const auto& planned : plan_buckets(reversed, bucket_bytes_)) {
    Bucket bucket;
    int64_t size = 0;
    for (size_t position : planned) {
      const size_t index = order[position];
      bucket.members.push_back(index);
      bucket_of_[index] = buckets_.size();
      offset_of_[index] = size;
      size += parameters[index].numel();
    }
    bucket.flat = at::empty({size}, parameters[bucket.members.front()].options());
    buckets_.push_back(std::move(bucket));
  }
  for (size_t i = 0; i < parameters.size(); ++i) {
    hooks_.push_back(parameters_[i].register_hook([this, i](const at::Tensor& gradient) {
      if (!armed_) return;
      // The hook sees this backward's contribution; .grad still holds earlier micro-batches'.
      const auto& previous = parameters_[i].grad();
      fill(i, previous.defined() ? previous + gradient : gradient);
    }));
  }
}

void DataParallel::start_round() {
  for (auto& bucket : buckets_) {
    bucket.missing = static_cast<int64_t>(bucket.members.size());
    bucket.wait = nullptr;
  }
  filled_.assign(parameters_.size(), false);
  next_bucket_ = 0;
  started_during_backward_ = 0;
}

void DataParallel::fill(size_t index, const at::Tensor& gradient) {
  at::NoGradGuard no_grad;
  auto& bucket = buckets_[bucket_of_[index]];
  auto slot = bucket.flat.narrow(0, offset_of_[index], parameters_[index].numel());
  if (gradient.defined()) {
    slot.copy_(gradient.reshape(-1));
  } else {
    slot.zero_();
  }
  filled_[index] = true;
  --bucket.missing;
  start_ready_buckets();
}

void DataParallel::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].missing == 0) {
    auto& bucket = buckets_[next_bucket_++];
    bucket.wait = group_->start_all_reduce_sum(bucket.flat);
    if (armed_) ++started_during_backward_;  // called from a gradient hook
  }
}

void DataParallel::prepare_backward(const std::vector<at::Tensor>& parameters,
                                    bool last_micro_batch) {
  if (world_size() == 1) return;
  set_up(parameters);
  armed_ = last_micro_batch;
  if (armed_) start_round();
}

void DataParallel::average_gradients(const std::vector<at::Tensor>& parameters) {
  if (world_size() == 1) return;
  set_up(parameters);
  if (!armed_) start_round();
  armed_ = false;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!filled_[i]) fill(i, parameters_[i].grad());  // no gradient this backward
  }
  const double world = static_cast<double>(world_size());
  at::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    bucket.wait();
    bucket.flat.div_(world);
    for (size_t index : bucket.members) {
      auto gradient = parameters_[index].grad();
      if (!gradient.defined()) continue;  // unused on every rank: stays without a gradient
      gradient.copy_(bucket.flat.narrow(0, offset_of_[index], gradient.numel()).view_as(gradient));
    }
  }
}

void DataParallel::sum(std::vector<double>& values) {
  if (values.empty()) return;
  auto tensor = at::tensor(values, at::dtype(at::kDouble)).to(group_->device());
  group_->all_reduce_sum({tensor});
  tensor = tensor.cpu();
  const auto* data = tensor.data_ptr<double>();
  for (size_t i = 0; i < values.size(); ++i) values[i] = data[i];
}

}  // namespace lunar::dist
