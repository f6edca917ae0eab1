// metrics.jsonl: round trip, line format, truncation on resume, and errors naming path:line.
#include "lunar/runs/metrics_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "lunar/core/error.h"
#include "lunar/runs/layout.h"

namespace fs = std::filesystem;
using lunar::runs::MetricsLog;
using lunar::runs::MetricsRecord;

namespace {

fs::path fresh_log(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("lunar_metrics_test_" + name);
  fs::remove_all(dir);
  return dir / "run" / lunar::runs::kMetricsFile;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(MetricsLog, RoundTrip) {
  const auto path = fresh_log("round_trip");
  {
    MetricsLog log(path);
    log.append({0, "train", {{"loss", 2.302585092994046}, {"learning_rate", 1e-7}}});
    log.append({200, "val", {{"loss", 1.5}, {"accuracy", 0.375}}});
    log.append({200, "diag", {{"block0/mean_cosine", 0.1}, {"nan_value", std::nan("")}}});
    log.append({300, "test", {}});
  }
  const auto records = lunar::runs::read_metrics_log(path);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].step, 0);
  EXPECT_EQ(records[0].split, "train");
  EXPECT_EQ(records[0].values.at("loss"), 2.302585092994046);  // exact: doubles round-trip
  EXPECT_EQ(records[0].values.at("learning_rate"), 1e-7);
  EXPECT_EQ(records[1].values.at("accuracy"), 0.375);
  EXPECT_EQ(records[2].values.at("block0/mean_cosine"), 0.1);
  EXPECT_TRUE(std::isnan(records[2].values.at("nan_value")));
  EXPECT_EQ(records[3].step, 300);
  EXPECT_TRUE(records[3].values.empty());
}

TEST(MetricsLog, OneObjectPerLineStepAndSplitFirst) {
  const auto path = fresh_log("format");
  MetricsLog log(path);
  log.append({7, "val", {{"loss", 0.5}, {"accuracy", 0.25}, {"inf", INFINITY}}});
  // Flushed at once: readable while the writer is still open.
  EXPECT_EQ(read_text(path),
            "{\"step\":7,\"split\":\"val\",\"accuracy\":0.25,\"inf\":null,\"loss\":0.5}\n");
}

TEST(MetricsLog, AppendsToAnExistingLog) {
  const auto path = fresh_log("append");
  { MetricsLog(path).append({1, "train", {{"loss", 1}}}); }
  { MetricsLog(path).append({2, "train", {{"loss", 2}}}); }
  const auto records = lunar::runs::read_metrics_log(path);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].step, 2);
}

TEST(MetricsLog, RejectsReservedNames) {
  MetricsLog log(fresh_log("reserved"));
  EXPECT_THROW(log.append({1, "train", {{"step", 1}}}), lunar::Error);
  EXPECT_THROW(log.append({1, "train", {{"", 1}}}), lunar::Error);
  EXPECT_THROW(log.append({1, "", {{"loss", 1}}}), lunar::Error);
}

TEST(MetricsLog, TruncatesOnResume) {
  const auto path = fresh_log("truncate");
  {
    MetricsLog log(path);
    for (int64_t step = 100; step <= 500; step += 100) {
      log.append({step, "train", {{"loss", 1.0 / step}}});
      log.append({step, "val", {{"loss", 2.0 / step}}});
    }
  }
  // The checkpoint was taken at step 300; the run went on to 500 before it stopped.
  const auto result = lunar::runs::truncate_metrics_log(path, 300);
  EXPECT_EQ(result.kept_lines, 6);
  EXPECT_EQ(result.removed_lines, 4);
  {
    MetricsLog resumed(path);
    resumed.append({400, "train", {{"loss", 0.001}}});
  }
  const auto records = lunar::runs::read_metrics_log(path);
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[5].step, 300);
  EXPECT_EQ(records[6].step, 400);
  EXPECT_EQ(records[6].values.at("loss"), 0.001);
  // Nothing left to remove: the file is not rewritten; no temporaries remain.
  EXPECT_EQ(lunar::runs::truncate_metrics_log(path, 1000).removed_lines, 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(path.parent_path()), fs::directory_iterator()), 1);
  // A log that does not exist yet is fine.
  EXPECT_EQ(lunar::runs::truncate_metrics_log(path.parent_path() / "none.jsonl", 0).kept_lines, 0);
}

TEST(MetricsLog, TornFinalLineIsSkippedByTheReaderAndDroppedOnResume) {
  const auto path = fresh_log("torn");
  write_text(path,
             "{\"step\":1,\"split\":\"train\",\"loss\":1}\n"
             "{\"step\":2,\"split\":\"train\",\"loss\":0.5}\n"
             "{\"step\":3,\"split\":\"tr");
  // A live run may be writing the last line: the reader skips it and leaves the file alone.
  EXPECT_EQ(lunar::runs::read_metrics_log(path).size(), 2u);
  EXPECT_EQ(read_text(path).back(), 'r');
  const auto result = lunar::runs::truncate_metrics_log(path, 2);
  EXPECT_EQ(result.kept_lines, 2);
  EXPECT_EQ(result.removed_lines, 1);
  EXPECT_EQ(lunar::runs::read_metrics_log(path).size(), 2u);
}

TEST(MetricsLog, WriterStartsOnAFreshLineAfterATornLine) {
  const auto path = fresh_log("newline");
  write_text(path, "{\"step\":1,\"split\":\"train\",\"loss\":1}");
  { MetricsLog(path).append({2, "train", {{"loss", 0.5}}}); }
  EXPECT_EQ(lunar::runs::read_metrics_log(path).size(), 2u);
}

TEST(MetricsLog, MalformedLineNamesPathAndLine) {
  const auto path = fresh_log("malformed");
  write_text(path,
             "{\"step\":1,\"split\":\"train\",\"loss\":1}\n"
             "\n"
             "{\"step\":2,\"split\":\"train\",\"loss\":}\n");
  try {
    lunar::runs::read_metrics_log(path);
    FAIL() << "no error";
  } catch (const lunar::DataError& error) {
    EXPECT_EQ(error.path(), path.string());
    EXPECT_EQ(error.line(), 3);
    EXPECT_NE(std::string(error.what()).find(path.string() + ":3:"), std::string::npos)
        << error.what();
  }
  // A malformed line in the middle is not a crash leftover: truncation refuses it too.
  EXPECT_THROW(lunar::runs::truncate_metrics_log(path, 10), lunar::DataError);
}

TEST(MetricsLog, WrongFieldTypesNameTheField) {
  const auto check_field = [](const std::string& text, const std::string& field) {
    const auto path = fresh_log("fields");
    write_text(path, text);
    try {
      lunar::runs::read_metrics_log(path);
      ADD_FAILURE() << "no error for " << text;
    } catch (const lunar::DataError& error) {
      EXPECT_EQ(error.line(), 1);
      EXPECT_EQ(error.field(), field) << error.what();
    }
  };
  check_field("{\"split\":\"train\",\"loss\":1}\n", "step");
  check_field("{\"step\":1.5,\"split\":\"train\"}\n", "step");
  check_field("{\"step\":1,\"loss\":1}\n", "split");
  check_field("{\"step\":1,\"split\":\"train\",\"loss\":\"low\"}\n", "loss");
  check_field("[1, 2]\n", "");
  EXPECT_THROW(lunar::runs::read_metrics_log(fresh_log("missing")), lunar::DataError);
}

}  // namespace
