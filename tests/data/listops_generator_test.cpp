// The ListOps generator: labels checked by an independent evaluator of the rendered text,
// statistics the algorithm implies, and reproducibility.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "data_test_util.h"
#include "lunar/data/listops_generator.h"
#include "lunar/data/loaders.h"

namespace lunar::data {
namespace {

using lunar::testing::read_text;
using lunar::testing::TempDir;

// Recursive descent over LRA's parenthesised rendering, written without the generator's code.
// Grammar: expr := digit | '(' ... ')' groups that flatten to "[OP arg arg ... ]".
class Evaluator {
 public:
  explicit Evaluator(const std::string& text) {
    std::istringstream in(text);
    std::string token;
    while (in >> token) {
      if (token != "(" && token != ")") tokens_.push_back(token);
    }
  }
  int evaluate() {
    const int value = expression();
    EXPECT_EQ(at_, tokens_.size()) << "trailing tokens";
    return value;
  }
  size_t length() const { return tokens_.size(); }

 private:
  int expression() {
    const std::string& token = tokens_.at(at_++);
    if (token.size() == 1 && std::isdigit(static_cast<unsigned char>(token[0])))
      return token[0] - '0';
    std::vector<int> arguments;
    while (tokens_.at(at_) != "]") arguments.push_back(expression());
    ++at_;  // ']'
    EXPECT_GE(arguments.size(), 2u);
    std::vector<int> sorted = arguments;
    std::sort(sorted.begin(), sorted.end());
    if (token == "[MIN") return sorted.front();
    if (token == "[MAX") return sorted.back();
    if (token == "[SM") {
      int sum = 0;
      for (int v : arguments) sum += v;
      return sum % 10;
    }
    EXPECT_EQ(token, "[MED");
    const size_t n = sorted.size();
    // numpy's median, then int(): the mean of the middle pair, truncated.
    const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    return static_cast<int>(median);
  }

  std::vector<std::string> tokens_;
  size_t at_ = 0;
};

ListOpsOptions small_options(uint64_t seed) {
  ListOpsOptions options;
  options.seed = seed;
  options.num_train = 1500;
  options.num_val = 100;
  options.num_test = 100;
  options.min_length = 20;
  options.max_length = 200;
  return options;
}

TEST(ListOpsEvaluator, MedianOfAnEvenCountIsTruncated) {
  EXPECT_EQ(Evaluator("( ( ( [MED 2 ) 5 ) ] )").evaluate(), 3);
  EXPECT_EQ(Evaluator("( ( ( ( [SM 9 ) 9 ) 3 ) ] )").evaluate(), 1);
}

TEST(ListOpsGenerator, RendersAsLra) {
  // Two arguments: three opening parentheses, as in LRA's to_string of ((op, a), b), END).
  ListOpsGenerator generator(small_options(3));
  const auto sample = generator.next();
  EXPECT_EQ(sample.source.rfind("( ( ", 0), 0u) << sample.source;
  EXPECT_EQ(sample.source.substr(sample.source.size() - 4), " ] )") << sample.source;
}

TEST(ListOpsGenerator, LabelsMatchAnIndependentEvaluator) {
  ListOpsGenerator generator(small_options(7));
  std::set<std::string> seen;
  std::map<std::string, int64_t> operators;
  std::map<int, int64_t> sum_labels;
  int64_t sum_roots = 0;
  const int kSamples = 1500;
  for (int i = 0; i < kSamples; ++i) {
    const auto sample = generator.next();
    Evaluator evaluator(sample.source);
    ASSERT_EQ(evaluator.evaluate(), sample.label) << sample.source;
    EXPECT_EQ(static_cast<int64_t>(evaluator.length()), sample.length);
    EXPECT_GT(sample.length, 20);
    EXPECT_LT(sample.length, 200);
    EXPECT_TRUE(seen.insert(sample.source).second) << "duplicate tree";
    std::istringstream in(sample.source);
    std::string token;
    bool root = true;
    while (in >> token) {
      if (token[0] == '[') {
        ++operators[token];
        if (root && token == "[SM") {
          ++sum_labels[sample.label];
          ++sum_roots;
        }
        root = false;
      }
    }
  }
  // The operator is chosen uniformly and independently of the tree's shape: 1/4 each.
  int64_t total = 0;
  for (const auto& [name, count] : operators) total += count;
  ASSERT_EQ(operators.size(), 4u);
  for (const auto& [name, count] : operators) {
    EXPECT_NEAR(static_cast<double>(count) / total, 0.25, 0.02) << name;
  }
  // A sum mod 10 with an independent uniform digit among its arguments is uniform.
  ASSERT_GT(sum_roots, 250);
  for (int label = 0; label < 10; ++label) {
    EXPECT_NEAR(static_cast<double>(sum_labels[label]) / sum_roots, 0.1, 0.05) << label;
  }
}

TEST(ListOpsGenerator, SameSeedSameFilesOtherSeedOtherFiles) {
  TempDir dir;
  write_listops(small_options(11), dir / "a");
  write_listops(small_options(11), dir / "b");
  write_listops(small_options(12), dir / "c");
  for (const char* name : {"basic_train.tsv", "basic_val.tsv", "basic_test.tsv"}) {
    const auto a = read_text(dir / "a" / name);
    EXPECT_EQ(a.rfind("Source\tTarget\n", 0), 0u);
    EXPECT_EQ(a, read_text(dir / "b" / name)) << name;
    EXPECT_NE(a, read_text(dir / "c" / name)) << name;
  }
  // No tree appears in two splits, and the loader reads exactly what was written.
  std::set<std::string> lines;
  int64_t rows = 0;
  for (const char* name : {"basic_train.tsv", "basic_val.tsv", "basic_test.tsv"}) {
    std::istringstream in(read_text(dir / "a" / name));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      ++rows;
      lines.insert(line.substr(0, line.find('\t')));
    }
  }
  EXPECT_EQ(rows, 1700);
  EXPECT_EQ(lines.size(), 1700u);
  EXPECT_EQ(read_listops_tsv(dir / "a" / "basic_val.tsv", 0).size(), 100u);
  // Only the three files: the temporary files were renamed.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "a"), fs::directory_iterator()), 3);
}

TEST(ListOpsGenerator, RejectsImpossibleOptions) {
  ListOpsOptions options;
  options.max_args = 1;
  EXPECT_THROW(ListOpsGenerator{options}, lunar::Error);
  options = ListOpsOptions{};
  options.min_length = 100;
  options.max_length = 100;
  EXPECT_THROW(ListOpsGenerator{options}, lunar::Error);
}

}  // namespace
}  // namespace lunar::data
