// LRA Pathfinder (32x32): metadata/*.npy text lines and grayscale PNG images.
#include <png.h>

#include "file_utils.h"
#include "lunar/core/error.h"
#include "lunar/data/loaders.h"

namespace lunar::data {
namespace {

constexpr int64_t kPathfinderSide = 32;

fs::path difficulty_dir(const TaskConfig& config) {
  const fs::path root = config.path;
  for (const fs::path& candidate : {root / "pathfinder32" / config.pathfinder_difficulty,
                                    root / config.pathfinder_difficulty, root}) {
    if (fs::is_directory(candidate / "metadata")) return candidate;
  }
  throw DataError((root / "pathfinder32" / config.pathfinder_difficulty / "metadata").string(), 0,
                  "", "expected the Pathfinder metadata folder, got none (missing folder)");
}

}  // namespace

keys::Key<TaskConfig> pathfinder_difficulty_key() {
  return keys::bind<TaskConfig>(
      "pathfinder_difficulty", [](auto& c) -> auto& { return c.pathfinder_difficulty; },
      keys::one_of({"curv_baseline", "curv_contour_length_9", "curv_contour_length_14"}),
      "Pathfinder only: difficulty folder");
}

std::vector<uint8_t> decode_png_gray(const fs::path& path, int64_t expected_side) {
  const std::string bytes = detail::read_file(path);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    const std::string message = image.message;
    png_image_free(&image);
    throw DataError(path.string(), 0, "image", "expected a PNG image, got: " + message);
  }
  image.format = PNG_FORMAT_GRAY;
  if (image.width != expected_side || image.height != expected_side) {
    const auto width = image.width, height = image.height;
    png_image_free(&image);
    throw DataError(path.string(), 0, "image",
                    fmt::format("expected {}x{} pixels, got {}x{}", expected_side, expected_side,
                                width, height));
  }
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    const std::string message = image.message;
    png_image_free(&image);
    throw DataError(path.string(), 0, "image", "corrupt PNG data: " + message);
  }
  return pixels;
}

// LRA's pathfinder builder: columns split on ' '; the image is <dir>/<col 0>/<col 1> and the
// label int(col 3).
std::vector<Example> read_pathfinder_metadata(const fs::path& dir, const fs::path& metadata_file) {
  const std::string contents = detail::read_file(metadata_file);
  std::vector<Example> examples;
  const auto lines = detail::split_lines(contents);
  for (size_t i = 0; i < lines.size(); ++i) {
    const int64_t line = static_cast<int64_t>(i) + 1;
    if (lines[i].empty()) continue;
    const auto fields = detail::split_fields(lines[i], ' ');
    if (fields.size() < 4) {
      throw DataError(
          metadata_file.string(), line, "columns",
          fmt::format("expected at least 4 space-separated columns, got {}", fields.size()));
    }
    Example example;
    example.label =
        static_cast<int32_t>(detail::parse_integer(fields[3], 0, 1, metadata_file, line, "label"));
    const auto pixels = decode_png_gray(dir / fields[0] / fields[1], kPathfinderSide);
    example.tokens.assign(pixels.begin(), pixels.end());
    examples.push_back(std::move(example));
  }
  return examples;
}

// The metadata files and the image folders they name (an image edited in place without a
// change of its folder is not noticed by the cache; see docs/data.md).
std::vector<fs::path> pathfinder_sources(const TaskConfig& config) {
  const fs::path dir = difficulty_dir(config);
  auto sources = detail::list_files_numeric(dir / "metadata", ".npy");
  if (fs::is_directory(dir / "imgs")) {
    for (const auto& entry : fs::directory_iterator(dir / "imgs")) {
      if (entry.is_directory()) sources.push_back(entry.path());
    }
  }
  return sources;
}

TaskData load_pathfinder(const TaskConfig& config) {
  const fs::path dir = difficulty_dir(config);
  const auto metadata = detail::list_files_numeric(dir / "metadata", ".npy");
  if (metadata.empty()) {
    throw DataError((dir / "metadata").string(), 0, "", "expected metadata/*.npy files, got none");
  }
  TaskData data;
  for (const auto& file : metadata) {
    auto examples = read_pathfinder_metadata(dir, file);
    data.train.insert(data.train.end(), std::make_move_iterator(examples.begin()),
                      std::make_move_iterator(examples.end()));
  }
  // LRA splits 80/10/10; we shuffle once with a fixed seed so the split is reproducible.
  detail::split_off_tail(data.train, data.test, 0.1, kSplitSeed, true);
  const double validation_share = 0.1 / 0.9;
  detail::split_off_tail(data.train, data.validation, validation_share, kSplitSeed, false);
  return data;
}

}  // namespace lunar::data
