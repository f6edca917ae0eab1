// Event files of a run resumed twice, decoded by Google's protobuf runtime
// (event_protobuf_support.h): after truncate_event_files no tag is logged twice at one step.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "event_protobuf_support.h"
#include "lunar/train/event_writer.h"
#include "lunar/train/run_log.h"

namespace {

using namespace lunar::train::testing;

TEST(EventProtobuf, ResumedRunsLogNoTagTwiceAtOneStep) {
  // A run logs up to step 500 and finishes; it is resumed from its checkpoint at step 300 with
  // more steps and finishes at 600; then the finished run is resumed once more at step 600,
  // where it only evaluates the test split again.
  Schema schema;
  const auto dir = fresh_directory("resume");
  const auto config = luna_config();
  const auto png = heatmap_png(4, 4);
  const auto train_to = [&](lunar::train::RunLog& log, int64_t from, int64_t to) {
    for (int64_t step = from; step <= to; step += 100) {
      log.record(step, "train", {{"loss", 1.0 / static_cast<double>(step)}});
      if (step % 200 == 0) log.record_image("memory/P", step, png);
    }
    log.record(to, "test", {{"accuracy_best", 0.5}, {"accuracy_last", 0.5}});
    log.record_end(to);
  };
  {
    lunar::train::RunLog first(dir);
    first.record_start(config, lunar::train::to_toml(config));
    train_to(first, 100, 500);
  }
  const auto tensorboard = dir / "tensorboard";
  // Steps 400 and 500 go, and the test scalars and session end of step 500.
  EXPECT_EQ(lunar::train::truncate_event_files(tensorboard, 300, lunar::train::kRunEndTagPrefixes),
            5);
  {
    lunar::train::RunLog second(dir);
    train_to(second, 400, 600);
  }
  // Only the test scalars and the session end of step 600 go.
  EXPECT_EQ(lunar::train::truncate_event_files(tensorboard, 600, lunar::train::kRunEndTagPrefixes),
            2);
  {
    lunar::train::RunLog third(dir);
    third.record(600, "test", {{"accuracy_best", 0.5}, {"accuracy_last", 0.5}});
    third.record_end(600);
  }

  std::map<std::string, std::multiset<int64_t>> steps;
  std::vector<std::vector<std::unique_ptr<pb::Message>>> files;
  for (const auto& entry : fs::directory_iterator(tensorboard)) {
    files.push_back(read_event_file(schema, entry.path()));
    for (const auto& [tag, value] : values_by_tag(files.back())) steps[tag].insert(value.step);
  }
  ASSERT_EQ(files.size(), 3u);
  for (const auto& [tag, at] : steps) {
    for (const auto step : at) EXPECT_EQ(at.count(step), 1u) << tag << " at step " << step;
  }
  const std::multiset<int64_t> train_steps{100, 200, 300, 400, 500, 600};
  EXPECT_EQ(steps["train/loss"], train_steps);
  EXPECT_EQ(steps["memory/P"], (std::multiset<int64_t>{200, 400, 600}));
  EXPECT_EQ(steps["config"], std::multiset<int64_t>{0});
  EXPECT_EQ(steps["_hparams_/session_start_info"], std::multiset<int64_t>{0});
  EXPECT_EQ(steps["_hparams_/session_end_info"], std::multiset<int64_t>{600});
  EXPECT_EQ(steps["test/accuracy_best"], std::multiset<int64_t>{600});
}

}  // namespace
