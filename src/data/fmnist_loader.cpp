// Fashion-MNIST in IDX format (gzipped or not), as Debian's dataset-fashion-mnist installs it.
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>

#include "file_utils.h"
#include "lunar/core/error.h"
#include "lunar/data/loaders.h"

namespace lunar::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr uint32_t kFmnistSide = 28;           // images are 28x28, as the models' input expects

uint32_t read_big_endian(const std::string& bytes, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + at;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::vector<uint32_t> read_dims(const std::string& bytes, int dims) {
  std::vector<uint32_t> shape;
  for (int d = 0; d < dims; ++d) shape.push_back(read_big_endian(bytes, 4 + 4 * d));
  return shape;
}

// Checks the magic and the header, returns the dimensions.
std::vector<uint32_t> read_idx_header(const std::string& bytes, uint32_t magic, int dims,
                                      const fs::path& path) {
  if (bytes.empty())
    throw DataError(path.string(), 0, "header", "expected an IDX file, got an empty file");
  const size_t header = 4 + 4 * static_cast<size_t>(dims);
  if (bytes.size() < header) {
    throw DataError(path.string(), 0, "header",
                    fmt::format("expected at least {} header bytes, got {}", header, bytes.size()));
  }
  const uint32_t found = read_big_endian(bytes, 0);
  if (found != magic) {
    throw DataError(path.string(), 0, "magic",
                    fmt::format("expected IDX magic 0x{:08x}, got 0x{:08x}", magic, found));
  }
  const auto shape = read_dims(bytes, dims);
  size_t items = 1;
  for (const uint32_t size : shape) {
    if (__builtin_mul_overflow(items, size_t{size}, &items) || items > SIZE_MAX - header) {
      throw DataError(path.string(), 0, "header",
                      fmt::format("expected dimensions whose product fits in memory, got {}",
                                  fmt::join(shape, "x")));
    }
  }
  const size_t expected = header + items;
  if (bytes.size() != expected) {
    const size_t record = items / std::max<uint32_t>(shape[0], 1);
    const int64_t bad = static_cast<int64_t>((bytes.size() - std::min(bytes.size(), header)) /
                                             std::max<size_t>(record, 1)) +
                        1;
    throw DataError(path.string(), bad, "record",
                    fmt::format("expected {} bytes for {} records, got {} (truncated or padded)",
                                expected, shape[0], bytes.size()));
  }
  return shape;
}

fs::path pick(const fs::path& dir, const std::string& stem) {
  if (fs::exists(dir / (stem + ".gz"))) return dir / (stem + ".gz");
  return dir / stem;
}

}  // namespace

std::vector<Example> read_idx_dataset(const fs::path& images_path, const fs::path& labels_path) {
  const std::string images = detail::read_maybe_gzip(images_path);
  const std::string labels = detail::read_maybe_gzip(labels_path);
  const auto image_shape = read_idx_header(images, kImagesMagic, 3, images_path);
  const auto label_shape = read_idx_header(labels, kLabelsMagic, 1, labels_path);
  if (image_shape[0] != label_shape[0]) {
    throw DataError(
        labels_path.string(), 0, "count",
        fmt::format("expected {} labels (one per image), got {}", image_shape[0], label_shape[0]));
  }
  if (image_shape[1] != kFmnistSide || image_shape[2] != kFmnistSide) {
    throw DataError(images_path.string(), 0, "shape",
                    fmt::format("expected {}x{} images, got {}x{}", kFmnistSide, kFmnistSide,
                                image_shape[1], image_shape[2]));
  }
  const size_t pixels = size_t{image_shape[1]} * image_shape[2];
  const auto* image_bytes = reinterpret_cast<const unsigned char*>(images.data()) + 16;
  const auto* label_bytes = reinterpret_cast<const unsigned char*>(labels.data()) + 8;
  std::vector<Example> examples(image_shape[0]);
  for (size_t i = 0; i < examples.size(); ++i) {
    if (label_bytes[i] > 9) {
      throw DataError(labels_path.string(), static_cast<int64_t>(i) + 1, "label",
                      fmt::format("expected a label in [0, 9], got {}", label_bytes[i]));
    }
    examples[i].label = label_bytes[i];
    examples[i].tokens.assign(image_bytes + i * pixels, image_bytes + (i + 1) * pixels);
  }
  return examples;
}

std::vector<fs::path> fmnist_sources(const TaskConfig& config) {
  const fs::path dir = config.path;
  return {pick(dir, "train-images-idx3-ubyte"), pick(dir, "train-labels-idx1-ubyte"),
          pick(dir, "t10k-images-idx3-ubyte"), pick(dir, "t10k-labels-idx1-ubyte")};
}

TaskData load_fmnist(const TaskConfig& config) {
  detail::require_directory(config.path, "the Fashion-MNIST IDX files");
  const auto sources = fmnist_sources(config);
  TaskData data;
  data.train = read_idx_dataset(sources[0], sources[1]);
  data.test = read_idx_dataset(sources[2], sources[3]);
  // No official validation split: the last 10% of train (54,000 / 6,000), as for CIFAR-10.
  detail::split_off_tail(data.train, data.validation, 0.1, kSplitSeed, false);
  return data;
}

}  // namespace lunar::data
