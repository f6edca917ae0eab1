// The command line end to end on a small generated ListOps: train, resume, eval, predict,
// export to PyTorch and back, inspect, and clear errors for bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lunar/runtime/compat.h"
#include "support/listops_suite.h"
#include "support/lunar_cli.h"
#include "support/predictions.h"
#include "support/process.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::run_command;
using Result = lunar::testing::CommandResult;

using lunar::testing::lunar_command;

std::string value_after(const std::string& text, const std::string& label) {
  const auto at = text.find(label);
  if (at == std::string::npos) return "";
  std::istringstream in(text.substr(at + label.size()));
  std::string value;
  in >> value;
  return value;
}

class Cli : public lunar::testing::ListOpsSuite<Cli> {
 public:
  static lunar::testing::ListOpsRelease release() { return {1, 400, 64, 64, 20, 120}; }

 protected:
  static std::string train_command(const std::string& run_dir, int steps) {
    return lunar_command() + train_args(run_dir,
                                        "train.eval_every=10 train.log_every=5 runtime.threads=1"
                                        " diag.heatmap_steps=[0,10] train.steps=" +
                                            std::to_string(steps));
  }
};

}  // namespace

TEST_F(Cli, TrainResumeEvalPredictExportImportInspect) {
  const auto run_dir = (dir_ / "run").string();
  auto trained = run_command(train_command(run_dir, 20));
  ASSERT_EQ(trained.code, 0) << trained.output;
  EXPECT_NE(trained.output.find("majority class"), std::string::npos) << trained.output;
  for (const char* file :
       {"config.toml", "metrics.jsonl", "summary.json", "checkpoints/best.pt",
        "checkpoints/last.pt", "heatmaps/memory_step000000.png", "heatmaps/memory_step000010.png",
        "heatmaps/memory_grad_step000010.png"}) {
    EXPECT_TRUE(fs::exists(fs::path(run_dir) / file)) << file;
  }
  bool has_events = false;
  for (const auto& entry : fs::directory_iterator(fs::path(run_dir) / "tensorboard")) {
    has_events |= entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  }
  EXPECT_TRUE(has_events);

  // The configuration printed at the start is the one saved, with the task's facts applied
  // (model.input.max_length = 0 becomes the task's 120), comments left out.
  const auto facts_dir = dir_ / "facts";
  auto facts = run_command(train_command(facts_dir.string(), 1) +
                           " model.input.max_length=0 runtime.device=auto");
  ASSERT_EQ(facts.code, 0) << facts.output;
  if (!lunar::compat::cuda_available()) {  // a configuration for a GPU says where it landed
    EXPECT_NE(facts.output.find(
                  "runtime.device = auto: no GPU found; training on the CPU, 1 thread(s), fp32"),
              std::string::npos)
        << facts.output;
  }
  std::string saved_lines;
  {
    std::ifstream saved(facts_dir / "config.toml");
    for (std::string line; std::getline(saved, line);) {
      if (line.empty() || line[0] == '#') continue;
      const auto comment = line.find("  # ");
      saved_lines += (comment == std::string::npos ? line : line.substr(0, comment)) + "\n";
    }
  }
  const auto begin = facts.output.find("# effective configuration");
  ASSERT_NE(begin, std::string::npos) << facts.output;
  const auto first = facts.output.find('\n', begin) + 1;
  const auto end = facts.output.find("lunar train: ", first);
  EXPECT_EQ(facts.output.substr(first, end - first), saved_lines);
  EXPECT_NE(
      saved_lines.find("[model.input]\nembedding = \"token\"\nvocab_size = 17\nmax_length = 120\n"),
      std::string::npos)
      << saved_lines;

  // A second run into the same directory is refused, without printing a configuration;
  // --resume continues it.
  auto again = run_command(train_command(run_dir, 20));
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("# effective configuration"), std::string::npos) << again.output;
  auto resumed = run_command(lunar_command() + " train --resume --run-dir " + run_dir +
                             " --set train.steps=30");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  std::ifstream summary_file(fs::path(run_dir) / "summary.json");
  const auto summary = nlohmann::json::parse(summary_file);
  EXPECT_EQ(summary["steps"].get<int64_t>(), 30);
  EXPECT_GT(summary["majority_rate"].get<double>(), 0.0);
  // TensorBoard's text dashboard shows the configuration the resumed steps ran with, from the
  // first of them (step 21), beside the first one.
  const auto events = lunar::testing::tensorboard_bytes(run_dir);
  EXPECT_NE(events.find("\n    steps = 20  #"), std::string::npos);
  EXPECT_NE(events.find("\n    steps = 30  #"), std::string::npos);

  const auto best = (fs::path(run_dir) / "checkpoints" / "best.pt").string();
  auto evaluated = run_command(lunar_command() + " eval --checkpoint " + best + " --split test");
  ASSERT_EQ(evaluated.code, 0) << evaluated.output;
  const auto accuracy = value_after(evaluated.output, "accuracy ");
  EXPECT_NEAR(std::stod(accuracy), summary["test_accuracy_best"].get<double>(), 1e-4)
      << evaluated.output;
  // Batched and padded as the run evaluated (batch 32, each batch to its longest example, masks
  // off): the loss too is the summary's. Another batch would pad differently.
  const auto loss = value_after(evaluated.output, "loss ");
  EXPECT_NEAR(std::stod(loss), summary["test_loss_best"].get<double>(), 1e-4) << evaluated.output;

  const auto input = dir_ / "input.txt";
  std::ofstream(input) << "( ( [MAX 2 ) 9 ) ] )\n( ( [MIN 4 ) 7 ) ] )\n";
  auto predicted =
      run_command(lunar_command() + " predict --checkpoint " + best + " --input " + input.string());
  ASSERT_EQ(predicted.code, 0) << predicted.output;
  std::istringstream lines(predicted.output);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    int label;
    double p, total = 0;
    fields >> label;
    int classes = 0;
    while (fields >> p) total += p, ++classes;
    EXPECT_EQ(classes, 10) << line;
    EXPECT_NEAR(total, 1.0, 1e-4) << line;
    EXPECT_GE(label, 0);
    EXPECT_LT(label, 10);
    ++count;
  }
  EXPECT_EQ(count, 2) << predicted.output;

  const auto weights = (dir_ / "weights.pt").string();
  auto exported =
      run_command(lunar_command() + " export --checkpoint " + best + " --out " + weights);
  ASSERT_EQ(exported.code, 0) << exported.output;
  if (fs::exists("/usr/bin/python3") &&
      run_command("/usr/bin/python3 -c 'import torch'").code == 0) {
    // weights_only=True, torch.load's default since PyTorch 2.6: a dict of tensors and
    // nothing else (no TorchScript type tags).
    auto python = run_command("/usr/bin/python3 -c \"import torch; d = torch.load('" + weights +
                              "', weights_only=True); print(type(d).__name__, len(d), "
                              "tuple(d['encoder.memory'].shape))\"");
    ASSERT_EQ(python.code, 0) << python.output;
    EXPECT_NE(python.output.find("dict "), std::string::npos) << python.output;
    EXPECT_NE(python.output.find("(16, 64)"), std::string::npos) << python.output;
    // What model.state_dict() returns, an OrderedDict, LibTorch cannot read: the error says
    // how to save it instead.
    const auto ordered = (dir_ / "ordered.pt").string();
    ASSERT_EQ(run_command("/usr/bin/python3 -c \"import collections, torch; torch.save("
                          "collections.OrderedDict(torch.load('" +
                          weights + "')), '" + ordered + "')\"")
                  .code,
              0);
    auto refused = run_command(lunar_command() + " import --checkpoint " + best + " --weights " +
                               ordered + " --out " + (dir_ / "never.pt").string());
    EXPECT_EQ(refused.code, 1) << refused.output;
    EXPECT_NE(refused.output.find("torch.save(dict(model.state_dict()), path)"), std::string::npos)
        << refused.output;
    EXPECT_FALSE(fs::exists(dir_ / "never.pt"));
  }
  const auto imported = (dir_ / "imported.pt").string();
  auto import_run = run_command(lunar_command() + " import --checkpoint " + best + " --weights " +
                                weights + " --out " + imported);
  ASSERT_EQ(import_run.code, 0) << import_run.output;
  auto reevaluated =
      run_command(lunar_command() + " eval --checkpoint " + imported + " --split test");
  ASSERT_EQ(reevaluated.code, 0) << reevaluated.output;
  EXPECT_EQ(value_after(reevaluated.output, "accuracy "), accuracy);
  EXPECT_EQ(value_after(reevaluated.output, "loss "), value_after(evaluated.output, "loss "));

  auto inspected = run_command(lunar_command() + " inspect --checkpoint " + best + " --out " +
                               (dir_ / "inspect").string());
  ASSERT_EQ(inspected.code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("block1"), std::string::npos) << inspected.output;
  EXPECT_TRUE(fs::exists(dir_ / "inspect" / "memory_initial.png"));
}

// task.padding = max_length (the research's regime): with masks off, a prediction never depends
// on which other examples share its batch (up to float rounding in the batched products);
// padding to the longest example it does.
TEST_F(Cli, MaxLengthPaddingMakesPredictionsIndependentOfTheBatch) {
  const auto run_dir = (dir_ / "run_max_length").string();
  auto trained = run_command(train_command(run_dir, 5) + " task.padding=max_length");
  ASSERT_EQ(trained.code, 0) << trained.output;
  const auto input = dir_ / "max_length_input.txt";
  {
    std::ifstream test_split(data() / "basic_test.tsv");
    std::ofstream out(input);
    std::string line;
    std::getline(test_split, line);  // header
    for (int i = 0; i < 40 && std::getline(test_split, line); ++i) {
      out << line.substr(0, line.find('\t')) << "\n";
    }
  }
  const auto predict = [&](int batch_size, const std::string& padding) {
    auto result = run_command(lunar_command() + " predict --logits --checkpoint " + run_dir +
                              "/checkpoints/last.pt --input " + input.string() + " --batch-size " +
                              std::to_string(batch_size) + " --set task.padding=" + padding);
    EXPECT_EQ(result.code, 0) << result.output;
    return lunar::testing::parse_predictions(result.output);
  };
  const auto one = predict(1, "max_length"), many = predict(32, "max_length");
  ASSERT_EQ(one.size(), 40u);
  ASSERT_EQ(many.size(), 40u);
  for (size_t row = 0; row < one.size(); ++row) {
    ASSERT_EQ(one[row].values.size(), 10u) << row;
    EXPECT_EQ(one[row].label, many[row].label) << row;
  }
  EXPECT_LE(lunar::testing::max_difference(one, many), 1e-5);
  // The same model padding each batch to its longest example reads different padding.
  EXPECT_GT(lunar::testing::max_difference(predict(1, "longest"), predict(32, "longest")), 1e-3);
}

TEST_F(Cli, BadConfigurationNamesFileLineAndKey) {
  const auto config = dir_ / "bad.toml";
  std::ofstream(config) << "[model]\narchitecture = \"luna\"\n\n[train]\nstepz = 5\n";
  auto result = run_command(lunar_command() + " train --config " + config.string());
  EXPECT_NE(result.code, 0);
  EXPECT_NE(result.output.find(config.string() + ":5"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("train.stepz"), std::string::npos) << result.output;

  auto bad_value =
      run_command(lunar_command() + " train --config " LUNAR_SOURCE_DIR
                                    "/configs/cpu/listops_luna.toml --set model.luna.memory_len=0");
  EXPECT_NE(bad_value.code, 0);
  EXPECT_NE(bad_value.output.find("model.luna.memory_len"), std::string::npos) << bad_value.output;
}

TEST_F(Cli, BadInputsGiveClearErrors) {
  auto missing = run_command(lunar_command() + " eval --checkpoint " + (dir_ / "nope.pt").string());
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.output.find("nope.pt"), std::string::npos) << missing.output;

  const auto garbage = dir_ / "garbage.pt";
  std::ofstream(garbage) << "not a checkpoint";
  auto corrupt = run_command(lunar_command() + " eval --checkpoint " + garbage.string());
  EXPECT_NE(corrupt.code, 0);
  EXPECT_NE(corrupt.output.find("garbage.pt"), std::string::npos) << corrupt.output;
}
