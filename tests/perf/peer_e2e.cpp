// The eager-PyTorch peer (bench/peer/lunar_peer.py) computes the same function as lunar: train
// tiny models of each family on a generated ListOps for a few steps, export their weights, and
// compare `lunar predict --logits` with the peer's logits on the same padded batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "support/predictions.h"
#include "support/process.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::run_command;
using Result = lunar::testing::CommandResult;

const std::string kPython = "/usr/bin/python3";
const std::string kLunar = LUNAR_BINARY;
constexpr int kBatchSize = 16;

struct Variant {
  std::string name;
  std::string settings;  // extra --set arguments
};
void PrintTo(const Variant& variant, std::ostream* out) { *out << variant.name; }

// Every family and the options that change the dataflow: sharing, variant, filter, masks (with
// the max-pool window rule), stride (unpadded above 1), temperatures, representation, attention
// width, norms, and the research's fixed-length padding with masks off.
const std::vector<Variant>& variants() {
  static const std::vector<Variant> table = {
      {"transformer", "model.architecture=transformer"},
      {"transformer_post", "model.architecture=transformer model.norm=post"},
      {"luna", "model.architecture=luna"},
      {"luna_max_length", "model.architecture=luna task.padding=max_length"},
      {"luna_official", "model.architecture=luna model.luna.sharing=none"},
      {"preluna", "model.architecture=preluna model.representation=memory"},
      {"convluna_conv", "model.architecture=convluna"},
      {"convluna_conv_masked",
       "model.architecture=convluna model.masks=on model.convluna.kernel=3 "
       "model.convluna.stride=2 model.convluna.pack_temperature=sqrt "
       "model.convluna.unpack_temperature=learn model.representation=mean"},
      {"convluna_maxpool_full",
       "model.architecture=convluna model.convluna.variant=full model.convluna.filter=maxpool "
       "model.convluna.kernel=5 model.convluna.stride=2 model.masks=on model.attention_dim=32 "
       "model.convluna.pack_temperature=unit model.convluna.unpack_temperature=sqrt"},
      {"convluna_maxpool", "model.architecture=convluna model.convluna.filter=maxpool"},
      {"convluna_conv_stride4_max_length",
       "model.architecture=convluna model.convluna.stride=4 task.padding=max_length"},
      {"ffkernel", "model.architecture=ffkernel model.ffkernel.orthogonality=0.1"},
      {"simpletron",
       "model.architecture=simpletron model.masks=on model.simpletron.output_projection=true"},
  };
  return table;
}

// `lunar predict` rows from a file.
std::vector<lunar::testing::PredictionRow> read_rows(const fs::path& path) {
  std::ifstream in(path);
  return lunar::testing::parse_predictions(
      std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
}

class PeerE2e : public ::testing::TestWithParam<Variant> {
 protected:
  // A failure here is reported by every test (gtest would otherwise skip them silently).
  static void SetUpTestSuite() {
    if (run_command(kPython + " -c 'import torch, tomllib'").code != 0) {
      setup_error_ =
          "Debian's python3-torch under /usr/bin/python3 is not installed "
          "(scripts/install-deps.sh installs it)";
      return;
    }
    setup_error_ = prepare();
  }

  // Generates the data, runs lunar for every variant and the peer once; returns what failed.
  static std::string prepare() {
    dir_ = fs::temp_directory_path() / "lunar_peer_e2e";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const auto data = dir_ / "data";
    auto generated =
        run_command(kLunar + " data listops --out " + data.string() +
                    " --seed 3 --train 64 --val 16 --test 40 --min-len 10 --max-len 60");
    if (generated.code != 0) return generated.output;
    // The test split's expressions, with short ones among them: padded batches, and (kernel 5)
    // max-pool rows whose every window reaches into padding.
    std::ifstream test_file(data / "basic_test.tsv");
    std::ofstream input(dir_ / "input.txt");
    std::string line;
    std::getline(test_file, line);  // header
    for (int i = 0; std::getline(test_file, line); ++i) {
      input << line.substr(0, line.find('\t')) << "\n";
      if (i % 13 == 5) input << "( [MAX 2 ] )\n";
    }
    input.close();

    // Three variants at a time: a lunar process spends most of its ~1.5 s loading LibTorch,
    // and each trains on one thread.
    std::atomic<size_t> next{0};
    std::vector<std::string> errors(variants().size());
    auto worker = [&] {
      for (size_t i = next++; i < variants().size(); i = next++) {
        errors[i] = train_export_predict(variants()[i], data);
      }
    };
    std::vector<std::future<void>> workers;
    for (int i = 0; i < 3; ++i) workers.push_back(std::async(std::launch::async, worker));
    for (auto& w : workers) w.get();
    std::string runs, weights, outputs;
    for (size_t i = 0; i < variants().size(); ++i) {
      if (!errors[i].empty()) return variants()[i].name + ": " + errors[i];
      const auto run_dir = dir_ / variants()[i].name;
      runs += " " + run_dir.string();
      weights += " " + (run_dir / "w.pt").string();
      outputs += " " + (run_dir / "peer.txt").string();
    }
    // One Python process for all runs: importing torch takes about 2 s.
    auto peer =
        run_command(kPython + " " LUNAR_SOURCE_DIR "/bench/peer/lunar_peer.py predict --logits" +
                    " --batch-size " + std::to_string(kBatchSize) + " --input " +
                    (dir_ / "input.txt").string() + " --run-dir" + runs + " --weights" + weights +
                    " --out" + outputs);
    return peer.code == 0 ? "" : peer.output;
  }
  // Trains `variant` for 20 steps, exports its weights and writes lunar's logits; returns the
  // failing command's output, or "" on success.
  static std::string train_export_predict(const Variant& variant, const fs::path& data) {
    const auto run_dir = dir_ / variant.name;
    const auto checkpoint = (run_dir / "checkpoints" / "last.pt").string();
    const std::vector<std::string> commands = {
        kLunar + " train --config " LUNAR_SOURCE_DIR "/configs/cpu/listops_convluna.toml" +
            " --run-dir " + run_dir.string() + " --set task.path=" + data.string() +
            " task.max_length=60 model.input.max_length=60 model.dim=16 model.ffn_dim=32" +
            " model.luna.memory_len=4 train.batch_size=8 train.steps=20 train.eval_every=20" +
            " train.log_every=20 schedule.kind=constant schedule.warmup=0 optim.lr=0.01" +
            " runtime.threads=1 task.cache_dir=off 'diag.heatmap_steps=[]' " + variant.settings,
        kLunar + " export --checkpoint " + checkpoint + " --out " + (run_dir / "w.pt").string(),
        kLunar + " predict --logits --batch-size " + std::to_string(kBatchSize) + " --checkpoint " +
            checkpoint + " --input " + (dir_ / "input.txt").string() + " > " +
            (run_dir / "lunar.txt").string()};
    for (const auto& command : commands) {
      auto result = run_command(command);
      if (result.code != 0) return command + "\n" + result.output;
    }
    return "";
  }

  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static fs::path dir_;
  static std::string setup_error_;
};
fs::path PeerE2e::dir_;
std::string PeerE2e::setup_error_;

TEST_P(PeerE2e, SameLogitsAsLunar) {
  ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  const auto run_dir = dir_ / GetParam().name;
  const auto lunar = read_rows(run_dir / "lunar.txt");
  const auto peer = read_rows(run_dir / "peer.txt");
  ASSERT_EQ(lunar.size(), 43u);  // 40 test expressions and 3 short ones
  ASSERT_EQ(peer.size(), lunar.size());
  double max_diff = 0, spread = 0;
  for (size_t row = 0; row < lunar.size(); ++row) {
    ASSERT_EQ(lunar[row].values.size(), 10u) << "row " << row;
    ASSERT_EQ(peer[row].values.size(), 10u) << "row " << row;
    EXPECT_EQ(lunar[row].label, peer[row].label) << "class of row " << row;
    for (size_t c = 0; c < 10; ++c) {
      const double a = lunar[row].values[c], b = peer[row].values[c];
      // lunar prints 9 significant digits; float32 sums in another order differ by ~1e-7.
      EXPECT_LE(std::abs(a - b), 2e-6 * std::max(1.0, std::abs(a)))
          << "row " << row << " class " << c << ": lunar " << a << ", peer " << b;
      max_diff = std::max(max_diff, std::abs(a - b));
      spread = std::max(spread, std::abs(a - lunar[row].values[0]));
    }
  }
  // Trained weights, not a degenerate model: the logits differ across classes.
  EXPECT_GT(spread, 0.05);
  std::printf("[ peer     ] %-22s max |logit diff| %.2e over %zu rows\n", GetParam().name.c_str(),
              max_diff, lunar.size());
}

INSTANTIATE_TEST_SUITE_P(Families, PeerE2e, ::testing::ValuesIn(variants()),
                         [](const auto& entry) { return entry.param.name; });

}  // namespace
