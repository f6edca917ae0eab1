// Writing files so that a reader never sees a half-written one: write a temporary file beside
// the target, flush it, then rename it over the target (atomic on POSIX file systems).
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

#include "lunar/core/error.h"

namespace lunar {

// A file that could not be written; `reason` is the system's, e.g. "no space left on device".
// The message reads `[io] expected to write 'PATH', got: REASON`.
class WriteError : public Error {
 public:
  WriteError(std::filesystem::path path, std::string reason);
  const std::filesystem::path& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::filesystem::path path_;
  std::string reason_;
};

// Calls `write` with a stream to a temporary file next to `path`, then renames it to `path`.
// If `write` throws or the stream fails (WriteError), the temporary file is removed and `path`
// is untouched.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(std::ostream&)>& write);

// Convenience for text or bytes already in memory.
void write_atomically(const std::filesystem::path& path, const std::string& contents);

// Whether `name` is a temporary file of write_atomically (left behind only by a killed process).
bool is_temporary_file_name(const std::string& name);

// Removes the temporary files in `dir` that killed writers left behind; returns how many.
int remove_temporary_files(const std::filesystem::path& dir);

}  // namespace lunar
