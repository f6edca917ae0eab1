// Learning-rate schedules at start, peak and end.
#include <gtest/gtest.h>

#include <cmath>

#include "lunar/train/schedule.h"

using lunar::train::learning_rate;
using lunar::train::ScheduleConfig;

TEST(Schedule, RsqrtMatchesTheResearchFormula) {
  ScheduleConfig s;
  s.kind = lunar::train::ScheduleKind::rsqrt;
  s.warmup = 1000;
  const double base = 0.005;
  EXPECT_DOUBLE_EQ(learning_rate(s, base, 0, 50000), 0.0);
  // base · min(1, step/W) / √max(step, W)
  EXPECT_DOUBLE_EQ(learning_rate(s, base, 1, 50000), base * (1.0 / 1000) / std::sqrt(1000.0));
  EXPECT_DOUBLE_EQ(learning_rate(s, base, 500, 50000), base * 0.5 / std::sqrt(1000.0));
  EXPECT_DOUBLE_EQ(learning_rate(s, base, 1000, 50000), base / std::sqrt(1000.0));  // peak
  EXPECT_DOUBLE_EQ(learning_rate(s, base, 4000, 50000), base / std::sqrt(4000.0));
  EXPECT_DOUBLE_EQ(learning_rate(s, base, 50000, 50000), base / std::sqrt(50000.0));
  EXPECT_GT(learning_rate(s, base, 1000, 50000), learning_rate(s, base, 999, 50000));
  EXPECT_GT(learning_rate(s, base, 1000, 50000), learning_rate(s, base, 1001, 50000));
}

TEST(Schedule, CosineWarmsUpThenDecaysToMinimum) {
  ScheduleConfig s;
  s.kind = lunar::train::ScheduleKind::cosine;
  s.warmup = 100;
  s.min_lr = 1e-4;
  EXPECT_DOUBLE_EQ(learning_rate(s, 0.01, 50, 1100), 0.005);
  EXPECT_DOUBLE_EQ(learning_rate(s, 0.01, 100, 1100), 0.01);
  EXPECT_NEAR(learning_rate(s, 0.01, 600, 1100), 1e-4 + (0.01 - 1e-4) * 0.5, 1e-12);
  EXPECT_NEAR(learning_rate(s, 0.01, 1100, 1100), 1e-4, 1e-12);
}

TEST(Schedule, ConstantAfterWarmupAndNoWarmup) {
  ScheduleConfig s;
  s.kind = lunar::train::ScheduleKind::constant;
  s.warmup = 10;
  EXPECT_DOUBLE_EQ(learning_rate(s, 0.1, 5, 100), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(s, 0.1, 80, 100), 0.1);
  s.warmup = 0;
  EXPECT_DOUBLE_EQ(learning_rate(s, 0.1, 1, 100), 0.1);
}
