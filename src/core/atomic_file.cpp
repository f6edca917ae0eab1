// Atomic file replacement by write-then-rename.
#include "lunar/core/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

#include "lunar/core/error.h"

namespace lunar {

std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  static std::atomic<uint64_t> counter{0};
  auto name = path.filename().string();
  return path.parent_path() / fmt::format(".{}.tmp.{}.{}", name, ::getpid(), counter++);
}

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(std::ostream&)>& write) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto temporary = temporary_path_for(path);
  try {
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      check(static_cast<bool>(out), "[io] cannot open '{}' for writing", temporary.string());
      write(out);
      out.flush();
      check(static_cast<bool>(out), "[io] failed while writing '{}'", temporary.string());
    }
    std::filesystem::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

void write_atomically(const std::filesystem::path& path, const std::string& contents) {
  write_atomically(path, [&](std::ostream& out) { out.write(contents.data(), contents.size()); });
}

}  // namespace lunar
