// Private helpers shared by the task loaders: reading files, splitting lines and fields,
// parsing numbers with errors that name path, line and field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "lunar/data/task_config.h"

namespace lunar::data::detail {

namespace fs = std::filesystem;

// The whole file as bytes; DataError when it is missing or unreadable.
std::string read_file(const fs::path& path);

// The whole file, decompressed when it is gzip (zlib reads plain files unchanged).
std::string read_maybe_gzip(const fs::path& path);

// Throws DataError(path, 0, "", "missing ...") unless `path` is an existing directory/file.
void require_directory(const fs::path& path, const std::string& what);
void require_file(const fs::path& path);

// Splits `text` into lines on '\n', dropping a UTF-8 byte-order mark at the start, a trailing
// '\r' from each line and a final empty line.
std::vector<std::string_view> split_lines(std::string_view text);

// Splits a line on `separator` (no quoting).
std::vector<std::string_view> split_fields(std::string_view line, char separator);

// Parses a base-10 integer in [low, high]; DataError naming path, line and field otherwise.
int64_t parse_integer(std::string_view text, int64_t low, int64_t high, const fs::path& path,
                      int64_t line, const std::string& field);

// Throws DataError when `text` is not valid UTF-8.
void require_utf8(std::string_view text, const fs::path& path, int64_t line,
                  const std::string& field);

// Shuffles `examples` with a fixed seed, then moves the last `fraction` of them into `tail`.
void split_off_tail(std::vector<Example>& examples, std::vector<Example>& tail, double fraction,
                    uint64_t shuffle_seed, bool shuffle);

// A release of three split files, train, validation and test in that order, each read by
// `read(path, max_length)`.
template <typename Reader>
TaskData read_three_splits(const std::vector<fs::path>& sources, int64_t max_length, Reader read) {
  TaskData data;
  data.train = read(sources.at(0), max_length);
  data.validation = read(sources.at(1), max_length);
  data.test = read(sources.at(2), max_length);
  return data;
}

// Regular files directly in `directory` whose names end with `suffix`, sorted by the number
// their stem starts with, then by name (so 2.npy precedes 10.npy).
std::vector<fs::path> list_files_numeric(const fs::path& directory, const std::string& suffix);

}  // namespace lunar::data::detail
