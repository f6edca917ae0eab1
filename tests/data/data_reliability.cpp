// Data that `train` cannot use is refused by the loaders, so `data check` refuses it too,
// naming file and line; a UTF-8 byte-order mark is accepted in every TSV.
#include <gtest/gtest.h>

#include <string>

#include "data_test_util.h"
#include "lunar/data/loaders.h"
#include "lunar/data/task.h"
#include "support/lunar_cli.h"
#include "support/process.h"

namespace {

using lunar::testing::TempDir;
using lunar::testing::throws_data_error;
using lunar::testing::write_text;
namespace fs = std::filesystem;
namespace data = lunar::data;

std::string big_endian(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string idx_images(uint32_t count, uint32_t rows, uint32_t cols) {
  std::string out = big_endian(0x803) + big_endian(count) + big_endian(rows) + big_endian(cols);
  out.append(size_t{count} * rows * cols, '\x07');
  return out;
}

std::string idx_labels(uint32_t count) {
  return big_endian(0x801) + big_endian(count) + std::string(count, '\x03');
}

void write_fmnist(const TempDir& dir, uint32_t count, uint32_t rows, uint32_t cols) {
  write_text(dir / "train-images-idx3-ubyte", idx_images(count, rows, cols));
  write_text(dir / "train-labels-idx1-ubyte", idx_labels(count));
  write_text(dir / "t10k-images-idx3-ubyte", idx_images(2, 28, 28));
  write_text(dir / "t10k-labels-idx1-ubyte", idx_labels(2));
}

data::TaskConfig task_config(const std::string& name, const TempDir& dir) {
  data::TaskConfig config;
  config.name = name;
  config.path = dir.path().string();
  config.cache_dir = "off";
  return config;
}

lunar::testing::CommandResult data_check(const std::string& task, const TempDir& dir) {
  return lunar::testing::run_lunar("data check --task " + task + " --cache-dir off --path '" +
                                   dir.path().string() + "'");
}

TEST(DataCheckReliability, FashionMnistImagesMustBe28By28) {
  for (const auto& [rows, cols] : {std::pair{0u, 0u}, {1u, 1u}, {28u, 29u}}) {
    TempDir dir;
    write_fmnist(dir, 3, rows, cols);
    const auto shape = std::to_string(rows) + "x" + std::to_string(cols);
    EXPECT_TRUE(throws_data_error([&] { data::load_task(task_config("fmnist", dir)); },
                                  {"train-images-idx3-ubyte", "shape", "expected 28x28", shape}));
    const auto checked = data_check("fmnist", dir);
    EXPECT_EQ(checked.code, 1) << checked.output;
    EXPECT_NE(
        checked.output.find("train-images-idx3-ubyte: shape: expected 28x28 images, got " + shape),
        std::string::npos)
        << checked.output;
  }
}

TEST(DataCheckReliability, EmptyTrainingSplitIsRefused) {
  TempDir dir;
  write_fmnist(dir, 0, 28, 28);
  EXPECT_TRUE(throws_data_error([&] { data::load_task(task_config("fmnist", dir)); },
                                {"train-images-idx3-ubyte", "train", "got none"}));
  const auto checked = data_check("fmnist", dir);
  EXPECT_EQ(checked.code, 1) << checked.output;
  EXPECT_NE(checked.output.find("expected examples in the training split"), std::string::npos)
      << checked.output;
}

TEST(DataCheckReliability, MatchingRowWithAnEmptyDocumentIsRefused) {
  TempDir dir;
  const std::string good = "1\ta\tb\tfirst text\tsecond text\n";
  write_text(dir / "new_aan_pairs.train.tsv", good + "0\ta\tb\tfirst text\t\n");
  write_text(dir / "new_aan_pairs.eval.tsv", good);
  write_text(dir / "new_aan_pairs.test.tsv", good);
  const auto train = (dir / "new_aan_pairs.train.tsv").string();
  EXPECT_TRUE(throws_data_error([&] { data::read_matching_tsv(train, 100); },
                                {train + ":2: text2", "non-empty"}));
  write_text(dir / "new_aan_pairs.train.tsv", good + "0\ta\tb\t\"\"\tsecond\n");
  EXPECT_TRUE(throws_data_error([&] { data::read_matching_tsv(train, 100); },
                                {train + ":2: text1", "non-empty"}));
  const auto checked = data_check("matching", dir);
  EXPECT_EQ(checked.code, 1) << checked.output;
  EXPECT_NE(checked.output.find(train + ":2: text1"), std::string::npos) << checked.output;
}

TEST(DataReliability, ByteOrderMarkIsAcceptedInListOpsAndMatchingTsv) {
  TempDir dir;
  const std::string bom = "\xEF\xBB\xBF";
  write_text(dir / "basic.tsv", bom + "Source\tTarget\n( [MAX 2 9 ] )\t9\n");
  const auto listops = data::read_listops_tsv(dir / "basic.tsv", 100);
  ASSERT_EQ(listops.size(), 1u);
  EXPECT_EQ(listops[0].label, 9);
  write_text(dir / "pairs.tsv", bom + "1\ta\tb\tfirst\tsecond\n");
  const auto pairs = data::read_matching_tsv(dir / "pairs.tsv", 100);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].label, 1);
}

TEST(DataReliability, IdxHeaderWhoseSizeOverflowsIsAHeaderError) {
  TempDir dir;
  // 2^31 x 2^31 x 4 = 2^64 bytes: wraps to 0 in 64 bits, which this 16-byte file would match.
  write_text(dir / "images",
             big_endian(0x803) + big_endian(0x80000000u) + big_endian(0x80000000u) + big_endian(4));
  write_text(dir / "labels", idx_labels(2));
  const auto images = (dir / "images").string();
  EXPECT_TRUE(throws_data_error([&] { data::read_idx_dataset(images, dir / "labels"); },
                                {images, "header", "2147483648x2147483648x4"}));
}

}  // namespace
