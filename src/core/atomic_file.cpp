// Atomic file replacement by write-then-rename.
#include "lunar/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

namespace lunar {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kTemporaryMarker = ".tmp.";

// strerror's text starting in lower case, as lunar's messages do.
std::string system_reason(int error) {
  std::string reason = std::strerror(error);
  if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
  return reason;
}

fs::path temporary_path_for(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  auto name = path.filename().string();
  return path.parent_path() /
         fmt::format(".{}{}{}.{}", name, kTemporaryMarker, ::getpid(), counter++);
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Creates `path`'s folder, runs `write_temporary` on a fresh temporary name and renames the
// result over `path`; the temporary file is removed whenever anything fails.
void replace_via_temporary(const fs::path& path,
                           const std::function<void(const fs::path&)>& write_temporary) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const auto temporary = temporary_path_for(path);
  try {
    write_temporary(temporary);
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) throw WriteError(path, system_reason(error.value()));
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
}
}  // namespace

WriteError::WriteError(fs::path path, std::string reason)
    : Error(fmt::format("[io] expected to write '{}', got: {}", path.string(), reason)),
      path_(std::move(path)),
      reason_(std::move(reason)) {}

void write_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  replace_via_temporary(path, [&](const fs::path& temporary) {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw WriteError(path, system_reason(errno));
    errno = 0;
    write(out);
    out.flush();
    if (out) out.close();  // a full disk shows up by here at the latest
    if (!out) throw WriteError(path, errno != 0 ? system_reason(errno) : "the stream failed");
  });
}

void write_atomically(const fs::path& path, const std::string& contents) {
  replace_via_temporary(path, [&](const fs::path& temporary) {
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw WriteError(path, system_reason(errno));
    size_t written = 0;
    while (written < contents.size()) {
      const auto n = ::write(fd, contents.data() + written, contents.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = n < 0 ? errno : ENOSPC;  // no progress: nothing more fits
        ::close(fd);
        throw WriteError(path, system_reason(error));
      }
      written += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) throw WriteError(path, system_reason(errno));
  });
}

bool is_temporary_file_name(const std::string& name) {
  // .<target>.tmp.<pid>.<counter>
  const auto marker = name.rfind(kTemporaryMarker);
  if (name.empty() || name[0] != '.' || marker == std::string::npos || marker == 0) return false;
  const std::string_view rest = std::string_view(name).substr(marker + kTemporaryMarker.size());
  const auto dot = rest.find('.');
  return dot != std::string_view::npos && all_digits(rest.substr(0, dot)) &&
         all_digits(rest.substr(dot + 1));
}

int remove_temporary_files(const fs::path& dir) {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && is_temporary_file_name(entry.path().filename().string())) {
      std::error_code ignored;  // removed meanwhile: nothing left to do
      removed += fs::remove(entry.path(), ignored) ? 1 : 0;
    }
  }
  return removed;
}

}  // namespace lunar
