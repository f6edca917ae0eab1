// IMDB text classification: the aclImdb folders or a CSV "review,sentiment".
#include <algorithm>
#include <charconv>

#include "file_utils.h"
#include "lunar/core/error.h"
#include "lunar/data/loaders.h"
#include "lunar/data/tokenizer.h"

namespace lunar::data {
namespace {

// One RFC 4180 record: fields may be quoted, quotes doubled inside, newlines kept inside
// quotes. Advances `at`; `line` counts physical lines for messages.
std::vector<std::string> parse_csv_record(const std::string& text, size_t& at, int64_t& line,
                                          const fs::path& path) {
  std::vector<std::string> fields(1);
  const int64_t start_line = line;
  bool quoted = false;
  bool field_start = true;
  while (at < text.size()) {
    const char c = text[at];
    if (quoted) {
      if (c == '"') {
        if (at + 1 < text.size() && text[at + 1] == '"') {
          fields.back().push_back('"');
          at += 2;
          continue;
        }
        quoted = false;
        ++at;
        continue;
      }
      if (c == '\n') ++line;
      fields.back().push_back(c);
      ++at;
      continue;
    }
    if (c == '"' && field_start) {
      quoted = true;
      field_start = false;
      ++at;
      continue;
    }
    if (c == ',') {
      fields.emplace_back();
      field_start = true;
      ++at;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (c == '\r' && at + 1 < text.size() && text[at + 1] == '\n') ++at;
      ++at;
      ++line;
      return fields;
    }
    fields.back().push_back(c);
    field_start = false;
    ++at;
  }
  if (quoted) throw DataError(path.string(), start_line, "review", "unterminated quoted field");
  ++line;
  return fields;
}

int32_t parse_sentiment(std::string value, const fs::path& path, int64_t line) {
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (value == "positive" || value == "pos" || value == "1") return 1;
  if (value == "negative" || value == "neg" || value == "0") return 0;
  throw DataError(path.string(), line, "sentiment",
                  fmt::format("expected positive/negative or 1/0, got '{}'", value.substr(0, 40)));
}

// Finds the folder holding train/ and test/ with pos/ and neg/ inside, if any.
fs::path imdb_root(const fs::path& path) {
  if (fs::is_directory(path / "aclImdb" / "train" / "pos")) return path / "aclImdb";
  if (fs::is_directory(path / "train" / "pos")) return path;
  return {};
}

std::vector<fs::path> imdb_files(const fs::path& split_dir, const std::string& label) {
  const fs::path dir = split_dir / label;
  detail::require_directory(dir, "IMDB reviews labelled " + label);
  return detail::list_files_numeric(dir, ".txt");
}

}  // namespace

std::vector<Example> read_text_csv(const fs::path& path, int64_t max_length) {
  const std::string text = detail::read_file(path);
  if (text.empty())
    throw DataError(path.string(), 0, "", "expected a CSV header, got an empty file");
  size_t at = 0;
  int64_t line = 1;
  auto header = parse_csv_record(text, at, line, path);
  if (!header.empty() && header[0].rfind("\xEF\xBB\xBF", 0) == 0) header[0].erase(0, 3);
  int review_column = -1, sentiment_column = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "review" || header[i] == "text") review_column = static_cast<int>(i);
    if (header[i] == "sentiment" || header[i] == "label") sentiment_column = static_cast<int>(i);
  }
  if (review_column < 0 || sentiment_column < 0) {
    throw DataError(
        path.string(), 1, "header",
        fmt::format("expected columns 'review' and 'sentiment', got {} column(s)", header.size()));
  }
  std::vector<Example> examples;
  while (at < text.size()) {
    const int64_t record_line = line;
    const auto fields = parse_csv_record(text, at, line, path);
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (fields.size() != header.size()) {
      throw DataError(path.string(), record_line, "columns",
                      fmt::format("expected {} columns, got {}", header.size(), fields.size()));
    }
    detail::require_utf8(fields[review_column], path, record_line, "review");
    Example example;
    example.label = parse_sentiment(fields[sentiment_column], path, record_line);
    example.tokens = byte_tokens(fields[review_column], max_length);
    examples.push_back(std::move(example));
  }
  return examples;
}

std::vector<Example> read_imdb_folder(const fs::path& split_dir, int64_t max_length) {
  detail::require_directory(split_dir, "an IMDB split with pos/ and neg/");
  std::vector<Example> examples;
  for (const auto& [label, name] : {std::pair<int32_t, std::string>{1, "pos"}, {0, "neg"}}) {
    for (const auto& file : imdb_files(split_dir, name)) {
      const std::string review = detail::read_file(file);
      detail::require_utf8(review, file, 0, "review");
      Example example;
      example.label = label;
      example.tokens = byte_tokens(review, max_length);
      examples.push_back(std::move(example));
    }
  }
  if (examples.empty()) throw DataError(split_dir.string(), 0, "", "expected reviews, got none");
  return examples;
}

std::vector<fs::path> text_sources(const TaskConfig& config) {
  const fs::path path = config.path;
  std::vector<fs::path> sources;
  if (fs::is_regular_file(path)) return {path};
  if (const fs::path root = imdb_root(path); !root.empty()) {
    for (const char* split : {"train", "test"}) {
      for (const char* label : {"pos", "neg"}) {
        for (auto& file : imdb_files(root / split, label)) sources.push_back(std::move(file));
      }
    }
    return sources;
  }
  if (fs::is_regular_file(path / "train.csv")) return {path / "train.csv", path / "test.csv"};
  detail::require_directory(path, "IMDB: aclImdb/ folders or a CSV file");
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file() && entry.path().extension() == ".csv")
      sources.push_back(entry.path());
  }
  if (sources.size() != 1) {
    throw DataError(path.string(), 0, "",
                    fmt::format("expected aclImdb/{{train,test}}/{{pos,neg}}, train.csv + test.csv "
                                "or exactly one CSV file, got {} CSV file(s)",
                                sources.size()));
  }
  return sources;
}

TaskData load_text(const TaskConfig& config) {
  const fs::path path = config.path;
  TaskData data;
  if (const fs::path root = fs::is_directory(path) ? imdb_root(path) : fs::path(); !root.empty()) {
    data.train = read_imdb_folder(root / "train", config.max_length);
    data.test = read_imdb_folder(root / "test", config.max_length);
  } else {
    const auto sources = text_sources(config);
    if (sources.size() == 2) {
      data.train = read_text_csv(sources[0], config.max_length);
      data.test = read_text_csv(sources[1], config.max_length);
    } else {
      // One CSV (the 50,000-review release): first half train, second half test.
      auto all = read_text_csv(sources[0], config.max_length);
      const size_t half = all.size() / 2;
      data.test.assign(std::make_move_iterator(all.begin() + half),
                       std::make_move_iterator(all.end()));
      all.resize(half);
      data.train = std::move(all);
    }
  }
  // LRA validates on test; we hold out a shuffled slice of train unless the fraction is 0.
  if (config.validation_fraction > 0) {
    detail::split_off_tail(data.train, data.validation, config.validation_fraction, kSplitSeed,
                           true);
  } else {
    data.validation = data.test;
  }
  return data;
}

}  // namespace lunar::data
