// The shared fixture of end-to-end tests that drive the `lunar` binary on ListOps: one folder
// per test suite holding a small release from lunar's generator, and the command line that
// trains a tiny model on it. Header-only, as support/lunar_cli.h is.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/lunar_cli.h"
#include "support/process.h"

namespace lunar::testing {

// `lunar data listops` settings: seed, split sizes and expression lengths in tokens.
struct ListOpsRelease {
  int seed = 1;
  int train = 200, validation = 48, test = 48;
  int min_length = 20, max_length = 80;
};

// Writes `release` into `folder` (basic_{train,val,test}.tsv); "" or the generator's output when
// it fails.
inline std::string generate_listops(const std::filesystem::path& folder,
                                    const ListOpsRelease& release) {
  const auto generated = run_command(
      lunar_command() + " data listops --out " + folder.string() + " --seed " +
      std::to_string(release.seed) + " --train " + std::to_string(release.train) + " --val " +
      std::to_string(release.validation) + " --test " + std::to_string(release.test) +
      " --min-len " + std::to_string(release.min_length) + " --max-len " +
      std::to_string(release.max_length));
  return generated.code == 0 ? "" : generated.output;
}

// A gtest fixture whose suite shares dir_ (under TMPDIR, named after the suite, removed at its
// end) with Derived::release() generated in data(). Derived defines
// `static ListOpsRelease release()`.
template <typename Derived>
class ListOpsSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    dir_ = std::filesystem::temp_directory_path() /
           ("lunar-" + std::string(suite ? suite->name() : "listops") + "-" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const auto error = generate_listops(data(), Derived::release());
    ASSERT_EQ(error, "");
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  static std::filesystem::path data() { return dir_ / "data"; }

  // ` train --config configs/cpu/<config> --run-dir RUN --set task.path=DATA
  // task.max_length=N model.input.max_length=N SETTINGS`, N the release's max length: the
  // arguments after the binary (or after `launch ... --`).
  static std::string train_args(const std::filesystem::path& run_dir, const std::string& settings,
                                const std::string& config = "listops_convluna.toml") {
    const std::string length = std::to_string(Derived::release().max_length);
    return " train --config " LUNAR_SOURCE_DIR "/configs/cpu/" + config + " --run-dir " +
           run_dir.string() + " --set task.path=" + data().string() + " task.max_length=" + length +
           " model.input.max_length=" + length + " " + settings;
  }

  static inline std::filesystem::path dir_;
};

}  // namespace lunar::testing
