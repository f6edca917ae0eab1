// ListOps, IMDB and AAN readers on small files: good input and every kind of bad input.
#include <gtest/gtest.h>

#include "data_test_util.h"
#include "lunar/data/loaders.h"
#include "lunar/data/task.h"
#include "lunar/data/tokenizer.h"

namespace lunar::data {
namespace {

using lunar::testing::TempDir;
using lunar::testing::throws_data_error;
using lunar::testing::write_text;

TEST(Tokenizer, BytesAndListOps) {
  EXPECT_EQ(byte_tokens("A\xc3\xa9", 0), (std::vector<int32_t>{66, 0xc3 + 1, 0xa9 + 1}));
  EXPECT_EQ(byte_tokens("abcdef", 3).size(), 3u);
  EXPECT_EQ(listops_tokens("( ( ( [MAX 2 ) 9 ) ] )", 0), (std::vector<int32_t>{13, 4, 11, 16}));
  EXPECT_EQ(listops_tokens("[MIN 1 [FOO ]", 0), (std::vector<int32_t>{12, 3, kUnknownId, 16}));
  EXPECT_EQ(listops_tokens("[SM 1 2 3 4 ]", 3), (std::vector<int32_t>{15, 3, 4}));
  for (int32_t id = 2; id < kListOpsVocabSize; ++id) {
    EXPECT_EQ(listops_token_id(listops_symbol(id)), id);
  }
  EXPECT_EQ(find_invalid_utf8("ok \xe2\x82\xac"), -1);
  EXPECT_EQ(find_invalid_utf8("ab\xff"), 2);
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0);   // overlong
  EXPECT_EQ(find_invalid_utf8("x\xe2\x82"), 1);  // truncated sequence
}

TEST(ListOpsLoader, ReadsLraTsv) {
  TempDir dir;
  write_text(dir / "a.tsv", "Source\tTarget\r\n( ( ( [MAX 2 ) 9 ) ] )\t9\r\n( ( [SM 5 ) ] )\t5\n");
  const auto examples = read_listops_tsv(dir / "a.tsv", 0);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].label, 9);
  EXPECT_EQ(examples[0].tokens, (std::vector<int32_t>{13, 4, 11, 16}));
  EXPECT_TRUE(examples[0].tokens2.empty());
}

TEST(ListOpsLoader, BadFiles) {
  TempDir dir;
  const auto path = dir / "bad.tsv";
  const std::string header = "Source\tTarget\n";
  write_text(path, header + "( [MAX 2 ] )\t9\textra\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_listops_tsv(path, 0); }, {"bad.tsv:2", "columns", "got 3"}));
  write_text(path, header + "( [MAX 2 ] )\t9\n( [MAX 2 ] )\tnine\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_listops_tsv(path, 0); }, {"bad.tsv:3", "Target", "'nine'"}));
  write_text(path, header + "( [MAX 2 ] )\t10\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_listops_tsv(path, 0); }, {"bad.tsv:2", "Target", "[0, 9]"}));
  write_text(path, header + "( [MAX \xff ] )\t1\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_listops_tsv(path, 0); }, {"bad.tsv:2", "Source", "UTF-8"}));
  write_text(path, "");
  EXPECT_TRUE(throws_data_error([&] { read_listops_tsv(path, 0); }, {"bad.tsv", "empty file"}));
  write_text(path, "x\ty\n");
  EXPECT_TRUE(throws_data_error([&] { read_listops_tsv(path, 0); }, {"bad.tsv:1", "header"}));
  EXPECT_TRUE(throws_data_error([&] { read_listops_tsv(dir / "none.tsv", 0); },
                                {"none.tsv", "missing file"}));
  TaskConfig config;
  config.path = (dir / "absent").string();
  EXPECT_TRUE(throws_data_error([&] { load_task(config); }, {"absent", "directory"}));
}

TEST(TextLoader, CsvWithQuotesNewlinesAndBreaks) {
  TempDir dir;
  write_text(dir / "reviews.csv",
             "review,sentiment\n"
             "\"Great, \"\"really\"\"<br />good\nfilm\",positive\n"
             "plain bad,negative\n"
             "ok,1\n"
             "\"meh\",0\n");
  const auto examples = read_text_csv(dir / "reviews.csv", 0);
  ASSERT_EQ(examples.size(), 4u);
  const std::string first = "Great, \"really\"<br />good\nfilm";
  EXPECT_EQ(examples[0].tokens, byte_tokens(first, 0));
  EXPECT_EQ(examples[0].label, 1);
  EXPECT_EQ(examples[1].label, 0);
  EXPECT_EQ(examples[2].label, 1);
  EXPECT_EQ(examples[3].label, 0);
  EXPECT_EQ(read_text_csv(dir / "reviews.csv", 5)[0].tokens.size(), 5u);
}

TEST(TextLoader, BadCsv) {
  TempDir dir;
  const auto path = dir / "r.csv";
  write_text(path, "review,sentiment\nfine,positive\n\"multi\nline\",maybe\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_text_csv(path, 0); }, {"r.csv:3", "sentiment", "maybe"}));
  write_text(path, "review,sentiment\nfine,positive,extra\n");
  EXPECT_TRUE(throws_data_error([&] { read_text_csv(path, 0); }, {"r.csv:2", "columns"}));
  write_text(path, "text_only\nfine\n");
  EXPECT_TRUE(throws_data_error([&] { read_text_csv(path, 0); }, {"r.csv:1", "header"}));
  write_text(path, "review,sentiment\n\"never closed,positive\n");
  EXPECT_TRUE(throws_data_error([&] { read_text_csv(path, 0); }, {"r.csv:2", "unterminated"}));
}

TEST(TextLoader, AclImdbFoldersWithValidationSlice) {
  TempDir dir;
  const auto root = dir / "aclImdb";
  for (const char* split : {"train", "test"}) {
    for (int i = 0; i < 10; ++i) {
      write_text(root / split / "pos" / (std::to_string(i) + "_9.txt"),
                 "good " + std::to_string(i));
      write_text(root / split / "neg" / (std::to_string(i) + "_1.txt"),
                 "bad<br />" + std::to_string(i));
    }
  }
  const auto train = read_imdb_folder(root / "train", 0);
  ASSERT_EQ(train.size(), 20u);
  EXPECT_EQ(train[0].label, 1);
  EXPECT_EQ(train[0].tokens, byte_tokens("good 0", 0));
  EXPECT_EQ(train[19].label, 0);

  TaskConfig config;
  config.name = "text";
  config.path = dir.path().string();
  config.cache_dir = "off";
  const auto data = load_task(config);
  EXPECT_EQ(data.train.size(), 18u);
  EXPECT_EQ(data.validation.size(), 2u);
  EXPECT_EQ(data.test.size(), 20u);
  EXPECT_EQ(data.info.vocab_size, 257);
  EXPECT_EQ(data.info.max_length, 4000);
  config.validation_fraction = 0;
  EXPECT_EQ(load_task(config).validation.size(), 20u);  // LRA: validate on test

  fs::remove_all(root / "test" / "neg");
  EXPECT_TRUE(throws_data_error([&] { load_task(config); }, {"neg", "directory"}));
  write_text(root / "test" / "neg" / "0_1.txt", "bad \xfe");
  EXPECT_TRUE(throws_data_error([&] { load_task(config); }, {"0_1.txt", "review", "UTF-8"}));
}

TEST(MatchingLoader, ReadsPairsAndCutsDocuments) {
  TempDir dir;
  const std::string long_text(12000, 'a');
  write_text(dir / "new_aan_pairs.train.tsv",
             "1\tid-a\tid-b\tfirst text\tsecond\n0.0\tid-c\tid-d\t" + long_text + "\tz\n");
  write_text(dir / "new_aan_pairs.eval.tsv", "1.0\tx\ty\tp\tq\n");
  write_text(dir / "new_aan_pairs.test.tsv", "0\tx\ty\tp\tq\n");
  const auto examples = read_matching_tsv(dir / "new_aan_pairs.train.tsv", 0);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].label, 1);
  EXPECT_EQ(examples[0].tokens, byte_tokens("first text", 0));
  EXPECT_EQ(examples[0].tokens2, byte_tokens("second", 0));
  EXPECT_EQ(examples[1].label, 0);
  EXPECT_EQ(examples[1].tokens.size(), 10000u);  // the first 10,000 bytes
  TaskConfig config;
  config.name = "matching";
  config.path = dir.path().string();
  config.cache_dir = "off";
  const auto data = load_task(config);
  EXPECT_EQ(data.train[1].tokens.size(), 4000u);  // then 4,000 tokens per document
  EXPECT_TRUE(data.info.pair);
  EXPECT_EQ(data.validation.size(), 1u);
}

TEST(MatchingLoader, BadRows) {
  TempDir dir;
  const auto path = dir / "m.tsv";
  write_text(path, "1\ta\tb\tx\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_matching_tsv(path, 0); }, {"m.tsv:1", "columns", "got 4"}));
  write_text(path, "1\ta\tb\tx\ty\nyes\ta\tb\tx\ty\n");
  EXPECT_TRUE(throws_data_error([&] { read_matching_tsv(path, 0); }, {"m.tsv:2", "label"}));
  write_text(path, "2\ta\tb\tx\ty\n");
  EXPECT_TRUE(throws_data_error([&] { read_matching_tsv(path, 0); }, {"m.tsv:1", "label"}));
  write_text(path, "1\ta\tb\tx\t\xc3\n");
  EXPECT_TRUE(
      throws_data_error([&] { read_matching_tsv(path, 0); }, {"m.tsv:1", "text2", "UTF-8"}));
  write_text(path, "");
  EXPECT_TRUE(throws_data_error([&] { read_matching_tsv(path, 0); }, {"m.tsv", "empty"}));
}

TEST(TaskTable, InfoAndUnknownNames) {
  EXPECT_EQ(task_info("listops").vocab_size, 17);
  EXPECT_EQ(task_info("listops").max_length, 2000);
  EXPECT_EQ(task_info("cifar10").max_length, 1024);
  EXPECT_TRUE(task_info("fmnist").pixels);
  EXPECT_EQ(task_info("fmnist").vocab_size, 256);
  EXPECT_EQ(task_info("pathfinder").num_classes, 2);
  // The built-in rows first, in table order (toy_task_test.cpp may have added its row after).
  const auto names = task_names();
  ASSERT_GE(names.size(), 6u);
  EXPECT_EQ(
      std::vector<std::string>(names.begin(), names.begin() + 6),
      (std::vector<std::string>{"listops", "text", "matching", "cifar10", "fmnist", "pathfinder"}));
  try {
    task_info("imagenet");
    FAIL() << "expected lunar::Error";
  } catch (const lunar::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'imagenet'"), std::string::npos) << message;
    EXPECT_NE(message.find("listops, text, matching, cifar10, fmnist, pathfinder"),
              std::string::npos)
        << message;
  }
}

}  // namespace
}  // namespace lunar::data
