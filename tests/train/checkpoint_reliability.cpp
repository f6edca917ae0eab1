// Checkpoints: a failed write (disk full) is an error that keeps the earlier checkpoint and
// leaves no temporary file; flipped bytes and checkpoints without a checksum are refused;
// --resume picks the newest complete checkpoint.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/runs/layout.h"
#include "lunar/train/checkpoint.h"
#include "lunar/train/run.h"
#include "support/expectations.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
namespace runs = lunar::runs;
namespace train = lunar::train;
using lunar::testing::expect_error;

namespace {

struct Model {
  torch::nn::Linear linear{64, 64};
  torch::optim::Adam optimizer{linear->parameters(), torch::optim::AdamOptions(1e-3)};

  void save(const fs::path& path, int64_t step) {
    train::TrainingState state;
    state.step = step;
    train::save_checkpoint(path, *linear, &optimizer, state, "run_dir = \"x\"\n");
  }
};

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int64_t count_files(const fs::path& dir) {
  return std::distance(fs::directory_iterator(dir), fs::directory_iterator());
}

}  // namespace

TEST(CheckpointReliability, FullDiskIsAnErrorAndKeepsTheEarlierCheckpoint) {
  const lunar::testing::TempDir temp;
  const fs::path dir = temp.path();
  const auto path = dir / "last.pt";
  Model model;
  model.save(path, 10);
  const auto saved = read(path);
  {
    // Files this process writes may not grow past half a checkpoint, as on a full disk.
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit previous{};
    getrlimit(RLIMIT_FSIZE, &previous);
    rlimit limit = previous;
    limit.rlim_cur = saved.size() / 2;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
    try {
      model.save(path, 20);
      ADD_FAILURE() << "the checkpoint write did not fail";
    } catch (const lunar::Error& error) {
      EXPECT_EQ(std::string(error.what()),
                "[checkpoint] expected to write " + path.string() + ", got: file too large");
    }
    setrlimit(RLIMIT_FSIZE, &previous);
  }
  EXPECT_EQ(count_files(dir), 1) << "a temporary file was left";
  EXPECT_EQ(read(path), saved);
  EXPECT_EQ(train::read_checkpoint_header(path).state.step, 10);
}

TEST(CheckpointReliability, FlippedBytesAreRefusedNamingTheFile) {
  const lunar::testing::TempDir temp;
  const fs::path dir = temp.path();
  const auto path = dir / "best.pt";
  Model model;
  model.save(path, 5);
  std::string bytes = read(path);
  // The middle of the file lies inside the tensors (the weights and Adam's moments).
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 4; ++i) bytes[i] ^= 0x5a;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  Model other;
  expect_error([&] { train::load_checkpoint(path, *other.linear, nullptr); },
               "[checkpoint] '" + path.string() + "' is corrupted");
  expect_error([&] { train::read_checkpoint_header(path); }, path.string());
}

TEST(CheckpointReliability, CorruptedArchiveCodeIsRefusedNamingTheFile) {
  const lunar::testing::TempDir temp;
  const auto path = temp.path() / "last.pt";
  Model model;
  model.save(path, 5);
  std::string bytes = read(path);
  // The archive's own code record (the declaration "payload : Tensor"), not the checksummed
  // payload: LibTorch's parser throws a plain std::exception on it ("invalid indent level").
  const auto at = bytes.find("payload : Tensor");
  ASSERT_NE(at, std::string::npos);
  bytes[at - 1] = '\xff';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  Model other;
  expect_error([&] { train::load_checkpoint(path, *other.linear, nullptr); },
               "[checkpoint] '" + path.string() + "' is not a readable lunar checkpoint");
}

TEST(CheckpointReliability, CheckpointWithoutChecksumIsRefused) {
  const lunar::testing::TempDir temp;
  const fs::path dir = temp.path();
  const auto path = dir / "old.pt";
  torch::serialize::OutputArchive archive;  // the layout before checksums: entries at top level
  archive.write("state", at::tensor(std::vector<int64_t>{1, 0, 0, 0, 0, 0}, at::kLong));
  archive.write("best_accuracy", at::tensor(0.5, at::kDouble));
  archive.write("config", c10::IValue(std::string("run_dir = \"x\"\n")));
  archive.save_to(path.string());
  expect_error([&] { train::read_checkpoint_header(path); },
               "[checkpoint] expected a checksum in '" + path.string() + "'");
}

TEST(CheckpointReliability, ResumeUsesTheNewestCompleteCheckpoint) {
  const lunar::testing::TempDir temp;
  const fs::path run_dir = temp.path();
  Model model;
  expect_error([&] { train::resume_checkpoint(run_dir); }, "expected a checkpoint");
  // Killed between writing best.pt and last.pt: only best.pt has the newest step.
  model.save(runs::best_checkpoint(run_dir), 20);
  EXPECT_EQ(train::resume_checkpoint(run_dir), runs::best_checkpoint(run_dir));
  model.save(runs::last_checkpoint(run_dir), 10);
  EXPECT_EQ(train::resume_checkpoint(run_dir), runs::best_checkpoint(run_dir));
  model.save(runs::last_checkpoint(run_dir), 30);
  EXPECT_EQ(train::resume_checkpoint(run_dir), runs::last_checkpoint(run_dir));
  model.save(runs::best_checkpoint(run_dir), 30);  // the same step: last.pt
  EXPECT_EQ(train::resume_checkpoint(run_dir), runs::last_checkpoint(run_dir));
}
