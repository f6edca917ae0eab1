// The process pool with small shell commands: how each command ended, its log, its process group
// and empty stdin, at most `jobs` at once, and a stop passed on once after which nothing starts.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/study/pool.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace lunar::study;

PoolCommand shell(const std::string& script, const fs::path& log) {
  return {{"/bin/sh", "-c", script}, log};
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the pool, recording starts and ends as "s<i>" and "e<i>" in order.
struct Recorded {
  int stopped_by = 0;
  std::vector<std::string> events;
  std::vector<CommandEnd> ends;  // by index
};
Recorded run(const std::vector<PoolCommand>& commands, PoolOptions options) {
  Recorded recorded;
  options.on_start = [&](size_t i) { recorded.events.push_back("s" + std::to_string(i)); };
  options.on_end = [&](const CommandEnd& end) {
    recorded.events.push_back("e" + std::to_string(end.index));
    recorded.ends.push_back(end);
  };
  recorded.stopped_by = run_pool(commands, options);
  std::sort(recorded.ends.begin(), recorded.ends.end(),
            [](const CommandEnd& a, const CommandEnd& b) { return a.index < b.index; });
  return recorded;
}

TEST(Pool, ClassifiesEachEndAndWritesEachLog) {
  lunar::testing::TempDir dir;
  PoolOptions options;
  options.jobs = 2;
  const auto recorded =
      run({shell("echo out; echo err >&2", dir / "zero/train.log"),
           shell("exit 3", dir / "one.log"), shell("kill -KILL $$", dir / "two.log")},
          options);
  EXPECT_EQ(recorded.stopped_by, 0);
  ASSERT_EQ(recorded.ends.size(), 3u);
  EXPECT_EQ(recorded.ends[0].outcome, Outcome::kDone);
  EXPECT_EQ(recorded.ends[1].outcome, Outcome::kFailed);
  EXPECT_EQ(recorded.ends[1].status.code, 3);
  EXPECT_EQ(describe_exit(recorded.ends[1].status), "exit status 3");
  EXPECT_EQ(recorded.ends[2].outcome, Outcome::kFailed);
  EXPECT_EQ(recorded.ends[2].status.signal, SIGKILL);
  EXPECT_EQ(describe_exit(recorded.ends[2].status), "signal 9");
  EXPECT_EQ(read(dir / "zero/train.log"), "out\nerr\n");  // the log's folder was created
  // Two at once: both start before either ends.
  ASSERT_GE(recorded.events.size(), 2u);
  EXPECT_EQ(recorded.events[0], "s0");
  EXPECT_EQ(recorded.events[1], "s1");
}

TEST(Pool, OneJobRunsTheCommandsOneAfterAnother) {
  lunar::testing::TempDir dir;
  PoolOptions options;
  options.jobs = 1;
  const auto recorded = run(
      {shell("true", dir / "a.log"), shell("true", dir / "b.log"), shell("true", dir / "c.log")},
      options);
  EXPECT_EQ(recorded.events, (std::vector<std::string>{"s0", "e0", "s1", "e1", "s2", "e2"}));
}

TEST(Pool, EachCommandHasItsOwnProcessGroupAndNoInput) {
  lunar::testing::TempDir dir;
  // Field 5 of /proc/PID/stat is the process group; `cat` ends at once on /dev/null.
  const auto recorded =
      run({shell("echo $$; cut -d' ' -f5 /proc/$$/stat; cat", dir / "group.log")}, PoolOptions{});
  ASSERT_EQ(recorded.ends.size(), 1u);
  EXPECT_EQ(recorded.ends[0].outcome, Outcome::kDone);
  std::istringstream lines(read(dir / "group.log"));
  std::string pid, group;
  std::getline(lines, pid);
  std::getline(lines, group);
  EXPECT_FALSE(pid.empty());
  EXPECT_EQ(group, pid);
}

TEST(Pool, StopIsPassedOnOnceAndNothingStartsAfterIt) {
  lunar::testing::TempDir dir;
  const std::vector<fs::path> logs{dir / "killed.log", dir / "saved.log", dir / "failed.log",
                                   dir / "never.log"};
  const std::string loop = "echo ready; while :; do sleep 0.1; done";
  const std::vector<PoolCommand> commands{
      shell("echo ready; exec sleep 1000", logs[0]),    // dies of the signal
      shell("trap 'exit 143' TERM; " + loop, logs[1]),  // saves its state and exits 128+15
      shell("trap 'exit 3' TERM; " + loop, logs[2]),    // an error on its way out
      shell("echo started", logs[3])};
  int stops = 0;
  PoolOptions options;
  options.jobs = 3;
  // The stop comes once all three are ready (their traps are set).
  options.stop_signal = [&] {
    for (size_t i = 0; i < 3; ++i) {
      if (read(logs[i]).find("ready") == std::string::npos) return 0;
    }
    ++stops;
    return SIGTERM;
  };
  const auto recorded = run(commands, options);
  EXPECT_EQ(recorded.stopped_by, SIGTERM);
  EXPECT_EQ(stops, 1);
  ASSERT_EQ(recorded.ends.size(), 3u);
  EXPECT_EQ(recorded.ends[0].outcome, Outcome::kInterrupted);
  EXPECT_EQ(recorded.ends[0].status.signal, SIGTERM);
  EXPECT_EQ(recorded.ends[1].outcome, Outcome::kInterrupted);
  EXPECT_EQ(recorded.ends[1].status.code, 143);
  EXPECT_EQ(recorded.ends[2].outcome, Outcome::kFailed);
  EXPECT_EQ(recorded.ends[2].status.code, 3);
  EXPECT_EQ(std::count(recorded.events.begin(), recorded.events.end(), "s3"), 0);
  EXPECT_FALSE(fs::exists(logs[3]));
}

TEST(Pool, RejectsNoJobs) {
  PoolOptions options;
  options.jobs = 0;
  EXPECT_THROW(run_pool({}, options), lunar::Error);
}

}  // namespace
