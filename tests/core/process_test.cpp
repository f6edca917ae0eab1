// The process runner: output to a merged pipe, separate pipes or a log file, the environment,
// stdin from /dev/null, exit statuses and signals, process groups, and a program that cannot
// start.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "lunar/core/error.h"
#include "lunar/core/process.h"
#include "support/temp_dir.h"

namespace {

using lunar::Output;
using lunar::Process;
using lunar::SpawnOptions;

// Everything written to `fd` until end of file; closes it.
std::string read_all(int fd) {
  std::string text;
  std::array<char, 256> buffer{};
  ssize_t count;
  while ((count = read(fd, buffer.data(), buffer.size())) > 0) {
    text.append(buffer.data(), static_cast<size_t>(count));
  }
  close(fd);
  return text;
}

SpawnOptions shell(const std::string& script) {
  SpawnOptions options;
  options.args = {"/bin/sh", "-c", script};
  return options;
}

TEST(Process, MergedPipeHoldsStdoutAndStderrInOrder) {
  Process process(shell("echo out; echo err >&2; echo again"));
  EXPECT_EQ(process.error_fd(), -1);
  EXPECT_EQ(read_all(process.output_fd()), "out\nerr\nagain\n");
  const auto status = process.wait();
  EXPECT_TRUE(status.ok());
  EXPECT_FALSE(process.running());
}

TEST(Process, PipesKeepTheStreamsApartAndTheEnvironmentIsSetOverOurs) {
  ASSERT_EQ(setenv("LUNAR_PROCESS_TEST_INHERITED", "kept", 1), 0);
  ASSERT_EQ(setenv("LUNAR_PROCESS_TEST_REPLACED", "old", 1), 0);
  auto options = shell(
      "echo $LUNAR_PROCESS_TEST_INHERITED $LUNAR_PROCESS_TEST_REPLACED $LUNAR_PROCESS_TEST_NEW; "
      "echo to-stderr >&2");
  options.output = Output::kPipes;
  options.environment = {{"LUNAR_PROCESS_TEST_REPLACED", "new"}, {"LUNAR_PROCESS_TEST_NEW", "42"}};
  Process process(options);
  EXPECT_EQ(read_all(process.output_fd()), "kept new 42\n");
  EXPECT_EQ(read_all(process.error_fd()), "to-stderr\n");
  EXPECT_TRUE(process.wait().ok());
}

TEST(Process, FileOutputIsAppendedAndStdinCanBeEmpty) {
  lunar::testing::TempDir dir;
  const auto log = dir / "train.log";
  for (const char* script : {"echo one; echo two >&2", "cat; echo three"}) {
    auto options = shell(script);
    options.output = Output::kFile;
    options.file = log;
    options.null_stdin = true;  // `cat` reads nothing and ends
    Process process(options);
    EXPECT_EQ(process.output_fd(), -1);
    EXPECT_TRUE(process.wait().ok());
  }
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "one\ntwo\nthree\n");
}

TEST(Process, ExitStatusOrSignal) {
  Process exited(shell("exit 5"));
  close(exited.output_fd());
  const auto code = exited.wait();
  EXPECT_EQ(code.code, 5);
  EXPECT_EQ(code.signal, 0);
  EXPECT_FALSE(code.ok());

  Process killed(shell("kill -TERM $$"));
  close(killed.output_fd());
  const auto signal = killed.wait();
  EXPECT_EQ(signal.code, -1);
  EXPECT_EQ(signal.signal, SIGTERM);
  EXPECT_FALSE(signal.ok());
}

TEST(Process, OwnProcessGroupPollAndSignal) {
  SpawnOptions options;
  options.args = {"/bin/sleep", "1000"};
  options.output = Output::kPipes;
  options.own_process_group = true;
  Process process(options);
  close(process.output_fd());
  close(process.error_fd());
  EXPECT_EQ(getpgid(process.pid()), process.pid());
  EXPECT_NE(getpgid(process.pid()), getpgrp());
  EXPECT_FALSE(process.poll().has_value());
  EXPECT_TRUE(process.running());
  process.signal(SIGKILL);
  const auto status = process.wait();
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_FALSE(process.running());
  EXPECT_FALSE(process.poll().has_value());  // reaped: nothing more to tell
  EXPECT_THROW(process.wait(), lunar::Error);
}

TEST(Process, ProgramThatCannotStartIsAnErrorNamingIt) {
  SpawnOptions options;
  options.args = {"/nonexistent/lunar", "train"};
  try {
    Process process(options);
    FAIL() << "expected an error";
  } catch (const lunar::Error& error) {
    EXPECT_STREQ(
        error.what(),
        "[process] expected to start '/nonexistent/lunar', got: No such file or directory");
  }
  options.args = {};
  EXPECT_THROW(Process{options}, lunar::Error);
}

}  // namespace
