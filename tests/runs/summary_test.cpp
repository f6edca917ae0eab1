// summary.json: the writer's exact bytes, the round trip, older summaries, and errors naming the
// file and the field.
#include "lunar/runs/summary.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "lunar/core/error.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace lunar::runs;

namespace {

RunSummary example() {
  RunSummary s;
  s.run_dir = "runs/luna";
  s.steps = 200;
  s.best_step = 150;
  s.best_validation_accuracy = 0.375;
  s.test_accuracy_best = 0.3;
  s.test_accuracy_last = 0.25;
  s.test_loss_best = 1.5;
  s.majority_rate = 0.17;
  s.best_predicts_one_class = false;
  s.parameters = 12345;
  s.seconds = 12.5;
  s.stopped_early = true;
  s.interrupted = false;
  return s;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(Summary, WritesSortedKeysIndentedByTwo) {
  lunar::testing::TempDir dir;
  write_summary(dir / "summary.json", example());
  EXPECT_EQ(read_text(dir / "summary.json"),
            "{\n"
            "  \"best_predicts_one_class\": false,\n"
            "  \"best_step\": 150,\n"
            "  \"best_validation_accuracy\": 0.375,\n"
            "  \"interrupted\": false,\n"
            "  \"majority_rate\": 0.17,\n"
            "  \"parameters\": 12345,\n"
            "  \"run_dir\": \"runs/luna\",\n"
            "  \"seconds\": 12.5,\n"
            "  \"steps\": 200,\n"
            "  \"stopped_early\": true,\n"
            "  \"test_accuracy_best\": 0.3,\n"
            "  \"test_accuracy_last\": 0.25,\n"
            "  \"test_loss_best\": 1.5\n"
            "}\n");
}

TEST(Summary, RoundTrip) {
  lunar::testing::TempDir dir;
  auto written = example();
  written.best_predicts_one_class = true;
  written.interrupted = true;
  written.test_accuracy_best = 0.1 + 0.2;  // not a short decimal: doubles round-trip exactly
  write_summary(dir / "summary.json", written);
  const auto read = read_summary(dir / "summary.json");
  EXPECT_EQ(read.run_dir, written.run_dir);
  EXPECT_EQ(read.steps, written.steps);
  EXPECT_EQ(read.best_step, written.best_step);
  EXPECT_EQ(read.best_validation_accuracy, written.best_validation_accuracy);
  EXPECT_EQ(read.test_accuracy_best, written.test_accuracy_best);
  EXPECT_EQ(read.test_accuracy_last, written.test_accuracy_last);
  EXPECT_EQ(read.test_loss_best, written.test_loss_best);
  EXPECT_EQ(read.majority_rate, written.majority_rate);
  EXPECT_TRUE(read.best_predicts_one_class);
  EXPECT_EQ(read.parameters, written.parameters);
  EXPECT_EQ(read.seconds, written.seconds);
  EXPECT_TRUE(read.stopped_early);
  EXPECT_TRUE(read.interrupted);
}

TEST(Summary, OnlyTheRequiredKeys) {
  lunar::testing::TempDir dir;
  std::ofstream(dir / "summary.json")
      << "{\"steps\": 200, \"best_step\": 100, \"best_validation_accuracy\": 0.3,"
      << " \"test_accuracy_best\": 0.17, \"test_accuracy_last\": 0.2, \"majority_rate\": 0.17,"
      << " \"seconds\": 1}\n";
  const auto read = read_summary(dir / "summary.json");
  EXPECT_EQ(read.steps, 200);
  EXPECT_EQ(read.run_dir, "");
  EXPECT_EQ(read.parameters, 0);
  EXPECT_TRUE(read.best_predicts_one_class);  // at the majority rate
}

TEST(Summary, ErrorsNameTheFileAndTheField) {
  lunar::testing::TempDir dir;
  const auto path = dir / "summary.json";
  const auto expect_field = [&](const std::string& text, const std::string& field,
                                const std::string& message) {
    std::ofstream(path) << text;
    try {
      read_summary(path);
      ADD_FAILURE() << "no error for " << text;
    } catch (const lunar::DataError& error) {
      EXPECT_EQ(error.path(), path.string());
      EXPECT_EQ(error.field(), field) << error.what();
      EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
    }
  };
  const std::string valid =
      "\"steps\": 2, \"best_step\": 1, \"best_validation_accuracy\": 0.3, \"test_accuracy_best\": "
      "0.3, \"test_accuracy_last\": 0.2, \"majority_rate\": 0.1";
  expect_field("{" + valid + "}", "seconds", "expected the key, got none");
  expect_field("{" + valid + ", \"seconds\": \"1\"}", "seconds", "expected a number, got string");
  expect_field("{" + valid + ", \"seconds\": 1, \"interrupted\": 0}", "interrupted",
               "expected true or false, got number");
  expect_field("{" + valid + ", \"seconds\": 1, \"run_dir\": 3}", "run_dir",
               "expected a string, got number");
  expect_field("{" + valid, "", "malformed JSON");
  expect_field("[1]", "", "expected a JSON object, got array");
  EXPECT_THROW(read_summary(dir / "missing.json"), lunar::DataError);
}

}  // namespace
