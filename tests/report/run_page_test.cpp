// The page and text summary of one run, on synthetic runs: a live one, a finished one at the
// majority class, one without memory, one with nothing logged yet; and what read_run_folder adds.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "lunar/report/run_page.h"
#include "lunar/report/svg.h"
#include "lunar/runs/run_folder.h"

namespace fs = std::filesystem;
using namespace lunar::report;

namespace {

lunar::runs::MetricsRecord point(int64_t step, const std::string& split,
                                 std::map<std::string, double> values) {
  return {step, split, std::move(values)};
}

// A Luna run at step 4 of 100: majority rates at step 0, train lines, two evaluations (the
// first is the best), diag lines for P, its gradient and blocks 0, 1 and 10.
lunar::runs::RunFolder live_run() {
  lunar::runs::RunFolder run;
  run.dir = "/runs/luna_M4_seed3";
  run.architecture = "luna";
  run.memory_len = 4;
  run.task = "listops";
  run.seed = 3;
  run.planned_steps = 100;
  run.config_text = "[task]\nname = \"<listops>\"\n";
  run.metrics.push_back(point(0, "data", {{"majority_val", 0.25}, {"majority_test", 0.3}}));
  for (int64_t step = 0; step <= 4; step += 2) {
    run.metrics.push_back(point(step, "diag",
                                {{"initial.mean_cosine", 0.1},
                                 {"grad.mean_cosine", 0.8},
                                 {"block10.mean_cosine", 0.3},
                                 {"block1.mean_cosine", 0.2},
                                 {"block0.mean_cosine", 0.2},
                                 {"block0.pack_entropy", 0.9},
                                 {"block1.pack_entropy", 0.8}}));
  }
  for (int64_t step = 1; step <= 4; ++step) {
    run.metrics.push_back(point(step, "train",
                                {{"loss", 2.0 - 0.1 * step},
                                 {"accuracy", 0.2},
                                 {"learning_rate", 1e-3},
                                 {"grad_norm", 1.5}}));
  }
  run.metrics.push_back(point(2, "val", {{"accuracy", 0.4}, {"loss", 1.9}}));
  run.metrics.push_back(point(4, "val", {{"accuracy", 0.4}, {"loss", 1.8}}));
  return run;
}

lunar::runs::RunSummary results(double test_best, double majority, bool one_class = false) {
  lunar::runs::RunSummary r;
  r.best_predicts_one_class = one_class;
  r.steps = 100;
  r.best_step = 60;
  r.best_validation_accuracy = 0.45;
  r.test_accuracy_best = test_best;
  r.test_accuracy_last = 0.31;
  r.majority_rate = majority;
  return r;
}

// The <svg> element whose title is `title`.
std::string chart(const std::string& html, const std::string& title) {
  const auto at = html.find(">" + title + "</text>");
  EXPECT_NE(at, std::string::npos) << title;
  const auto begin = html.rfind("<svg", at);
  return html.substr(begin, html.find("</svg>", at) - begin);
}

TEST(RunPage, LiveRunSaysInProgressWithTheMajorityLine) {
  const auto run = live_run();
  const auto status = run_status(run);
  EXPECT_FALSE(status.finished);
  EXPECT_EQ(status.steps, 4);
  ASSERT_TRUE(status.best_step.has_value());
  EXPECT_EQ(*status.best_step, 2);  // the first of two equal accuracies, as the trainer keeps
  ASSERT_TRUE(status.majority_val && status.majority_test);
  EXPECT_DOUBLE_EQ(*status.majority_test, 0.3);

  const auto html = build_run_page(run, true);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<td>4 of 100</td>"), std::string::npos);
  EXPECT_NE(html.find("in progress — re-run <code>lunar report</code> to refresh"),
            std::string::npos);
  EXPECT_NE(html.find("0.4000 at step 2"), std::string::npos);
  EXPECT_NE(html.find("validation 0.2500, test 0.3000"), std::string::npos);
  EXPECT_EQ(html.find("test accuracy"), std::string::npos);
  EXPECT_EQ(html.find("class=\"warn\""), std::string::npos);
  const auto accuracy = chart(html, "Accuracy");
  EXPECT_NE(accuracy.find(">majority class (validation) 0.2500</text>"), std::string::npos);
  EXPECT_NE(accuracy.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(accuracy.find(">validation</text>"), std::string::npos);
  EXPECT_EQ(chart(html, "Loss").find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(chart(html, "Learning rate").find("<polyline"), std::string::npos);
  EXPECT_NE(chart(html, "Gradient norm (before clipping)").find("<polyline"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // The configuration, escaped, in a collapsible block.
  EXPECT_NE(html.find("<details><summary>config.toml</summary>\n<pre>[task]\nname = "
                      "&quot;&lt;listops&gt;&quot;\n</pre></details>"),
            std::string::npos);

  const auto text = run_summary_text(run, true);
  EXPECT_NE(text.find("luna (memory length 4) on listops, seed 3"), std::string::npos) << text;
  EXPECT_NE(text.find("steps 4 of 100, in progress"), std::string::npos) << text;
  EXPECT_NE(text.find("best validation accuracy 0.4000 at step 2"), std::string::npos) << text;
  EXPECT_NE(text.find("majority class validation 0.2500"), std::string::npos) << text;
  EXPECT_EQ(text.find("test accuracy"), std::string::npos) << text;
}

TEST(RunPage, CollapseChartsHaveASeriesPerMemoryInOrder) {
  const auto html = build_run_page(live_run(), true);
  const auto cosine = chart(html, "Mean off-diagonal cosine of memory rows");
  const auto p = cosine.find(">P</text>");
  const auto grad = cosine.find(">gradient of P</text>");
  const auto block0 = cosine.find(">block 0</text>");
  const auto block1 = cosine.find(">block 1</text>");
  const auto block10 = cosine.find(">block 10</text>");
  ASSERT_NE(block10, std::string::npos) << cosine;
  EXPECT_LT(p, grad);
  EXPECT_LT(grad, block0);
  EXPECT_LT(block0, block1);
  EXPECT_LT(block1, block10);  // blocks by number, not by name
  const auto pack = chart(html, "Pack attention entropy (normalised)");
  EXPECT_NE(pack.find(">block 1</text>"), std::string::npos);
  EXPECT_EQ(pack.find(">P</text>"), std::string::npos);
  EXPECT_EQ(html.find("Effective rank"), std::string::npos);  // not logged: no chart
}

TEST(RunPage, FinishedRunPredictingOneClassIsFlagged) {
  auto run = live_run();
  run.results = results(0.3, 0.3, true);
  const auto html = build_run_page(run, true);
  EXPECT_NE(html.find("<td>100 of 100</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>finished</td>"), std::string::npos);
  EXPECT_EQ(html.find("in progress"), std::string::npos);
  EXPECT_NE(html.find("0.4500 at step 60"), std::string::npos);  // summary.json's best
  EXPECT_NE(html.find("0.3000 at the best checkpoint, 0.3100 at the last step"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"warn\">Warning: the best checkpoint gives every test example "
                      "the same class: the model learnt the label prior only.</p>"),
            std::string::npos);
  EXPECT_NE(run_summary_text(run, true).find(
                "warning: the best checkpoint gives every test example the same class"),
            std::string::npos);

  run.results = results(0.3, 0.3, false);  // at the majority rate by chance: summary.json says
  EXPECT_EQ(build_run_page(run, true).find("class=\"warn\""), std::string::npos);
  run.results = results(0.31, 0.3);
  EXPECT_EQ(build_run_page(run, true).find("class=\"warn\""), std::string::npos);
  const auto text = run_summary_text(run, true);
  EXPECT_NE(text.find("test accuracy 0.3100 (best checkpoint)  0.3100 (last)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("warning"), std::string::npos) << text;
}

TEST(RunPage, MajorityFromSummaryWhenTheRunLoggedNoDataLine) {
  auto run = live_run();
  run.metrics.erase(run.metrics.begin());  // the "data" line
  run.results = results(0.5, 0.2);
  const auto accuracy = chart(build_run_page(run, true), "Accuracy");
  EXPECT_NE(accuracy.find(">majority class (test) 0.2000</text>"), std::string::npos);
}

TEST(RunPage, HeatmapsInStepOrderLabelledWithTheStep) {
  const auto dir = fs::temp_directory_path() / "lunar_run_page_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto run = live_run();
  // Sorted by name, as lunar::runs::read_run_folder lists them: gradient images first, step 10
  // before step 2.
  for (const char* name : {"memory_grad_step10.png", "memory_step10.png", "memory_step2.png"}) {
    std::ofstream(dir / name, std::ios::binary) << "Man";
    run.heatmaps.push_back(dir / name);
  }
  const auto html = build_run_page(run, true);
  const auto p2 = html.find("<figcaption>P at step 2</figcaption>");
  const auto p10 = html.find("<figcaption>P at step 10</figcaption>");
  const auto grad10 = html.find("<figcaption>Gradient of P at step 10</figcaption>");
  ASSERT_NE(grad10, std::string::npos);
  EXPECT_LT(p2, p10);
  EXPECT_LT(p10, grad10);
  size_t images = 0;
  for (auto at = html.find("src=\"data:image/png;base64,TWFu\""); at != std::string::npos;
       at = html.find("src=\"data:image/png;base64,TWFu\"", at + 1)) {
    ++images;
  }
  EXPECT_EQ(images, 3u);
  fs::remove_all(dir);
}

TEST(RunPage, ModelWithoutMemorySaysSo) {
  auto run = live_run();
  run.architecture = "transformer";
  const auto html = build_run_page(run, false);
  EXPECT_NE(html.find("transformer has no memory: no collapse metrics and no heatmaps."),
            std::string::npos);
  EXPECT_NE(html.find("transformer (no memory)"), std::string::npos);
  EXPECT_EQ(html.find("Mean off-diagonal cosine"), std::string::npos);
  EXPECT_EQ(html.find("Heatmaps"), std::string::npos);
  EXPECT_EQ(run_summary_text(run, false).find("memory length"), std::string::npos);
}

TEST(RunPage, NothingLoggedYet) {
  auto run = live_run();
  run.metrics.clear();
  const auto html = build_run_page(run, true);
  EXPECT_NE(html.find("<td>0 of 100</td>"), std::string::npos);
  EXPECT_NE(html.find("No metrics logged yet."), std::string::npos);
  EXPECT_NE(html.find("not evaluated yet"), std::string::npos);
  EXPECT_NE(html.find("No memory-collapse metrics logged yet"), std::string::npos);
  EXPECT_NE(html.find("No heatmaps yet"), std::string::npos);
  EXPECT_NE(html.find("<td>not logged</td>"), std::string::npos);  // no majority rate
  EXPECT_EQ(html.find("<svg"), std::string::npos);
}

TEST(LoadRun, ReadsTrainStepsAndTheConfigText) {
  const auto dir = fs::temp_directory_path() / "lunar_run_page_load";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string config =
      "[model]\narchitecture = \"luna\"\n[model.luna]\nmemory_len = 8\n[task]\nname = "
      "\"listops\"\n[train]\nseed = 1\nsteps = 250\n";
  std::ofstream(dir / "config.toml") << config;
  std::ofstream(dir / "metrics.jsonl")
      << "{\"step\":0,\"split\":\"data\",\"majority_val\":0.2,\"majority_test\":0.25}\n";
  auto run = lunar::runs::read_run_folder(dir);
  ASSERT_TRUE(run.planned_steps.has_value());
  EXPECT_EQ(*run.planned_steps, 250);
  EXPECT_EQ(run.config_text, config);
  ASSERT_EQ(run.metrics.size(), 1u);
  EXPECT_DOUBLE_EQ(*run_status(run).majority_val, 0.2);

  std::ofstream(dir / "config.toml") << "[model]\narchitecture = \"luna\"\n[model.luna]\n"
                                     << "memory_len = 8\n[task]\nname = \"listops\"\n[train]\n"
                                     << "seed = 1\n";
  EXPECT_FALSE(lunar::runs::read_run_folder(dir).planned_steps.has_value());
  EXPECT_NE(build_run_page(lunar::runs::read_run_folder(dir), true).find("<td>0</td>"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
