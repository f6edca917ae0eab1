// `lunar train`, `eval` and `predict` as a user (or a scheduler) runs them when things go wrong:
// moved, half-written or finished runs, signals, bad inputs. Nothing is lost, nothing silent.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lunar/runs/layout.h"
#include "lunar/train/checkpoint.h"
#include "lunar/train/run.h"
#include "support/listops_suite.h"
#include "support/lunar_cli.h"
#include "support/process.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::run_command;
using Result = lunar::testing::CommandResult;

using lunar::testing::lunar_command;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int64_t summary_steps(const fs::path& run_dir) {
  std::ifstream in(run_dir / "summary.json");
  return nlohmann::json::parse(in)["steps"].get<int64_t>();
}

int count_lines_with(const fs::path& path, const std::string& text) {
  std::istringstream lines(read(path));
  int count = 0;
  for (std::string line; std::getline(lines, line);) count += line.find(text) != std::string::npos;
  return count;
}

// One small ListOps data set and one finished 10-step run (best.pt, last.pt, summary.json and a
// test line at step 10), copied by each test that changes a run.
class CliReliability : public lunar::testing::ListOpsSuite<CliReliability> {
 public:
  static lunar::testing::ListOpsRelease release() { return {1, 200, 32, 32, 20, 100}; }

 protected:
  static void SetUpTestSuite() {
    ListOpsSuite::SetUpTestSuite();
    if (HasFatalFailure()) return;
    const auto trained = run_command(train_command(base_run(), 10));
    ASSERT_EQ(trained.code, 0) << trained.output;
  }

  static fs::path base_run() { return dir_ / "base"; }

  static std::string train_command(const fs::path& run_dir, int64_t steps,
                                   const std::string& extra = "") {
    return lunar_command() + train_args(run_dir,
                                        "train.eval_every=10 train.log_every=1 runtime.threads=1"
                                        " 'diag.heatmap_steps=[]' train.steps=" +
                                            std::to_string(steps) + extra);
  }

  static std::string resume_command(const fs::path& run_dir, const std::string& extra = "") {
    return lunar_command() + " train --resume --run-dir " + run_dir.string() + extra;
  }

  // A copy of the finished base run, as a user copying or moving a run folder makes.
  static fs::path copy_of_base(const std::string& name) {
    const auto target = dir_ / name;
    fs::remove_all(target);
    fs::copy(base_run(), target, fs::copy_options::recursive);
    return target;
  }
};

}  // namespace

TEST_F(CliReliability, FullDiskStopsTrainingWithAnErrorNotAnAbort) {
  const auto run = dir_ / "full_disk";
  // Files may not grow past 32 KiB (64 blocks of 512 bytes): the configuration and the logs
  // fit, a checkpoint does not, as on a disk that fills up.
  const auto result = run_command("trap '' XFSZ; ulimit -f 64; " + train_command(run, 10));
  EXPECT_EQ(result.code, 1) << result.output;
  const auto best = lunar::runs::best_checkpoint(run);
  EXPECT_NE(result.output.find("[checkpoint] expected to write " + best.string() +
                               ", got: file too large"),
            std::string::npos)
      << result.output;
  EXPECT_TRUE(fs::is_empty(run / "checkpoints")) << "a partial or temporary file was left";
  // TensorBoard's session ended (with status failure: tests/train/event_protobuf_test.cpp)
  // rather than left running.
  EXPECT_NE(lunar::testing::tensorboard_bytes(run).find("_hparams_/session_end_info"),
            std::string::npos);
}

TEST(CliCommands, MisspeltCommandGetsASuggestion) {
  const auto misspelt = run_command(lunar_command() + " trian --config x.toml");
  EXPECT_EQ(misspelt.code, 1) << misspelt.output;
  EXPECT_NE(misspelt.output.find("unknown command 'trian' (did you mean train?)"),
            std::string::npos)
      << misspelt.output;
  const auto unknown = run_command(lunar_command() + " xyzzy");
  EXPECT_EQ(unknown.code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("unknown command 'xyzzy'; lunar --help lists the commands"),
            std::string::npos)
      << unknown.output;
  const auto none = run_command(lunar_command());  // no command: the commands listed, exit 1
  EXPECT_EQ(none.code, 1) << none.output;
  EXPECT_NE(none.output.find("sweep"), std::string::npos) << none.output;
  EXPECT_NE(none.output.find("Train a model from a TOML configuration"), std::string::npos)
      << none.output;
}

TEST_F(CliReliability, PredictRefusesAnEmptyLineNamingIt) {
  const auto input = dir_ / "with_blank.txt";
  std::ofstream(input) << "( ( [MAX 2 ) 9 ) ] )\n\n( ( [MIN 4 ) 7 ) ] )\n";
  const auto best = lunar::runs::best_checkpoint(base_run()).string();
  const auto predicted =
      run_command(lunar_command() + " predict --checkpoint " + best + " --input " + input.string());
  EXPECT_EQ(predicted.code, 1) << predicted.output;
  EXPECT_NE(predicted.output.find(input.string() + ":2:"), std::string::npos) << predicted.output;
}

TEST_F(CliReliability, CorruptedCheckpointIsRefusedByEval) {
  const auto run = copy_of_base("corrupted");
  const auto best = lunar::runs::best_checkpoint(run);
  std::string bytes = read(best);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 8; ++i) bytes[i] ^= 0x5a;
  std::ofstream(best, std::ios::binary | std::ios::trunc) << bytes;
  const auto evaluated = run_command(lunar_command() + " eval --checkpoint " + best.string());
  EXPECT_EQ(evaluated.code, 1) << evaluated.output;
  EXPECT_NE(evaluated.output.find("'" + best.string() + "' is corrupted"), std::string::npos)
      << evaluated.output;
}

TEST_F(CliReliability, ResumeWritesOnlyIntoTheRunDirGiven) {
  const auto run = copy_of_base("moved");  // its config.toml still names the base run
  const auto base_summary = read(base_run() / "summary.json");
  const auto base_last = read(lunar::runs::last_checkpoint(base_run()));
  const auto resumed = run_command(resume_command(run, " --set train.steps=20"));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_EQ(summary_steps(run), 20);
  EXPECT_EQ(lunar::train::read_checkpoint_header(lunar::runs::last_checkpoint(run)).state.step, 20);
  EXPECT_EQ(read(base_run() / "summary.json"), base_summary);
  EXPECT_EQ(read(lunar::runs::last_checkpoint(base_run())), base_last);
  // Redirecting a resumed run elsewhere is refused rather than half done.
  const auto redirected = run_command(resume_command(run, " --set run_dir=" + dir_.string()));
  EXPECT_EQ(redirected.code, 1) << redirected.output;
  EXPECT_NE(redirected.output.find("--resume"), std::string::npos) << redirected.output;
}

TEST_F(CliReliability, ResumeFromBestWhenLastIsMissingAndTemporariesAreRemoved) {
  const auto run = copy_of_base("killed_between");
  fs::remove(lunar::runs::last_checkpoint(run));  // killed after best.pt, before last.pt
  const auto leftover = run / "checkpoints" / ".last.pt.tmp.4242.0";
  std::ofstream(leftover) << "half a checkpoint";
  const auto resumed = run_command(resume_command(run, " --set train.steps=20"));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_EQ(summary_steps(run), 20);
  EXPECT_FALSE(fs::exists(leftover));
  // Steps 11..20 were trained after the resume (not 1..20 again), and one test line remains.
  EXPECT_EQ(count_lines_with(run / "metrics.jsonl", "\"step\":1,\"split\":\"train\""), 1);
  EXPECT_EQ(count_lines_with(run / "metrics.jsonl", "\"step\":11,\"split\":\"train\""), 1);
  EXPECT_EQ(count_lines_with(run / "metrics.jsonl", "\"split\":\"test\""), 1);
}

TEST_F(CliReliability, ResumingAFinishedRunAddsNoSecondTestLine) {
  const auto run = copy_of_base("finished");
  ASSERT_EQ(count_lines_with(run / "metrics.jsonl", "\"split\":\"test\""), 1);
  const auto resumed = run_command(resume_command(run));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_EQ(count_lines_with(run / "metrics.jsonl", "\"split\":\"test\""), 1);
  EXPECT_EQ(summary_steps(run), 10);
}

TEST_F(CliReliability, FreshRunNeverMixesWithAnotherRun) {
  // A finished run whose checkpoints were deleted still has its summary: refused.
  const auto finished = copy_of_base("summary_only");
  fs::remove_all(finished / "checkpoints");
  const auto refused = run_command(train_command(finished, 10));
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("summary.json"), std::string::npos) << refused.output;
  // A run killed before its first checkpoint left only history: the new run starts it afresh.
  const auto partial = dir_ / "partial";
  fs::create_directories(partial);
  // A loss that no line of a real run holds, not even as digits inside another value.
  std::ofstream(partial / "metrics.jsonl")
      << "{\"step\":7,\"split\":\"train\",\"loss\":424242.5}\n";
  const auto fresh = run_command(train_command(partial, 10));
  ASSERT_EQ(fresh.code, 0) << fresh.output;
  EXPECT_EQ(read(partial / "metrics.jsonl").find("424242.5"), std::string::npos);
  EXPECT_EQ(count_lines_with(partial / "metrics.jsonl", "\"step\":7,\"split\":\"train\""), 1);
}

TEST_F(CliReliability, InterruptedRunExitsWithTheSignalsCode) {
  for (const auto& [signal, code] : {std::pair{"INT", 130}, {"TERM", 143}}) {
    const auto run = dir_ / (std::string("signal_") + signal);
    fs::remove_all(run);
    // Signal once training has logged a step (the handlers are installed by then).
    const auto script = train_command(run, 100000) + " & pid=$!; for i in $(seq 1200); do " +
                        "grep -q '\"split\":\"train\"' " + (run / "metrics.jsonl").string() +
                        " 2>/dev/null && break; sleep 0.1; done; kill -" + signal +
                        " $pid; wait $pid";
    const auto result = run_command(script);
    EXPECT_EQ(result.code, code) << signal << "\n" << result.output;
    EXPECT_NE(result.output.find("interrupted at step"), std::string::npos) << result.output;
    EXPECT_TRUE(fs::exists(lunar::runs::last_checkpoint(run))) << signal;
    EXPECT_FALSE(fs::exists(run / "summary.json")) << signal;
  }
}

TEST_F(CliReliability, BadOptionsAndValuesAreClearErrors) {
  const auto config_dir = run_command(lunar_command() + " train --config " + dir_.string());
  EXPECT_EQ(config_dir.code, 1) << config_dir.output;
  EXPECT_NE(config_dir.output.find(dir_.string() + ": expected a TOML file, got a directory"),
            std::string::npos)
      << config_dir.output;

  const auto empty_run_dir = run_command(lunar_command() + " train --config " LUNAR_SOURCE_DIR
                                                           "/configs/cpu/listops_convluna.toml "
                                                           "--run-dir ''");
  EXPECT_EQ(empty_run_dir.code, 1) << empty_run_dir.output;
  EXPECT_NE(empty_run_dir.output.find("--run-dir: expected a folder"), std::string::npos)
      << empty_run_dir.output;

  for (const char* lr : {"inf", "1e308", "nan"}) {
    const auto bad_lr =
        run_command(train_command(dir_ / "never", 10, std::string(" optim.lr=") + lr));
    EXPECT_EQ(bad_lr.code, 1) << bad_lr.output;
    EXPECT_NE(bad_lr.output.find("optim.lr: expected a positive number at most 1"),
              std::string::npos)
        << bad_lr.output;
  }
  EXPECT_FALSE(fs::exists(dir_ / "never"));
}
