// A write that fails half way (here: the file size limit, as a full disk would) is reported
// with the system's reason, leaves no temporary file and keeps the old contents; temporary
// files of killed writers are recognised and removed.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "lunar/core/atomic_file.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// While alive, files this process writes cannot grow beyond `bytes` (EFBIG, like ENOSPC a
// write(2) that fails after the file was opened).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

std::string lower_first(std::string text) {
  text[0] = static_cast<char>(std::tolower(text[0]));
  return text;
}

}  // namespace

TEST(AtomicFileReliability, FailedWriteNamesReasonKeepsOldFileAndLeavesNoTemporary) {
  const lunar::testing::TempDir temp;
  const fs::path dir = temp.path();
  const auto target = dir / "data.bin";
  lunar::write_atomically(target, std::string("old"));
  const std::string big(1 << 16, 'x');
  for (const bool streamed : {false, true}) {
    try {
      FileSizeLimit limit(1024);
      if (streamed) {
        lunar::write_atomically(target, [&](std::ostream& out) { out << big; });
      } else {
        lunar::write_atomically(target, big);
      }
      ADD_FAILURE() << "the write beyond the limit did not fail";
    } catch (const lunar::WriteError& error) {
      EXPECT_EQ(error.path(), target);
      EXPECT_EQ(error.reason(), lower_first(std::strerror(EFBIG)));
      EXPECT_EQ(std::string(error.what()),
                "[io] expected to write '" + target.string() + "', got: file too large");
    }
    EXPECT_EQ(read(target), "old");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  }
}

TEST(AtomicFileReliability, TemporaryFilesOfKilledWritersAreRemoved) {
  EXPECT_TRUE(lunar::is_temporary_file_name(".last.pt.tmp.1234.0"));
  EXPECT_TRUE(lunar::is_temporary_file_name(".metrics.jsonl.tmp.77.12"));
  EXPECT_FALSE(lunar::is_temporary_file_name("last.pt"));
  EXPECT_FALSE(lunar::is_temporary_file_name("notes.tmp.1.2"));
  EXPECT_FALSE(lunar::is_temporary_file_name(".last.pt.tmp.x.1"));
  const lunar::testing::TempDir temp;
  const fs::path dir = temp.path();
  for (const char* name : {".last.pt.tmp.1234.0", ".best.pt.tmp.1234.1", "last.pt", "keep.tmp"}) {
    std::ofstream(dir / name) << "x";
  }
  EXPECT_EQ(lunar::remove_temporary_files(dir), 2);
  EXPECT_TRUE(fs::exists(dir / "last.pt"));
  EXPECT_TRUE(fs::exists(dir / "keep.tmp"));
  EXPECT_FALSE(fs::exists(dir / ".last.pt.tmp.1234.0"));
  EXPECT_EQ(lunar::remove_temporary_files(dir / "missing"), 0);
}
