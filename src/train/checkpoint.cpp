// Checkpoint files (LibTorch archives with a checksum) written by temporary file + rename.
#include "lunar/train/checkpoint.h"

#include <fmt/ranges.h>
#include <torch/serialize.h>
#include <zlib.h>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"

namespace lunar::train {

namespace {
constexpr int64_t kFormatVersion = 1;

at::Tensor state_tensor(const TrainingState& s) {
  return at::tensor({kFormatVersion, s.step, s.loader.epoch, s.loader.position, s.best_step,
                     s.evals_since_best, int64_t{s.evaluation_pending}},
                    at::kLong);
}

CheckpointContents read_header(torch::serialize::InputArchive& archive,
                               const std::filesystem::path& path) {
  at::Tensor counters, best;
  c10::IValue config;
  archive.read("state", counters);
  archive.read("best_accuracy", best);
  archive.read("config", config);
  // Checkpoints written before `evaluation_pending` existed hold the first six counters.
  check((counters.numel() == 6 || counters.numel() == 7) &&
            counters[0].item<int64_t>() == kFormatVersion,
        "[checkpoint] expected format version {} in '{}'", kFormatVersion, path.string());
  CheckpointContents out;
  auto c = counters.accessor<int64_t, 1>();
  out.state.step = c[1];
  out.state.loader = {c[2], c[3]};
  out.state.best_step = c[4];
  out.state.evals_since_best = c[5];
  out.state.evaluation_pending = counters.numel() == 7 && c[6] != 0;
  out.state.best_accuracy = best.item<double>();
  out.config_toml = config.toStringRef();
  at::Tensor rng;  // one row per rank; checkpoints of single processes once held one state
  if (archive.try_read("rng", rng)) out.state.rng = rng.dim() == 1 ? rng.unsqueeze(0) : rng;
  return out;
}

uint32_t checksum(const void* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(0, static_cast<const Bytef*>(data), size));
}

std::string serialize(torch::serialize::OutputArchive& archive) {
  std::string bytes;
  archive.save_to([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  return bytes;
}

// The file is an archive of two entries: "payload", the serialized archive with the run's
// contents, and "crc32", its checksum. LibTorch does not verify its own records, so without
// the checksum flipped bytes inside a tensor would load silently.
struct CheckpointFile {
  at::Tensor payload;  // keeps the bytes `archive` was read from
  torch::serialize::InputArchive archive;
};

CheckpointFile open(const std::filesystem::path& path) {
  check(std::filesystem::is_regular_file(path), "[checkpoint] expected a checkpoint file at '{}'",
        path.string());
  CheckpointFile file;
  try {
    torch::serialize::InputArchive outer;
    outer.load_from(path.string());
    at::Tensor stored;
    if (!outer.try_read("payload", file.payload, true) || !outer.try_read("crc32", stored, true)) {
      throw Error(fmt::format(
          "[checkpoint] expected a checksum in '{}', got a checkpoint without one (written "
          "before lunar stored checksums, or not by lunar); it cannot be verified and is refused",
          path.string()));
    }
    const auto* data = file.payload.data_ptr<uint8_t>();
    const auto size = static_cast<size_t>(file.payload.numel());
    const auto expected = static_cast<uint32_t>(stored.item<int64_t>());
    const auto actual = checksum(data, size);
    check(actual == expected,
          "[checkpoint] '{}' is corrupted: expected checksum {:08x}, got {:08x}", path.string(),
          expected, actual);
    file.archive.load_from(reinterpret_cast<const char*>(data), size);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& error) {
    throw Error(fmt::format("[checkpoint] '{}' is not a readable lunar checkpoint: {}",
                            path.string(), error.what_without_backtrace()));
  } catch (const std::exception& error) {  // e.g. the archive's code record does not parse
    throw Error(fmt::format("[checkpoint] '{}' is not a readable lunar checkpoint: {}",
                            path.string(), error.what()));
  }
  return file;
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
  if (state.rng.defined()) archive.write("rng", state.rng);
  // Serialized in memory first: LibTorch's file writer aborts the process when the disk fills.
  auto payload = serialize(archive);
  torch::serialize::OutputArchive file;
  file.write("payload",
             at::from_blob(payload.data(), {static_cast<int64_t>(payload.size())}, at::kByte),
             true);
  file.write("crc32",
             at::tensor(static_cast<int64_t>(checksum(payload.data(), payload.size())), at::kLong),
             true);
  const auto bytes = serialize(file);
  try {
    write_atomically(path, bytes);
  } catch (const WriteError& error) {
    throw Error(
        fmt::format("[checkpoint] expected to write {}, got: {}", path.string(), error.reason()));
  }
}

CheckpointContents read_checkpoint_header(const std::filesystem::path& path) {
  auto file = open(path);
  return read_header(file.archive, path);
}

CheckpointContents load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                                   torch::optim::Optimizer* optimizer) {
  auto file = open(path);
  auto& archive = file.archive;
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
  return contents;
}

}  // namespace lunar::train
