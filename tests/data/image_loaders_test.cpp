// CIFAR-10, Fashion-MNIST and Pathfinder readers on small files the tests write.
#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>

#include "data_test_util.h"
#include "lunar/data/loaders.h"
#include "lunar/data/task.h"
#include "lunar/data/task_keys.h"

namespace lunar::data {
namespace {

using lunar::testing::TempDir;
using lunar::testing::throws_data_error;
using lunar::testing::write_text;

std::string cifar_record(int label, int red, int green, int blue) {
  std::string record(1, static_cast<char>(label));
  record += std::string(1024, static_cast<char>(red));
  record += std::string(1024, static_cast<char>(green));
  record += std::string(1024, static_cast<char>(blue));
  return record;
}

TEST(Cifar10Loader, GrayscaleAndSplits) {
  TempDir dir;
  write_text(dir / "one.bin", cifar_record(3, 200, 100, 50) + cifar_record(9, 255, 255, 255));
  const auto examples = read_cifar10_batch(dir / "one.bin");
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].label, 3);
  ASSERT_EQ(examples[0].tokens.size(), 1024u);
  EXPECT_EQ(examples[0].tokens[0], std::lround(0.2989 * 200 + 0.5870 * 100 + 0.1140 * 50));
  EXPECT_EQ(examples[0].tokens[0], 124);  // 59.78 + 58.70 + 5.70 = 124.18
  EXPECT_EQ(examples[1].tokens[1023], 255);

  const auto folder = dir / "cifar-10-batches-bin";
  for (int b = 1; b <= 5; ++b) {
    std::string batch;
    for (int i = 0; i < 4; ++i) batch += cifar_record((b + i) % 10, i, i, i);
    write_text(folder / ("data_batch_" + std::to_string(b) + ".bin"), batch);
  }
  write_text(folder / "test_batch.bin", cifar_record(0, 1, 1, 1) + cifar_record(1, 2, 2, 2));
  TaskConfig config;
  config.name = "cifar10";
  config.path = dir.path().string();
  config.cache_dir = "off";
  const auto data = load_task(config);
  EXPECT_EQ(data.train.size(), 18u);
  EXPECT_EQ(data.validation.size(), 2u);  // the last 10% of train
  EXPECT_EQ(data.test.size(), 2u);
  EXPECT_EQ(data.validation.back().label, (5 + 3) % 10);
  EXPECT_TRUE(data.info.pixels);
}

TEST(Cifar10Loader, BadRecords) {
  TempDir dir;
  const auto path = dir / "b.bin";
  write_text(path, cifar_record(1, 0, 0, 0) + cifar_record(2, 0, 0, 0).substr(0, 100));
  EXPECT_TRUE(
      throws_data_error([&] { read_cifar10_batch(path); }, {"b.bin:2", "record", "truncated"}));
  write_text(path, cifar_record(1, 0, 0, 0) + cifar_record(12, 0, 0, 0));
  EXPECT_TRUE(throws_data_error([&] { read_cifar10_batch(path); }, {"b.bin:2", "label", "got 12"}));
  write_text(path, "");
  EXPECT_TRUE(throws_data_error([&] { read_cifar10_batch(path); }, {"b.bin", "empty"}));
  TaskConfig config;
  config.name = "cifar10";
  config.path = dir.path().string();
  config.cache_dir = "off";
  EXPECT_TRUE(throws_data_error([&] { load_task(config); }, {"data_batch_1.bin", "missing file"}));
}

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string idx_images(int count, int rows, int cols) {
  std::string out = big_endian(0x803) + big_endian(count) + big_endian(rows) + big_endian(cols);
  for (int i = 0; i < count * rows * cols; ++i) out.push_back(static_cast<char>(i % 251));
  return out;
}

std::string idx_labels(int count) {
  std::string out = big_endian(0x801) + big_endian(count);
  for (int i = 0; i < count; ++i) out.push_back(static_cast<char>(i % 10));
  return out;
}

void write_gzip(const fs::path& path, const std::string& contents) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  gzwrite(file, contents.data(), static_cast<unsigned>(contents.size()));
  gzclose(file);
}

TEST(FmnistLoader, GzippedAndPlainIdx) {
  TempDir dir;
  write_gzip(dir / "train-images-idx3-ubyte.gz", idx_images(20, 28, 28));
  write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_labels(20));
  write_text(dir / "t10k-images-idx3-ubyte", idx_images(5, 28, 28));
  write_text(dir / "t10k-labels-idx1-ubyte", idx_labels(5));
  TaskConfig config;
  config.name = "fmnist";
  config.path = dir.path().string();
  config.cache_dir = "off";
  const auto data = load_task(config);
  EXPECT_EQ(data.train.size(), 18u);
  EXPECT_EQ(data.validation.size(), 2u);
  EXPECT_EQ(data.test.size(), 5u);
  ASSERT_EQ(data.train[1].tokens.size(), 784u);
  EXPECT_EQ(data.train[1].tokens[0], 784 % 251);
  EXPECT_EQ(data.train[1].label, 1);
  EXPECT_EQ(data.validation[1].label, 19 % 10);
  EXPECT_EQ(data.info.max_length, 784);
}

TEST(FmnistLoader, BadIdx) {
  TempDir dir;
  const auto images = dir / "i";
  const auto labels = dir / "l";
  write_text(labels, idx_labels(3));
  std::string bad_magic = idx_images(3, 28, 28);
  bad_magic[3] = 0x01;
  write_text(images, bad_magic);
  EXPECT_TRUE(
      throws_data_error([&] { read_idx_dataset(images, labels); }, {"magic", "0x00000803"}));
  write_text(images, idx_images(3, 28, 28).substr(0, 16 + 784 * 2 + 10));
  EXPECT_TRUE(
      throws_data_error([&] { read_idx_dataset(images, labels); }, {"i:3", "record", "truncated"}));
  write_text(images, idx_images(2, 28, 28));
  EXPECT_TRUE(
      throws_data_error([&] { read_idx_dataset(images, labels); }, {"count", "expected 2 labels"}));
  write_text(images, "");
  EXPECT_TRUE(throws_data_error([&] { read_idx_dataset(images, labels); }, {"empty"}));
  write_text(dir / "g.gz", "\x1f\x8b\x08 not really gzip");
  EXPECT_THROW(read_idx_dataset(dir / "g.gz", labels), lunar::DataError);
  std::string bad_label = idx_labels(3);
  bad_label.back() = 11;
  write_text(images, idx_images(3, 28, 28));
  write_text(labels, bad_label);
  EXPECT_TRUE(throws_data_error([&] { read_idx_dataset(images, labels); }, {"l:3", "label"}));
}

void write_png(const fs::path& path, int side, uint8_t value) {
  fs::create_directories(path.parent_path());
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = side;
  image.height = side;
  image.format = PNG_FORMAT_GRAY;
  std::vector<uint8_t> pixels(side * side, value);
  pixels[0] = 255;
  ASSERT_TRUE(png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0, nullptr));
}

TEST(PathfinderLoader, MetadataImagesAndSplit) {
  TempDir dir;
  const auto root = dir / "pathfinder32" / "curv_contour_length_14";
  std::string metadata0, metadata1;
  for (int i = 0; i < 20; ++i) {
    write_png(root / "imgs" / "0" / ("sample_" + std::to_string(i) + ".png"), 32, i);
    (i < 10 ? metadata0 : metadata1) +=
        "imgs/0 sample_" + std::to_string(i) + ".png 0 " + std::to_string(i % 2) + " 2 3\n";
  }
  write_text(root / "metadata" / "0.npy", metadata0);
  write_text(root / "metadata" / "1.npy", metadata1);
  const auto first = read_pathfinder_metadata(root, root / "metadata" / "0.npy");
  ASSERT_EQ(first.size(), 10u);
  EXPECT_EQ(first[3].label, 1);
  EXPECT_EQ(first[3].tokens[0], 255);
  EXPECT_EQ(first[3].tokens[1], 3);
  TaskConfig config;
  config.name = "pathfinder";
  config.path = dir.path().string();
  config.cache_dir = "off";
  const auto data = load_task(config);
  EXPECT_EQ(data.train.size(), 16u);
  EXPECT_EQ(data.validation.size(), 2u);
  EXPECT_EQ(data.test.size(), 2u);
  EXPECT_EQ(data.train[0].tokens.size(), 1024u);

  write_text(root / "imgs" / "0" / "sample_4.png", "not a png at all");
  EXPECT_TRUE(throws_data_error([&] { load_task(config); }, {"sample_4.png", "image", "PNG"}));
  write_png(root / "imgs" / "0" / "sample_4.png", 16, 0);
  EXPECT_TRUE(throws_data_error([&] { load_task(config); }, {"sample_4.png", "32x32", "16x16"}));
  write_text(root / "metadata" / "1.npy", "imgs/0 sample_10.png 0 x\n");
  EXPECT_TRUE(throws_data_error(
      [&] { read_pathfinder_metadata(root, root / "metadata" / "1.npy"); }, {"1.npy:1", "label"}));
  write_text(root / "metadata" / "1.npy", "imgs/0 sample_10.png\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_pathfinder_metadata(root, root / "metadata" / "1.npy"); },
                        {"1.npy:1", "columns"}));
  config.pathfinder_difficulty = "curv_baseline";
  fs::remove_all(root);
  EXPECT_TRUE(throws_data_error([&] { load_task(config); }, {"metadata", "missing folder"}));
}

// Pathfinder's difficulty is an option of its row: the cache keys it, so a release read at one
// difficulty is never served for another, and the option is listed among the [task] keys.
TEST(PathfinderLoader, DifficultyIsPartOfTheCacheKey) {
  TempDir dir;
  const auto root = dir / "release";  // the difficulty folder itself: read at any difficulty
  std::string metadata;
  for (int i = 0; i < 10; ++i) {
    write_png(root / "imgs" / ("s" + std::to_string(i) + ".png"), 32, i);
    metadata += "imgs s" + std::to_string(i) + ".png 0 " + std::to_string(i % 2) + "\n";
  }
  write_text(root / "metadata" / "0.npy", metadata);
  TaskConfig config;
  config.name = "pathfinder";
  config.path = root.string();
  config.cache_dir = (dir / "cache").string();
  EXPECT_FALSE(load_task(config).from_cache);
  EXPECT_TRUE(load_task(config).from_cache);
  config.pathfinder_difficulty = "curv_baseline";
  EXPECT_FALSE(load_task(config).from_cache);
  EXPECT_TRUE(load_task(config).from_cache);

  const auto keys = task_keys();
  const auto found = std::find_if(keys.begin(), keys.end(),
                                  [](const auto& k) { return k.key == "pathfinder_difficulty"; });
  ASSERT_NE(found, keys.end());
  EXPECT_EQ(found->rule.values, (std::vector<std::string>{"curv_baseline", "curv_contour_length_9",
                                                          "curv_contour_length_14"}));
  EXPECT_EQ(std::get<std::string>(found->get(config)), "curv_baseline");
}

}  // namespace
}  // namespace lunar::data
