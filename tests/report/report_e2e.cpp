// A tiny study end to end: `lunar sweep` runs 2 models x 2 seeds on a generated ListOps, a second
// invocation skips everything, a run without summary is resumed, a failing run is reported
// without stopping the others, a SIGTERM stops the running runs which the same command resumes,
// and `lunar report` writes the HTML (report_chromium.cpp renders such a page in Chromium).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

class Study : public lunar::testing::ListOpsSuite<Study> {
 public:
  static lunar::testing::ListOpsRelease release() { return {2, 200, 48, 48, 20, 80}; }

 protected:
  static fs::path write_grid(const std::string& name, const std::string& grid_table,
                             const std::string& task_path) {
    const auto path = dir_ / name;
    std::ofstream(path) << "base = \"" LUNAR_SOURCE_DIR "/configs/cpu/listops_convluna.toml\"\n"
                        << grid_table << "[set]\n"
                        << "\"task.path\" = \"" << task_path << "\"\n"
                        << "\"task.max_length\" = 80\n\"model.norm\" = \"\"\n"
                        << "\"model.luna.memory_len\" = 4\n\"train.steps\" = 6\n"
                        << "\"train.eval_every\" = 3\n\"train.log_every\" = 3\n"
                        << "\"diag.heatmap_steps\" = [0, 6]\n";
    return path;
  }
};

TEST_F(Study, SweepSkipResumeAndReport) {
  const auto grid = write_grid("grid.toml",
                               "[grid]\n\"model.architecture\" = [\"luna\", \"convluna\"]\n"
                               "\"train.seed\" = [0, 1]\n",
                               data().string());
  const auto out = dir_ / "runs";
  const std::string sweep =
      lunar_command() + " sweep --grid " + grid.string() + " --out " + out.string();

  // Commands for a scheduler: one per run (this sweep narrowed with --only), nothing run.
  const auto emitted = run_command(sweep + " --emit-commands");
  ASSERT_EQ(emitted.code, 0) << emitted.output;
  std::istringstream lines(emitted.output);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_NE(line.find(" sweep --grid " + grid.string() + " --out " + out.string() + " --only "),
              std::string::npos)
        << line;
  }
  EXPECT_EQ(count, 4);
  EXPECT_NE(emitted.output.find("--only convluna_seed1\n"), std::string::npos) << emitted.output;
  EXPECT_FALSE(fs::exists(out));

  const auto first = run_command(sweep + " --jobs 2 --threads-per-job 1");
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_NE(first.output.find("4 runs in " + out.string() + " (4 to run, 0 to resume, 0 finished)"),
            std::string::npos)
      << first.output;
  for (const char* name : {"luna_seed0", "luna_seed1", "convluna_seed0", "convluna_seed1"}) {
    EXPECT_TRUE(fs::exists(out / name / "summary.json")) << name;
    EXPECT_TRUE(fs::exists(out / name / "train.log")) << name;
  }
  // An array task for a finished run skips it; an unknown name is an error.
  const auto only = run_command(sweep + " --only luna_seed0");
  EXPECT_EQ(only.code, 0) << only.output;
  EXPECT_NE(only.output.find("1 runs in " + out.string() + " (0 to run, 0 to resume, 1 finished)"),
            std::string::npos)
      << only.output;
  const auto unknown = run_command(sweep + " --only luna_seed9");
  EXPECT_EQ(unknown.code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("no run named 'luna_seed9'"), std::string::npos) << unknown.output;

  const auto manifest = nlohmann::json::parse(read(out / "sweep.json"));
  ASSERT_EQ(manifest["runs"].size(), 4u);
  for (const auto& entry : manifest["runs"]) EXPECT_EQ(entry["status"], "done") << entry.dump();
  EXPECT_EQ(manifest["runs"][0]["settings"]["model.architecture"], "luna");

  // Everything finished: the second invocation skips all runs.
  const auto second = run_command(sweep + " --jobs 2");
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_NE(second.output.find("(0 to run, 0 to resume, 4 finished)"), std::string::npos)
      << second.output;
  EXPECT_EQ(second.output.find("started"), std::string::npos) << second.output;
  // ... and keeps what the first said: each run done, with its time and its accuracy printed.
  EXPECT_NE(second.output.find("done    convluna_seed1 (earlier): test accuracy "),
            std::string::npos)
      << second.output;
  const auto kept = nlohmann::json::parse(read(out / "sweep.json"));
  ASSERT_EQ(kept["runs"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(kept["runs"][i]["status"], "done") << kept["runs"][i].dump();
    EXPECT_GT(kept["runs"][i]["seconds"].get<double>(), 0.0) << kept["runs"][i].dump();
  }

  // A run killed after its last checkpoint (no summary yet) is resumed, not restarted.
  fs::remove(out / "luna_seed1" / "summary.json");
  const auto third = run_command(sweep + " --jobs 2 --threads-per-job 1");
  ASSERT_EQ(third.code, 0) << third.output;
  EXPECT_NE(third.output.find("(0 to run, 1 to resume, 3 finished)"), std::string::npos)
      << third.output;
  EXPECT_NE(third.output.find("resuming luna_seed1"), std::string::npos) << third.output;
  EXPECT_TRUE(fs::exists(out / "luna_seed1" / "summary.json"));

  const auto html = out / "report.html";
  const auto report = run_command(lunar_command() + " report --runs " + out.string() + " --out " +
                                  html.string() + " --stats");
  ASSERT_EQ(report.code, 0) << report.output;
  EXPECT_NE(report.output.find("Friedman M = 4: models (2 blocks)"), std::string::npos)
      << report.output;
  const auto page = read(html);
  EXPECT_NE(page.find("convluna-4"), std::string::npos);
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(read(out / "report.md").find("| luna-4 |"), std::string::npos);
  EXPECT_NE(read(out / "report.csv").find("convluna-4,listops,2,"), std::string::npos);
}

TEST_F(Study, CommandLineGridNamesAndRunsLikeAGridFile) {
  const auto out = dir_ / "cli-grid";
  const std::string sweep =
      lunar_command() + " sweep --config " LUNAR_SOURCE_DIR "/configs/cpu/listops_convluna.toml" +
      " --grid-set model.architecture=luna,transformer --grid-set model.luna.memory_len=2,4" +
      " --set task.path=" + data().string() +
      " --set task.max_length=80 --set train.steps=2 --set train.eval_every=2 --out " +
      out.string();
  // The transformer has no memory: one run for it, not one per memory size.
  const auto dry = run_command(sweep + " --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_NE(dry.output.find("3 runs in"), std::string::npos) << dry.output;
  for (const char* name : {"run     luna_M2\n", "run     luna_M4\n", "run     transformer\n"}) {
    EXPECT_NE(dry.output.find(name), std::string::npos) << name << dry.output;
  }
  const auto emitted = run_command(sweep + " --emit-commands");
  ASSERT_EQ(emitted.code, 0) << emitted.output;
  EXPECT_NE(emitted.output.find("--grid-set model.architecture=luna,transformer --grid-set "
                                "model.luna.memory_len=2,4 --set task.path="),
            std::string::npos)
      << emitted.output;
  const auto ran = run_command(sweep + " --only luna_M2");
  ASSERT_EQ(ran.code, 0) << ran.output;
  EXPECT_NE(read(out / "luna_M2" / "config.toml").find("memory_len = 2"), std::string::npos);

  const auto typo = run_command(lunar_command() + " sweep --config " LUNAR_SOURCE_DIR
                                                  "/configs/cpu/listops_convluna.toml --grid-set "
                                                  "train.sede=0,1 --dry-run");
  EXPECT_EQ(typo.code, 1) << typo.output;
  EXPECT_NE(typo.output.find("did you mean train.seed?"), std::string::npos) << typo.output;
  const auto both = run_command(lunar_command() + " sweep --grid x.toml --config y.toml --dry-run");
  EXPECT_EQ(both.code, 1) << both.output;
  EXPECT_NE(both.output.find("expected either --grid FILE or --config FILE"), std::string::npos)
      << both.output;
}

TEST_F(Study, FailingRunIsReportedWithoutStoppingTheOthers) {
  // The first run's data does not exist; the second's does.
  const auto grid = write_grid("failing.toml",
                               "[grid]\n\"task.path\" = [\"" + (dir_ / "missing").string() +
                                   "\", \"" + data().string() + "\"]\n",
                               "unused");
  // task.path is both a grid axis and fixed: rejected, naming the key.
  const auto both = run_command(lunar_command() + " sweep --grid " + grid.string() + " --dry-run");
  EXPECT_NE(both.code, 0);
  EXPECT_NE(both.output.find("'task.path' is both in [set] and in [grid]"), std::string::npos)
      << both.output;

  std::string text = read(grid);
  text.erase(text.find("\"task.path\" = \"unused\"\n"),
             std::string("\"task.path\" = \"unused\"\n").size());
  std::ofstream(grid) << text;
  const auto out = dir_ / "failing";
  const auto result = run_command(lunar_command() + " sweep --grid " + grid.string() + " --out " +
                                  out.string() + " --jobs 1 --threads-per-job 1");
  EXPECT_NE(result.code, 0) << result.output;
  EXPECT_NE(result.output.find("1 of 2 runs failed"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(out.string() + "/path-"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("/train.log"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("): test accuracy 0."), std::string::npos) << result.output;
  int finished = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    finished += fs::exists(entry.path() / "summary.json") ? 1 : 0;
  }
  EXPECT_EQ(finished, 1);
  const auto manifest = nlohmann::json::parse(read(out / "sweep.json"));
  EXPECT_EQ(manifest["runs"][0]["status"], "failed");
  EXPECT_EQ(manifest["runs"][1]["status"], "done");
}

TEST_F(Study, SigtermStopsTheRunsWhichTheSameCommandResumes) {
  const auto grid = dir_ / "long.toml";
  std::ofstream(grid) << "base = \"" LUNAR_SOURCE_DIR "/configs/cpu/listops_luna.toml\"\n"
                      << "[grid]\n\"train.seed\" = [0, 1, 2]\n[set]\n"
                      << "\"task.path\" = \"" << data().string() << "\"\n"
                      << "\"task.max_length\" = 80\n\"train.steps\" = 100000\n"
                      << "\"train.eval_every\" = 100000\n\"train.log_every\" = 1\n";
  const auto out = dir_ / "stopped";
  const std::string sweep = lunar_command() + " sweep --grid " + grid.string() + " --out " +
                            out.string() + " --jobs 2 --threads-per-job 1";
  // SIGTERM once each of the two runs has logged a step; the third run must never start.
  const auto stopped =
      run_command(sweep +
                  " & pid=$!; for i in $(seq 1200); do "
                  "[ \"$(grep -l ' step ' " +
                  out.string() +
                  "/*/train.log 2>/dev/null | wc -l)\" -ge 2 ] "
                  "&& break; sleep 0.1; done; kill -TERM $pid; wait $pid; echo \"rc=$?\"");
  EXPECT_NE(stopped.output.find("rc=143"), std::string::npos) << stopped.output;
  EXPECT_NE(stopped.output.find("stopped by signal 15"), std::string::npos) << stopped.output;
  const auto manifest = nlohmann::json::parse(read(out / "sweep.json"));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(manifest["runs"][i]["status"], "interrupted") << manifest.dump(1);
    const fs::path run = manifest["runs"][i]["run_dir"].get<std::string>();
    EXPECT_TRUE(fs::exists(run / "checkpoints" / "last.pt")) << run;
    EXPECT_FALSE(fs::exists(run / "summary.json")) << run;
  }
  EXPECT_EQ(manifest["runs"][2]["status"], "pending");
  EXPECT_FALSE(fs::exists(out / "seed2"));
  const auto again = run_command(sweep + " --dry-run");
  EXPECT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("(1 to run, 2 to resume, 0 finished)"), std::string::npos)
      << again.output;
}

TEST_F(Study, UnknownGridKeyIsAnErrorNamingFileAndKey) {
  const auto grid = write_grid("bad.toml", "[grid]\n\"model.memory\" = [1, 8]\n", data().string());
  const auto result =
      run_command(lunar_command() + " sweep --grid " + grid.string() + " --dry-run");
  EXPECT_EQ(result.code, 1) << result.output;
  EXPECT_NE(result.output.find(grid.string() + ":3: model.memory:"), std::string::npos)
      << result.output;
}

}  // namespace

namespace {
// Every shipped study grid expands, with every key known and every base config loading: the
// research's studies are 3 models x 3 memory sizes x 5 seeds per task, the CPU study 3 x 2 x 5.
TEST(ShippedStudies, ExpandToTheirRunCounts) {
  const std::pair<const char*, int> studies[] = {{"cpu_listops", 30}, {"lra_listops", 45},
                                                 {"lra_text", 45},    {"lra_matching", 45},
                                                 {"lra_cifar10", 45}, {"lra_all", 180}};
  for (const auto& [name, count] : studies) {
    const auto grid =
        fs::path(LUNAR_SOURCE_DIR) / "configs" / "studies" / (std::string(name) + ".toml");
    const auto out = fs::temp_directory_path() / "lunar_report_e2e_dry";
    const auto result = run_command(lunar_command() + " sweep --grid " + grid.string() +
                                    " --dry-run --out " + out.string());
    EXPECT_EQ(result.code, 0) << name << "\n" << result.output;
    int runs = 0;
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) runs += line.rfind("run ", 0) == 0;
    EXPECT_EQ(runs, count) << name;
    fs::remove_all(out);
  }
}
}  // namespace
