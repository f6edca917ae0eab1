// CIFAR-10 binary batches, converted to grayscale as LRA's image task does.
#include <cmath>

#include "file_utils.h"
#include "lunar/core/error.h"
#include "lunar/data/loaders.h"

namespace lunar::data {
namespace {

constexpr size_t kPixels = 1024;
constexpr size_t kRecordBytes = 1 + 3 * kPixels;

fs::path cifar_dir(const fs::path& root) {
  if (fs::exists(root / "cifar-10-batches-bin" / "test_batch.bin"))
    return root / "cifar-10-batches-bin";
  return root;
}

}  // namespace

std::vector<Example> read_cifar10_batch(const fs::path& path) {
  const std::string bytes = detail::read_file(path);
  if (bytes.empty())
    throw DataError(path.string(), 0, "", "expected CIFAR-10 records, got an empty file");
  if (bytes.size() % kRecordBytes != 0) {
    throw DataError(path.string(), static_cast<int64_t>(bytes.size() / kRecordBytes) + 1, "record",
                    fmt::format("expected a whole number of {}-byte records, got {} bytes "
                                "(truncated record)",
                                kRecordBytes, bytes.size()));
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t count = bytes.size() / kRecordBytes;
  std::vector<Example> examples(count);
  for (size_t r = 0; r < count; ++r) {
    const unsigned char* record = data + r * kRecordBytes;
    if (record[0] > 9) {
      throw DataError(path.string(), static_cast<int64_t>(r) + 1, "label",
                      fmt::format("expected a label in [0, 9], got {}", record[0]));
    }
    Example& example = examples[r];
    example.label = record[0];
    example.tokens.resize(kPixels);
    const unsigned char* red = record + 1;
    const unsigned char* green = red + kPixels;
    const unsigned char* blue = green + kPixels;
    for (size_t i = 0; i < kPixels; ++i) {
      const double gray = 0.2989 * red[i] + 0.5870 * green[i] + 0.1140 * blue[i];
      example.tokens[i] = static_cast<int32_t>(std::lround(gray));
    }
  }
  return examples;
}

std::vector<fs::path> cifar10_sources(const TaskConfig& config) {
  const fs::path dir = cifar_dir(config.path);
  std::vector<fs::path> sources;
  for (int i = 1; i <= 5; ++i) sources.push_back(dir / fmt::format("data_batch_{}.bin", i));
  sources.push_back(dir / "test_batch.bin");
  return sources;
}

TaskData load_cifar10(const TaskConfig& config) {
  detail::require_directory(config.path, "the CIFAR-10 binary batches");
  const auto sources = cifar10_sources(config);
  TaskData data;
  for (size_t i = 0; i + 1 < sources.size(); ++i) {
    auto batch = read_cifar10_batch(sources[i]);
    data.train.insert(data.train.end(), std::make_move_iterator(batch.begin()),
                      std::make_move_iterator(batch.end()));
  }
  data.test = read_cifar10_batch(sources.back());
  // Validation is the last 10% of train (45,000 / 5,000), in file order.
  detail::split_off_tail(data.train, data.validation, 0.1, kSplitSeed, false);
  return data;
}

}  // namespace lunar::data
