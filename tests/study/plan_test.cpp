// Sweep plans over fake run folders: a run's state from its folder, the plan's counts and
// statuses (runs finished earlier are done with their time), the status after a run ends, and
// the manifest sweep.json, whose rerun keeps earlier runs done.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "lunar/study/plan.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace lunar::study;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A run folder as `lunar train` leaves a finished run, its summary recording `seconds`.
void finish(const fs::path& dir, double seconds) {
  write(dir / "config.toml",
        "[model]\narchitecture = \"luna\"\n[model.luna]\nmemory_len = 4\n"
        "[task]\nname = \"listops\"\n[train]\nseed = 1\n");
  write(dir / "summary.json",
        fmt::format("{{\"steps\": 6, \"best_step\": 3, \"best_validation_accuracy\": 0.5, "
                    "\"test_accuracy_best\": 0.25, \"test_accuracy_last\": 0.2, "
                    "\"majority_rate\": 0.125, \"seconds\": {}}}",
                    seconds));
}

GridRun grid_run(const std::string& seed) {
  return {"seed" + seed,
          "/configs/base.toml",
          "",
          {{"train.seed", seed}},
          {{"train.steps", "6"}, {"train.seed", seed}}};
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

TEST(RunState, TheFolderSaysNewResumeOrDone) {
  lunar::testing::TempDir dir;
  EXPECT_EQ(run_state(dir / "missing"), RunState::kNew);
  EXPECT_EQ(run_state(dir.path()), RunState::kNew);
  write(dir / "best/checkpoints/best.pt", "");
  EXPECT_EQ(run_state(dir / "best"), RunState::kResume);
  write(dir / "last/checkpoints/last.pt", "");
  EXPECT_EQ(run_state(dir / "last"), RunState::kResume);
  finish(dir / "last", 1.0);
  EXPECT_EQ(run_state(dir / "last"), RunState::kDone);
}

TEST(RunStatus, NamesAsTheManifestWritesThem) {
  EXPECT_STREQ(status_name(RunStatus::kPending), "pending");
  EXPECT_STREQ(status_name(RunStatus::kRunning), "running");
  EXPECT_STREQ(status_name(RunStatus::kDone), "done");
  EXPECT_STREQ(status_name(RunStatus::kFailed), "failed");
  EXPECT_STREQ(status_name(RunStatus::kInterrupted), "interrupted");
}

TEST(Plan, CountsTheStatesAndKeepsEarlierRunsDoneWithTheirTime) {
  lunar::testing::TempDir out;
  write(out / "seed1/checkpoints/last.pt", "");
  finish(out / "seed2", 42.5);
  const auto plan = plan_sweep({grid_run("0"), grid_run("1"), grid_run("2")}, out.path());
  ASSERT_EQ(plan.size(), 3u);
  const auto counts = count_states(plan);
  EXPECT_EQ(counts.to_run, 1);
  EXPECT_EQ(counts.to_resume, 1);
  EXPECT_EQ(counts.finished, 1);
  EXPECT_EQ(plan[0].dir, out / "seed0");
  EXPECT_EQ(plan[0].state, RunState::kNew);
  EXPECT_EQ(plan[0].status, RunStatus::kPending);
  EXPECT_EQ(plan[1].state, RunState::kResume);
  EXPECT_EQ(plan[1].status, RunStatus::kPending);
  EXPECT_EQ(plan[2].state, RunState::kDone);
  EXPECT_EQ(plan[2].status, RunStatus::kDone);
  EXPECT_DOUBLE_EQ(plan[2].seconds, 42.5);
  ASSERT_TRUE(plan[2].earlier.results.has_value()) << plan[2].earlier.error;
  EXPECT_DOUBLE_EQ(plan[2].earlier.results->test_accuracy_best, 0.25);
  EXPECT_DOUBLE_EQ(plan[2].earlier.results->majority_rate, 0.125);
}

TEST(Plan, AnUnreadableSummaryIsDoneWithoutTimeAndSaysWhy) {
  lunar::testing::TempDir out;
  finish(out / "seed0", 3.0);
  write(out / "seed0/summary.json", "{\"steps\": ");
  const auto plan = plan_sweep({grid_run("0")}, out.path());
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].status, RunStatus::kDone);
  EXPECT_EQ(plan[0].seconds, 0.0);
  EXPECT_FALSE(plan[0].earlier.results.has_value());
  EXPECT_NE(plan[0].earlier.error.find((out / "seed0/summary.json").string()), std::string::npos)
      << plan[0].earlier.error;
}

TEST(Plan, StatusAfterAnEndNeedsTheSummaryToBeDone) {
  lunar::testing::TempDir dir;
  const auto without = dir / "without";
  const auto with = dir / "with";
  finish(with, 1.0);
  const auto end = [](Outcome outcome) {
    CommandEnd e;
    e.outcome = outcome;
    return e;
  };
  EXPECT_EQ(status_after(end(Outcome::kDone), with), RunStatus::kDone);
  EXPECT_EQ(status_after(end(Outcome::kDone), without), RunStatus::kFailed);
  EXPECT_EQ(status_after(end(Outcome::kFailed), with), RunStatus::kFailed);
  EXPECT_EQ(status_after(end(Outcome::kInterrupted), without), RunStatus::kInterrupted);
}

TEST(Manifest, ListsEveryRunWithItsStatusAndCommand) {
  lunar::testing::TempDir out;
  write(out / "seed1/checkpoints/last.pt", "");
  auto plan = plan_sweep({grid_run("0"), grid_run("1")}, out.path());
  plan[0].status = RunStatus::kFailed;
  plan[0].seconds = 7.0;
  plan[1].status = RunStatus::kRunning;
  write_manifest({"--grid /studies/g.toml", out.path(), 2, "/bin/lunar", 3}, plan);

  const auto manifest = read_json(out / "sweep.json");
  EXPECT_EQ(manifest["grid"], "--grid /studies/g.toml");
  EXPECT_EQ(manifest["out"], out.path().string());
  EXPECT_EQ(manifest["jobs"], 2);
  ASSERT_EQ(manifest["runs"].size(), 2u);
  const auto& first = manifest["runs"][0];
  EXPECT_EQ(first["name"], "seed0");
  EXPECT_EQ(first["config"], "/configs/base.toml");
  EXPECT_EQ(first["settings"], nlohmann::json({{"train.seed", "0"}}));
  EXPECT_EQ(first["overrides"], nlohmann::json({{"train.steps", "6"}, {"train.seed", "0"}}));
  EXPECT_EQ(first["run_dir"], (out / "seed0").string());
  EXPECT_EQ(first["log"], (out / "seed0/train.log").string());
  EXPECT_EQ(first["status"], "failed");
  EXPECT_EQ(first["seconds"], 7.0);
  EXPECT_EQ(first["command"],
            "/bin/lunar train --config /configs/base.toml --set train.steps=6 "
            "train.seed=0 --run-dir " +
                (out / "seed0").string() + " --threads 3");
  // A resumable run's command in the manifest is its fresh start, as before.
  const auto& second = manifest["runs"][1];
  EXPECT_EQ(second["status"], "running");
  EXPECT_EQ(second["command"].get<std::string>().find("--resume"), std::string::npos);
}

TEST(Manifest, ARerunKeepsEarlierRunsDoneWithTheirTime) {
  lunar::testing::TempDir out;
  const ManifestHeader header{"--grid g.toml", out.path(), 1, "/bin/lunar", 1};
  write_manifest(header, plan_sweep({grid_run("0"), grid_run("1")}, out.path()));
  EXPECT_EQ(read_json(out / "sweep.json")["runs"][0]["status"], "pending");

  finish(out / "seed0", 12.0);  // the first invocation finished seed0, then stopped
  write(out / "seed1/checkpoints/last.pt", "");
  write_manifest(header, plan_sweep({grid_run("0"), grid_run("1")}, out.path()));
  const auto rerun = read_json(out / "sweep.json");
  EXPECT_EQ(rerun["runs"][0]["status"], "done");
  EXPECT_EQ(rerun["runs"][0]["seconds"], 12.0);
  EXPECT_EQ(rerun["runs"][1]["status"], "pending");
  EXPECT_EQ(rerun["runs"][1]["seconds"], 0.0);
}

}  // namespace
