// Data-parallel training end to end on loopback with Gloo: two ranks equal one process on the
// same global batch, a resumed two-rank run equals an uninterrupted one (bit for bit with
// dropout, after a SIGTERM to `lunar launch`), a rank that dies or never comes makes the
// others fail with an error within the timeout, and `lunar launch` names a failed rank.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "lunar/core/process.h"
#include "lunar/dist/launcher.h"
#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"
#include "lunar/train/checkpoint.h"
#include "lunar/train/config.h"
#include "support/listops_suite.h"
#include "support/lunar_cli.h"
#include "support/process.h"
#include "support/tensor_compare.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::run_command;
using Result = lunar::testing::CommandResult;

using lunar::testing::lunar_command;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Rank `rank` of two as a lunar process (`args` split on spaces) with its output in `log`.
lunar::Process spawn_rank(int rank, int64_t port, const std::string& args, const fs::path& log) {
  lunar::SpawnOptions options;
  options.args = {lunar::testing::lunar_binary()};
  std::istringstream words(args);
  for (std::string word; words >> word;) options.args.push_back(word);
  options.environment = {{"MASTER_ADDR", "127.0.0.1"},
                         {"MASTER_PORT", std::to_string(port)},
                         {"RANK", std::to_string(rank)},
                         {"WORLD_SIZE", "2"},
                         {"LOCAL_RANK", std::to_string(rank)}};
  options.output = lunar::Output::kFile;
  options.file = log;
  options.null_stdin = true;
  return lunar::Process(options);
}

// Waits up to `limit` for `process`; returns its exit code, or -1 (still running: killed) / -2
// (killed by a signal).
int wait_for(lunar::Process& process, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto status = process.poll()) return status->signal == 0 ? status->code : -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  process.signal(SIGKILL);
  process.wait();
  return -1;
}

std::string rank_env(int rank, int64_t port) {
  return "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
         " RANK=" + std::to_string(rank) + " WORLD_SIZE=2 LOCAL_RANK=" + std::to_string(rank) + " ";
}

// The model in `run_dir`'s checkpoint `name`, built from the run's saved configuration.
lunar::models::LunarModel load_model(const fs::path& run_dir, const std::string& name) {
  const auto config = lunar::train::load_config(run_dir / "config.toml");
  auto model = lunar::models::build_model(config.model);
  lunar::train::load_checkpoint(run_dir / "checkpoints" / name, *model, nullptr);
  return model;
}

// Largest absolute difference between the parameters of two models of one configuration.
double max_difference(const lunar::models::LunarModel& a, const lunar::models::LunarModel& b) {
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  EXPECT_EQ(pa.size(), pb.size());
  double worst = 0;
  for (const auto& item : pa) {
    worst = std::max(worst, (item.value() - pb[item.key()]).abs().max().item<double>());
  }
  return worst;
}

class Distributed : public lunar::testing::ListOpsSuite<Distributed> {
 public:
  static lunar::testing::ListOpsRelease release() { return {1, 256, 64, 64, 20, 100}; }

 protected:
  // A tiny ConvLuna with padding masks on (so a rank's half batch, padded to its own longest
  // example, computes what the full batch does) and no dropout; global batch 8.
  static std::string train_args(const fs::path& run_dir, int steps) {
    return ListOpsSuite::train_args(
        run_dir,
        "model.dim=32 model.ffn_dim=64 model.num_blocks=1 model.luna.memory_len=8 model.masks=on"
        " model.dropout=0 model.attention_dropout=0 train.batch_size=8 train.eval_every=3"
        " train.log_every=1 schedule.warmup=1 optim.lr=0.003 runtime.threads=1"
        " diag.heatmap_steps=[] runtime.dist_timeout_s=10 train.steps=" +
            std::to_string(steps));
  }
};

TEST_F(Distributed, TwoRanksEqualOneProcessAndResumeEqualsUninterrupted) {
  const int steps = 6;
  const auto single = dir_ / "single";
  auto one = run_command(lunar_command() + train_args(single, steps));
  ASSERT_EQ(one.code, 0) << one.output;

  const auto whole = dir_ / "two_ranks";
  auto two = run_command(lunar_command() + " launch --nproc 2 --" + train_args(whole, steps));
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_NE(two.output.find("[rank 0] distributed: 2 ranks"), std::string::npos) << two.output;
  // Rank 1 neither prints the summary nor writes the run directory.
  EXPECT_EQ(two.output.find("[rank 1] test accuracy"), std::string::npos) << two.output;
  EXPECT_NE(two.output.find("[rank 0] test accuracy"), std::string::npos) << two.output;

  // Parameters after K steps: within float tolerance of one process, and far from the start.
  const auto reference = load_model(single, "last.pt");
  const auto parallel = load_model(whole, "last.pt");
  EXPECT_LT(max_difference(parallel, reference), 1e-5);
  const auto config = lunar::train::load_config(single / "config.toml");
  lunar::seed_everything(config.train.seed);
  const auto initial = lunar::models::build_model(config.model);  // as run_training builds it
  EXPECT_GT(max_difference(reference, initial), 1e-3);

  // Metrics reduced over the ranks: the same step losses and exact evaluation accuracies.
  const auto summary_one = read_file(single / "summary.json");
  const auto summary_two = read_file(whole / "summary.json");
  for (const char* key : {"\"test_accuracy_best\"", "\"test_accuracy_last\"",
                          "\"best_validation_accuracy\"", "\"best_step\""}) {
    const auto at_one = summary_one.find(key), at_two = summary_two.find(key);
    ASSERT_NE(at_one, std::string::npos) << summary_one;
    ASSERT_NE(at_two, std::string::npos) << summary_two;
    EXPECT_EQ(summary_one.substr(at_one, summary_one.find(',', at_one) - at_one),
              summary_two.substr(at_two, summary_two.find(',', at_two) - at_two));
  }

  // Resume: 3 steps, then --resume to 6, equals the uninterrupted 2-rank run.
  const auto split = dir_ / "resumed";
  auto first = run_command(lunar_command() + " launch --nproc 2 --" + train_args(split, 3));
  ASSERT_EQ(first.code, 0) << first.output;
  auto second = run_command(lunar_command() + " launch --nproc 2 -- train --resume --run-dir " +
                            split.string() + " --set train.steps=6");
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_LT(max_difference(load_model(split, "last.pt"), parallel), 1e-6);
}

TEST_F(Distributed, SigtermedLaunchResumesBitForBitWithDropout) {
  // Dropout on: each rank draws its own masks, and the checkpoint holds every rank's state.
  const std::string dropout = " model.dropout=0.1 model.attention_dropout=0.1";
  const auto split = dir_ / "sigterm";
  const auto stopped = run_command(
      lunar_command() + " launch --nproc 2 --" + train_args(split, 100000) + dropout +
      " 2>&1 & pid=$!; for i in $(seq 600); do [ \"$(cat " + (split / "metrics.jsonl").string() +
      " 2>/dev/null | grep -c '\"split\":\"train\"')\" -ge 2 ] && break; sleep 0.1; done; "
      "kill -TERM $pid; wait $pid; "
      "echo \"rc=$?\"");
  EXPECT_NE(stopped.output.find("rc=143"), std::string::npos) << stopped.output;
  const auto header = lunar::train::read_checkpoint_header(split / "checkpoints" / "last.pt");
  const int64_t step = header.state.step;
  ASSERT_GE(step, 2) << stopped.output;
  ASSERT_TRUE(header.state.rng.defined());
  ASSERT_EQ(header.state.rng.size(0), 2);
  EXPECT_FALSE(at::equal(header.state.rng[0], header.state.rng[1]));

  const std::string total = std::to_string(step + 3);
  auto resumed = run_command(lunar_command() + " launch --nproc 2 -- train --resume --run-dir " +
                             split.string() + " --set train.steps=" + total);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  const auto whole = dir_ / "sigterm_whole";
  auto uninterrupted =
      run_command(lunar_command() + " launch --nproc 2 --" + train_args(whole, step + 3) + dropout);
  ASSERT_EQ(uninterrupted.code, 0) << uninterrupted.output;
  EXPECT_EQ(max_difference(load_model(split, "last.pt"), load_model(whole, "last.pt")), 0.0);
}

TEST_F(Distributed, DeadPeerMakesTheOtherRankFailWithinTheTimeout) {
  const auto run_dir = dir_ / "dead_peer";
  const int64_t port = lunar::dist::free_port("127.0.0.1");
  const auto args = train_args(run_dir, 100000);
  auto rank0 = spawn_rank(0, port, args, dir_ / "rank0.log");
  auto rank1 = spawn_rank(1, port, args, dir_ / "rank1.log");
  ASSERT_GT(rank0.pid(), 0);
  ASSERT_GT(rank1.pid(), 0);
  // Wait until training runs (rank 0 logged a step), then kill rank 1 abruptly.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read_file(run_dir / "metrics.jsonl").find("\"split\":\"train\"") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rank1.signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_for(rank1, std::chrono::seconds(5)), -2);
  const int code = wait_for(rank0, std::chrono::seconds(20));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const auto log = read_file(dir_ / "rank0.log");
  EXPECT_EQ(code, 1) << log;
  EXPECT_LT(seconds, 12.0) << log;  // runtime.dist_timeout_s = 10
  EXPECT_NE(log.find("lunar: error: [dist] rank 0 of 2:"), std::string::npos) << log;
  EXPECT_NE(log.find("rank 1 exited or did not answer"), std::string::npos) << log;
}

TEST_F(Distributed, MissingPeerAndMissingVariablesAreClearErrors) {
  const int64_t port = lunar::dist::free_port("127.0.0.1");
  const auto started = std::chrono::steady_clock::now();
  auto alone = run_command(rank_env(0, port) + lunar_command() + train_args(dir_ / "alone", 5) +
                           " runtime.dist_timeout_s=2");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(alone.code, 1) << alone.output;
  EXPECT_NE(alone.output.find("rank 0 of 2: rendezvous at 127.0.0.1:"), std::string::npos)
      << alone.output;
  EXPECT_LT(seconds, 15.0);

  auto no_env = run_command("env -u MASTER_ADDR -u WORLD_SIZE " + lunar_command() +
                            train_args(dir_ / "no_env", 5) + " --distributed");
  EXPECT_EQ(no_env.code, 1) << no_env.output;
  EXPECT_NE(no_env.output.find("MASTER_ADDR is not set"), std::string::npos) << no_env.output;
}

TEST_F(Distributed, LaunchNamesTheFailedRank) {
  auto failed = run_command(lunar_command() + " launch --nproc 2 -- train --config " +
                            (dir_ / "missing.toml").string());
  EXPECT_EQ(failed.code, 1) << failed.output;
  // Both ranks fail; whichever fails first gets the others stopped, so only its own prefixed
  // message is certain to appear.
  EXPECT_NE(failed.output.find("] lunar: error: "), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("lunar: error: [launch] rank "), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("exited with status 1 (the first to fail"), std::string::npos)
      << failed.output;
}

}  // namespace
