// Data parallelism over a c10d process group: the trainer's GradientSynchronizer. Parameters
// and buffers are broadcast from rank 0. Gradients are averaged in flat ~25 MB buckets, as
// PyTorch's DistributedDataParallel does: during the backward pass of a step's last
// micro-batch, a hook on each parameter copies its finished gradient into its bucket, and a
// full bucket's all-reduce starts at once (buckets start in a fixed order on every rank), so
// communication overlaps the rest of backward.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "lunar/dist/buckets.h"
#include "lunar/dist/process_group.h"
#include "lunar/train/synchronizer.h"

namespace lunar::dist {

class DataParallel : public train::GradientSynchronizer {
 public:
  explicit DataParallel(std::shared_ptr<ProcessGroup> group,
                        int64_t bucket_bytes = kDefaultBucketBytes);
  ~DataParallel() override;  // removes the gradient hooks
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int64_t rank() const override { return group_->rank(); }
  int64_t world_size() const override { return group_->world_size(); }
  void broadcast_model(models::LunarModel& model) override;
  void prepare_backward(const std::vector<at::Tensor>& parameters, bool last_micro_batch) override;
  // Finishes what the hooks started (or, without prepare_backward, does all of it): buckets
  // whose gradients did not all arrive (unused parameters) take the current .grad values.
  void average_gradients(const std::vector<at::Tensor>& parameters) override;
  void sum(std::vector<double>& values) override;
  void barrier() override { group_->barrier(); }

  // Buckets whose all-reduce started inside the last step's backward pass (the overlap).
  int64_t buckets_started_during_backward() const { return started_during_backward_; }

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into parameters_
    at::Tensor flat;              // [sum of member sizes]
    int64_t missing = 0;          // member gradients not yet copied in this round
    std::function<void()> wait;   // set once its all-reduce started
  };

  void set_up(const std::vector<at::Tensor>& parameters);
  void start_round();
  // Copies parameter `index`'s gradient into its bucket; starts the all-reduces now possible.
  void fill(size_t index, const at::Tensor& gradient);
  void start_ready_buckets();

  std::shared_ptr<ProcessGroup> group_;
  int64_t bucket_bytes_;
  std::vector<at::Tensor> parameters_;
  std::vector<unsigned> hooks_;     // hook handle per parameter
  std::vector<Bucket> buckets_;     // in the order their all-reduces start
  std::vector<size_t> bucket_of_;   // parameter index -> bucket
  std::vector<int64_t> offset_of_;  // parameter index -> offset in its bucket
  std::vector<bool> filled_;        // parameter index -> gradient copied this round
  size_t next_bucket_ = 0;          // first bucket whose all-reduce has not started
  int64_t started_during_backward_ = 0;
  bool armed_ = false;  // hooks copy gradients (last micro-batch)
};

}  // namespace lunar::dist
