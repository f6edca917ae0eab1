// Writing files so that a reader never sees a half-written one: write a temporary file beside
// the target, flush it, then rename it over the target (atomic on POSIX file systems).
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace lunar {

// Calls `write` with a stream to a temporary file next to `path`, then renames it to `path`.
// If `write` throws or the stream fails, the temporary file is removed and `path` is untouched.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(std::ostream&)>& write);

// Convenience for text or bytes already in memory.
void write_atomically(const std::filesystem::path& path, const std::string& contents);

// A temporary path beside `path` for writers that need a file name (e.g. torch::save);
// publish it with std::filesystem::rename once complete.
std::filesystem::path temporary_path_for(const std::filesystem::path& path);

}  // namespace lunar
