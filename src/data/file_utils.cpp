// File reading, line splitting and field parsing for the task loaders.
#include "file_utils.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <fstream>

#include "lunar/core/error.h"
#include "lunar/data/random.h"
#include "lunar/data/tokenizer.h"

namespace lunar::data::detail {

std::string read_file(const fs::path& path) {
  require_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string(), 0, "", "cannot open file");
  std::string contents;
  in.seekg(0, std::ios::end);
  contents.resize(static_cast<size_t>(in.tellg()));
  in.seekg(0, std::ios::beg);
  in.read(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!in) throw DataError(path.string(), 0, "", "read failed");
  return contents;
}

std::string read_maybe_gzip(const fs::path& path) {
  require_file(path);
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw DataError(path.string(), 0, "", "cannot open file");
  std::string contents;
  std::vector<char> buffer(1 << 20);
  while (true) {
    const int read = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()));
    if (read < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      throw DataError(path.string(), 0, "", "corrupt gzip data: " + message);
    }
    if (read == 0) break;
    contents.append(buffer.data(), static_cast<size_t>(read));
  }
  gzclose(file);
  return contents;
}

void require_directory(const fs::path& path, const std::string& what) {
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    throw DataError(path.string(), 0, "", fmt::format("expected a directory ({}), got none", what));
  }
}

void require_file(const fs::path& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    throw DataError(path.string(), 0, "", "expected a file, got none (missing file)");
  }
}

std::vector<std::string_view> split_lines(std::string_view text) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";  // some editors start UTF-8 with it
  if (text.substr(0, kByteOrderMark.size()) == kByteOrderMark)
    text.remove_prefix(kByteOrderMark.size());
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::vector<std::string_view> split_fields(std::string_view line, char separator) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t end = line.find(separator, start);
    if (end == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, end - start));
    start = end + 1;
  }
}

int64_t parse_integer(std::string_view text, int64_t low, int64_t high, const fs::path& path,
                      int64_t line, const std::string& field) {
  int64_t value = 0;
  const auto* begin = text.data();
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(begin, end, value);
  if (text.empty() || result.ec != std::errc() || result.ptr != end) {
    throw DataError(path.string(), line, field,
                    fmt::format("expected an integer, got '{}'", text.substr(0, 40)));
  }
  if (value < low || value > high) {
    throw DataError(path.string(), line, field,
                    fmt::format("expected a value in [{}, {}], got {}", low, high, value));
  }
  return value;
}

void require_utf8(std::string_view text, const fs::path& path, int64_t line,
                  const std::string& field) {
  const int64_t offset = find_invalid_utf8(text);
  if (offset >= 0) {
    throw DataError(path.string(), line, field,
                    fmt::format("expected UTF-8 text, got an invalid byte 0x{:02x} at offset {}",
                                static_cast<unsigned char>(text[offset]), offset));
  }
}

void split_off_tail(std::vector<Example>& examples, std::vector<Example>& tail, double fraction,
                    uint64_t shuffle_seed, bool shuffle_first) {
  if (shuffle_first) {
    Rng rng(shuffle_seed);
    shuffle(examples, rng);
  }
  const auto count =
      static_cast<size_t>(std::llround(fraction * static_cast<double>(examples.size())));
  const size_t keep = examples.size() - std::min(count, examples.size());
  tail.assign(std::make_move_iterator(examples.begin() + keep),
              std::make_move_iterator(examples.end()));
  examples.resize(keep);
}

std::vector<fs::path> list_files_numeric(const fs::path& directory, const std::string& suffix) {
  std::vector<std::pair<int64_t, fs::path>> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    int64_t number = INT64_MAX;
    std::from_chars(name.data(), name.data() + name.size(), number);
    files.emplace_back(number, entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<fs::path> paths;
  for (auto& file : files) paths.push_back(std::move(file.second));
  return paths;
}

}  // namespace lunar::data::detail
