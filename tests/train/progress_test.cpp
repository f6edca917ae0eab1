// What the progress callbacks print: an evaluation's progress (plain lines at most every N
// seconds off a terminal) and the one warning of a CPU run that would take too long.
#include <gtest/gtest.h>

#include <string>

#include "lunar/train/callbacks.h"

using namespace lunar;

namespace {

size_t count_of(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

train::StepRecord step(int64_t number, int64_t total) {
  train::StepRecord record;
  record.step = number;
  record.total_steps = total;
  return record;
}

}  // namespace

TEST(EvalProgressLine, PlainLinesAtMostEveryPeriodAndNoneAtTheEnd) {
  testing::internal::CaptureStderr();
  train::EvalProgressLine every_time(false, 0.0);
  for (int64_t done : {16, 32, 48}) every_time.update("val", done, 48);
  const auto printed = testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("evaluating val: 16/48 examples (33%)"), std::string::npos) << printed;
  EXPECT_NE(printed.find("evaluating val: 32/48 examples (67%)"), std::string::npos) << printed;
  EXPECT_EQ(count_of(printed, "\n"), 2u) << "the finished evaluation prints its result instead";

  testing::internal::CaptureStderr();
  train::EvalProgressLine quiet(false, 1e9);
  for (int64_t done : {16, 32, 48}) quiet.update("test", done, 48);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(SlowRunWarning, WarnsOnceWhenTheStepsLeftExceedTheLimit) {
  models::LunarModel none{nullptr};
  const models::ModelOutput output;
  train::TrainingState start;
  start.step = 10;  // a resumed run measures from where it resumed

  testing::internal::CaptureStderr();
  train::SlowRunWarning slow(0.0, 3);
  slow.on_start(start, none);
  for (int64_t s = 11; s <= 20; ++s) slow.on_step(step(s, 1000), none, output);
  const auto printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(count_of(printed, "warning:"), 1u) << printed;
  EXPECT_NE(printed.find("the 987 steps left take about"), std::string::npos) << printed;
  EXPECT_NE(printed.find("configs/cpu/"), std::string::npos) << printed;

  testing::internal::CaptureStderr();
  train::SlowRunWarning fast(1e9, 3);
  fast.on_start(start, none);
  for (int64_t s = 11; s <= 20; ++s) fast.on_step(step(s, 1000), none, output);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}
