// `lunar report --runs RUN` on one run: the page of a run still training (written while it
// trains), refreshed once the run is resumed and finished (report_chromium.cpp renders it).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/listops_suite.h"
#include "support/lunar_cli.h"
#include "support/process.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::run_command;

using lunar::testing::lunar_command;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// The <svg> charts whose y axis reads "accuracy".
std::vector<std::string> accuracy_charts(const std::string& html) {
  std::vector<std::string> charts;
  for (auto begin = html.find("<svg"); begin != std::string::npos;
       begin = html.find("<svg", begin + 1)) {
    const auto chart = html.substr(begin, html.find("</svg>", begin) - begin);
    if (chart.find("rotate(-90)\" text-anchor=\"middle\">accuracy</text>") != std::string::npos) {
      charts.push_back(chart);
    }
  }
  return charts;
}

void expect_majority_line_on_every_accuracy_chart(const std::string& html) {
  const auto charts = accuracy_charts(html);
  EXPECT_GE(charts.size(), 1u);
  for (const auto& chart : charts) {
    EXPECT_NE(chart.find("stroke-dasharray"), std::string::npos) << chart;
    EXPECT_NE(chart.find(">majority class (validation) 0."), std::string::npos) << chart;
  }
}

class RunPage : public lunar::testing::ListOpsSuite<RunPage> {
 public:
  static lunar::testing::ListOpsRelease release() { return {3, 200, 48, 48, 20, 80}; }
};

TEST_F(RunPage, LivePageRefreshesUntilTheRunFinishes) {
  const auto run = dir_ / "luna";
  const auto page = run / "report.html";
  const std::string report =
      lunar_command() + " report --runs " + run.string() + " --out " + page.string();
  // Train "forever"; once the step-3 evaluation, diagnostics and heatmaps are written, build the
  // page while the run goes on, then stop it (SIGTERM: it saves a checkpoint and exits).
  const auto live = run_command(
      lunar_command() +
      train_args(run,
                 "model.luna.memory_len=4 train.steps=100000 train.eval_every=3"
                 " train.log_every=1 runtime.threads=1 'diag.heatmap_steps=[0,3]'",
                 "listops_luna.toml") +
      " > " + (dir_ / "train.log").string() + " 2>&1 & pid=$!; for i in $(seq 1200); do [ -f " +
      (run / "heatmaps" / "memory_grad_step000003.png").string() +
      " ] && grep -q '\"step\":3,\"split\":\"diag\"' " + (run / "metrics.jsonl").string() +
      " 2>/dev/null && break; sleep 0.1; done; " + report + "; echo \"report=$?\"; " +
      lunar_command() + " report --runs " + run.string() + "; kill -TERM $pid; wait $pid");
  ASSERT_NE(live.output.find("report=0"), std::string::npos) << live.output;
  EXPECT_NE(live.output.find("(in progress) -> " + page.string()), std::string::npos);
  EXPECT_NE(live.output.find("of 100000, in progress"), std::string::npos) << live.output;
  EXPECT_NE(live.output.find("majority class validation 0."), std::string::npos) << live.output;
  const auto before = read(page);
  EXPECT_NE(before.find("in progress — re-run <code>lunar report</code> to refresh"),
            std::string::npos);
  EXPECT_NE(before.find(" of 100000</td>"), std::string::npos);
  EXPECT_EQ(before.find("<th>test accuracy</th>"), std::string::npos);
  EXPECT_EQ(count(before, "data:image/png;base64,"), 3u);  // P at 0 and 3, its gradient at 3
  EXPECT_NE(before.find("Mean off-diagonal cosine of memory rows"), std::string::npos);
  expect_majority_line_on_every_accuracy_chart(before);
  EXPECT_FALSE(fs::exists(run / "summary.json"));

  // Resume to a few steps past where it stopped, with a heatmap at the last step.
  const auto log = read(dir_ / "train.log");
  const auto stopped_at = log.find("interrupted at step ");
  ASSERT_NE(stopped_at, std::string::npos) << log;
  const int64_t last = std::atoll(log.c_str() + stopped_at + 20) + 3;
  const auto resumed = run_command(lunar_command() + " train --resume --run-dir " + run.string() +
                                   " --set train.steps=" + std::to_string(last) +
                                   " 'diag.heatmap_steps=[0,3," + std::to_string(last) + "]'");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  const auto refreshed = run_command(report);
  ASSERT_EQ(refreshed.code, 0) << refreshed.output;
  EXPECT_NE(refreshed.output.find("(finished) -> "), std::string::npos) << refreshed.output;
  const auto after = read(page);
  EXPECT_NE(after, before);
  EXPECT_EQ(after.find("in progress"), std::string::npos);
  EXPECT_NE(after.find("<td>finished</td>"), std::string::npos);
  const auto steps = std::to_string(last);
  EXPECT_NE(after.find("<td>" + steps + " of " + steps + "</td>"), std::string::npos);
  EXPECT_NE(after.find("<th>test accuracy</th><td>0."), std::string::npos);
  EXPECT_NE(after.find(" at the best checkpoint, "), std::string::npos);
  EXPECT_EQ(count(after, "data:image/png;base64,"), 5u);  // + P and its gradient at the end
  EXPECT_NE(after.find("<figcaption>Gradient of P at step " + steps + "</figcaption>"),
            std::string::npos);
  expect_majority_line_on_every_accuracy_chart(after);
  // The resumed run kept the step-0 majority rates and logged them once.
  EXPECT_EQ(count(read(run / "metrics.jsonl"), "\"split\":\"data\""), 1u);
  const auto summary = run_command(lunar_command() + " report --runs " + run.string());
  EXPECT_NE(summary.output.find("of " + steps + ", finished"), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("test accuracy 0."), std::string::npos) << summary.output;
}

}  // namespace
