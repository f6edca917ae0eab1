// AAN document matching: new_aan_pairs.{train,eval,test}.tsv, "label id1 id2 text1 text2".
#include <charconv>
#include <cmath>

#include "file_utils.h"
#include "lunar/core/error.h"
#include "lunar/data/loaders.h"
#include "lunar/data/tokenizer.h"

namespace lunar::data {
namespace {

constexpr size_t kMaxDocumentBytes = 10000;  // LRA keeps the first 10,000 bytes of each text

fs::path matching_dir(const fs::path& root) {
  if (fs::exists(root / "tsv_data" / "new_aan_pairs.train.tsv")) return root / "tsv_data";
  return root;
}

// Labels are written as 0/1 or 0.0/1.0 in the release (LRA reads them as floats).
int32_t parse_label(std::string_view text, const fs::path& path, int64_t line) {
  double value = -1;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size()) {
    throw DataError(path.string(), line, "label",
                    fmt::format("expected 0 or 1, got '{}'", text.substr(0, 40)));
  }
  if (value != 0.0 && value != 1.0) {
    throw DataError(path.string(), line, "label", fmt::format("expected 0 or 1, got {}", text));
  }
  return static_cast<int32_t>(value);
}

// A field wrapped in double quotes (as a CSV writer may leave it) is unquoted.
std::string unquote(std::string_view field) {
  if (field.size() < 2 || field.front() != '"' || field.back() != '"') return std::string(field);
  std::string out;
  for (size_t i = 1; i + 1 < field.size(); ++i) {
    out.push_back(field[i]);
    if (field[i] == '"' && i + 2 < field.size() && field[i + 1] == '"') ++i;
  }
  return out;
}

}  // namespace

std::vector<Example> read_matching_tsv(const fs::path& path, int64_t max_length) {
  const std::string contents = detail::read_file(path);
  if (contents.empty())
    throw DataError(path.string(), 0, "", "expected TSV rows, got an empty file");
  const auto lines = detail::split_lines(contents);
  std::vector<Example> examples;
  examples.reserve(lines.size());
  static const char* kFields[] = {"label", "id1", "id2", "text1", "text2"};
  for (size_t i = 0; i < lines.size(); ++i) {
    const int64_t line = static_cast<int64_t>(i) + 1;
    if (lines[i].empty()) continue;
    const auto fields = detail::split_fields(lines[i], '\t');
    if (fields.size() != 5) {
      throw DataError(path.string(), line, "columns",
                      fmt::format("expected 5 tab-separated columns (label id1 id2 text1 text2), "
                                  "got {}",
                                  fields.size()));
    }
    for (int k = 3; k < 5; ++k) detail::require_utf8(fields[k], path, line, kFields[k]);
    Example example;
    example.label = parse_label(fields[0], path, line);
    const std::string text1 = unquote(fields[3]);
    const std::string text2 = unquote(fields[4]);
    for (int k = 3; k < 5; ++k) {
      if ((k == 3 ? text1 : text2).empty()) {
        throw DataError(path.string(), line, kFields[k], "expected a non-empty document");
      }
    }
    const std::string_view first(text1.data(), std::min(text1.size(), kMaxDocumentBytes));
    const std::string_view second(text2.data(), std::min(text2.size(), kMaxDocumentBytes));
    example.tokens = byte_tokens(first, max_length);
    example.tokens2 = byte_tokens(second, max_length);
    examples.push_back(std::move(example));
  }
  if (examples.empty()) throw DataError(path.string(), 0, "", "expected TSV rows, got none");
  return examples;
}

std::vector<fs::path> matching_sources(const TaskConfig& config) {
  const fs::path dir = matching_dir(config.path);
  return {dir / "new_aan_pairs.train.tsv", dir / "new_aan_pairs.eval.tsv",
          dir / "new_aan_pairs.test.tsv"};
}

TaskData load_matching(const TaskConfig& config) {
  detail::require_directory(config.path, "the AAN folder");
  return detail::read_three_splits(matching_sources(config), config.max_length, read_matching_tsv);
}

}  // namespace lunar::data
