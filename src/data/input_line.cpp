// Parsing user-typed examples.
#include "lunar/data/input_line.h"

#include <charconv>

#include "lunar/core/error.h"
#include "lunar/data/task.h"

namespace lunar::data {

namespace {
std::vector<int32_t> parse_pixels(std::string_view line, int64_t expected,
                                  const std::string& source, int64_t line_number) {
  std::vector<int32_t> pixels;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == ',' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t end = i;
    while (end < line.size() && line[end] != ' ' && line[end] != ',' && line[end] != '\t') ++end;
    int value = -1;
    const auto [ptr, error] = std::from_chars(line.data() + i, line.data() + end, value);
    if (error != std::errc() || ptr != line.data() + end || value < 0 || value > 255) {
      throw DataError(source, line_number, fmt::format("pixel {}", pixels.size() + 1),
                      fmt::format("expected an integer 0..255, got '{}'", line.substr(i, end - i)));
    }
    pixels.push_back(value);
    i = end;
  }
  if (static_cast<int64_t>(pixels.size()) != expected) {
    throw DataError(source, line_number, "pixels",
                    fmt::format("expected {} pixel values, got {}", expected, pixels.size()));
  }
  return pixels;
}
}  // namespace

Example parse_input_line(const TaskInfo& info, std::string_view line, int64_t max_length,
                         const std::string& source, int64_t line_number) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  Example example;
  if (info.pixels) {
    example.tokens = parse_pixels(line, info.max_length, source, line_number);
  } else {
    const auto tokenize = task_definition(info.name).tokenize;
    if (info.pair) {
      const auto tab = line.find('\t');
      if (tab == std::string_view::npos) {
        throw DataError(source, line_number, "text2", "expected two documents separated by a TAB");
      }
      example.tokens = tokenize(line.substr(0, tab), max_length);
      example.tokens2 = tokenize(line.substr(tab + 1), max_length);
    } else {
      example.tokens = tokenize(line, max_length);
    }
  }
  if (example.tokens.empty())
    throw DataError(source, line_number, "text", "expected a non-empty example");
  if (info.pair && example.tokens2.empty())
    throw DataError(source, line_number, "text2", "expected a non-empty second document");
  return example;
}

}  // namespace lunar::data
