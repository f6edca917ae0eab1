// Checkpoint files (LibTorch archives) written by temporary file + rename.
#include "lunar/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/ranges.h>
#include <torch/serialize.h>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"

namespace lunar::train {

namespace {
constexpr int64_t kFormatVersion = 1;

at::Tensor state_tensor(const TrainingState& s) {
  return at::tensor(
      {kFormatVersion, s.step, s.loader.epoch, s.loader.position, s.best_step, s.evals_since_best},
      at::kLong);
}

CheckpointContents read_header(torch::serialize::InputArchive& archive,
                               const std::filesystem::path& path) {
  at::Tensor counters, best;
  c10::IValue config;
  archive.read("state", counters);
  archive.read("best_accuracy", best);
  archive.read("config", config);
  check(counters.numel() == 6 && counters[0].item<int64_t>() == kFormatVersion,
        "[checkpoint] expected format version {} in '{}'", kFormatVersion, path.string());
  CheckpointContents out;
  auto c = counters.accessor<int64_t, 1>();
  out.state.step = c[1];
  out.state.loader = {c[2], c[3]};
  out.state.best_step = c[4];
  out.state.evals_since_best = c[5];
  out.state.best_accuracy = best.item<double>();
  out.config_toml = config.toStringRef();
  return out;
}

torch::serialize::InputArchive open(const std::filesystem::path& path) {
  check(std::filesystem::is_regular_file(path), "[checkpoint] expected a checkpoint file at '{}'",
        path.string());
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const c10::Error& error) {
    throw Error(fmt::format("[checkpoint] '{}' is not a readable lunar checkpoint: {}",
                            path.string(), error.what_without_backtrace()));
  }
  return archive;
}
}  // namespace

void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const TrainingState& state,
                     const std::string& config_toml) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive weights;
  for (const auto& item : model.named_parameters()) weights.write(item.key(), item.value());
  for (const auto& item : model.named_buffers()) weights.write(item.key(), item.value(), true);
  archive.write("model", weights);
  if (optimizer) {
    torch::serialize::OutputArchive optim;
    optimizer->save(optim);
    archive.write("optimizer", optim);
  }
  archive.write("state", state_tensor(state));
  archive.write("best_accuracy", at::tensor(state.best_accuracy, at::kDouble));
  archive.write("config", c10::IValue(config_toml));
  archive.write("rng", at::detail::getDefaultCPUGenerator().get_state());
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto temporary = temporary_path_for(path);
  try {
    archive.save_to(temporary.string());
    std::filesystem::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

CheckpointContents read_checkpoint_header(const std::filesystem::path& path) {
  auto archive = open(path);
  return read_header(archive, path);
}

CheckpointContents load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                                   torch::optim::Optimizer* optimizer, bool restore_rng) {
  auto archive = open(path);
  auto contents = read_header(archive, path);
  torch::serialize::InputArchive weights;
  archive.read("model", weights);
  at::NoGradGuard no_grad;
  auto load = [&](const std::string& name, at::Tensor& target) {
    at::Tensor value;
    check(weights.try_read(name, value), "[checkpoint] '{}' has no tensor '{}' (another model?)",
          path.string(), name);
    check(value.sizes() == target.sizes(), "[checkpoint] '{}': '{}' expected shape {}, got {}",
          path.string(), name, fmt::join(target.sizes(), "x"), fmt::join(value.sizes(), "x"));
    target.copy_(value);
  };
  for (auto& item : model.named_parameters()) load(item.key(), item.value());
  for (auto& item : model.named_buffers()) load(item.key(), item.value());
  if (optimizer) {
    torch::serialize::InputArchive optim;
    archive.read("optimizer", optim);
    optimizer->load(optim);
  }
  if (restore_rng) {
    at::Tensor rng;
    archive.read("rng", rng);
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
  }
  return contents;
}

}  // namespace lunar::train
