// ListOps TSV reader (LRA's basic_{train,val,test}.tsv).
#include "file_utils.h"
#include "lunar/core/error.h"
#include "lunar/data/loaders.h"
#include "lunar/data/tokenizer.h"

namespace lunar::data {
namespace {

fs::path listops_dir(const TaskConfig& config) {
  const fs::path root = config.path;
  if (fs::exists(root / "listops-1000" / "basic_train.tsv")) return root / "listops-1000";
  return root;
}

}  // namespace

std::vector<Example> read_listops_tsv(const fs::path& path, int64_t max_length) {
  const std::string contents = detail::read_file(path);
  const auto lines = detail::split_lines(contents);
  if (lines.empty())
    throw DataError(path.string(), 0, "", "expected a header line, got an empty file");
  if (lines[0] != "Source\tTarget") {
    throw DataError(path.string(), 1, "header",
                    fmt::format("expected 'Source<TAB>Target', got '{}'", lines[0].substr(0, 40)));
  }
  std::vector<Example> examples;
  examples.reserve(lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const int64_t line = static_cast<int64_t>(i) + 1;
    if (lines[i].empty()) continue;
    detail::require_utf8(lines[i], path, line, "Source");
    const auto fields = detail::split_fields(lines[i], '\t');
    if (fields.size() != 2) {
      throw DataError(path.string(), line, "columns",
                      fmt::format("expected 2 tab-separated columns, got {}", fields.size()));
    }
    Example example;
    example.label =
        static_cast<int32_t>(detail::parse_integer(fields[1], 0, 9, path, line, "Target"));
    example.tokens = listops_tokens(fields[0], max_length);
    if (example.tokens.empty())
      throw DataError(path.string(), line, "Source", "expected tokens, got none");
    examples.push_back(std::move(example));
  }
  return examples;
}

std::vector<fs::path> listops_sources(const TaskConfig& config) {
  const fs::path dir = listops_dir(config);
  return {dir / "basic_train.tsv", dir / "basic_val.tsv", dir / "basic_test.tsv"};
}

TaskData load_listops(const TaskConfig& config) {
  detail::require_directory(config.path, "the ListOps folder");
  return detail::read_three_splits(listops_sources(config), config.max_length, read_listops_tsv);
}

}  // namespace lunar::data
