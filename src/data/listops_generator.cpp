// The ListOps generator: LRA's tree distribution, our seeded generator, streaming TSV output.
#include "lunar/data/listops_generator.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"

namespace lunar::data {
namespace {

// Trees are grown into a compact pre-order code: a byte 0..9 is a digit leaf, 10 + op is an
// operator followed by one byte with its argument count, then its arguments.
constexpr char kOperatorBase = 10;
constexpr std::array<std::string_view, 4> kOperators = {"[MIN", "[MAX", "[MED", "[SM"};
constexpr double kValueProbability = 0.25;  // LRA's VALUE_P: a node is a leaf when r > 0.25

uint64_t hash_code(const std::string& code) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bit
  for (char c : code) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Renders as LRA's to_string does for the nested tuple ((((op, v0), v1), ...), END):
// "( " once per argument plus one, then "op v0 )", " vi )" for each later argument, " ] )".
size_t render(const std::string& code, size_t at, std::string& out) {
  const char c = code[at];
  if (c < kOperatorBase) {
    out.push_back(static_cast<char>('0' + c));
    return at + 1;
  }
  const int count = code[at + 1];
  for (int i = 0; i <= count; ++i) out += "( ";
  out += kOperators[c - kOperatorBase];
  at += 2;
  for (int i = 0; i < count; ++i) {
    out.push_back(' ');
    at = render(code, at, out);
    out += " )";
  }
  out += " ] )";
  return at;
}

size_t evaluate(const std::string& code, size_t at, int& value) {
  const char c = code[at];
  if (c < kOperatorBase) {
    value = c;
    return at + 1;
  }
  const int count = code[at + 1];
  at += 2;
  std::array<int, 64> arguments{};
  for (int i = 0; i < count; ++i) at = evaluate(code, at, arguments[i]);
  int* begin = arguments.data();
  int* end = begin + count;
  switch (c - kOperatorBase) {
    case 0:
      value = *std::min_element(begin, end);
      break;
    case 1:
      value = *std::max_element(begin, end);
      break;
    case 2: {
      // int(np.median(...)): the mean of the middle pair for an even count, truncated.
      std::sort(begin, end);
      value = count % 2 == 1 ? begin[count / 2] : (begin[count / 2 - 1] + begin[count / 2]) / 2;
      break;
    }
    default: {
      int sum = 0;
      for (int* p = begin; p != end; ++p) sum += *p;
      value = sum % 10;
    }
  }
  return at;
}

}  // namespace

ListOpsGenerator::ListOpsGenerator(const ListOpsOptions& options)
    : options_(options), rng_(options.seed) {
  check(options.max_args >= 2 && options.max_args <= 60,
        "[listops] expected 2 <= max_args <= 60, got {}", options.max_args);
  check(options.max_depth >= 1, "[listops] expected max_depth >= 1, got {}", options.max_depth);
  check(options.min_length + 1 < options.max_length,
        "[listops] expected min_length + 1 < max_length, got {} and {}", options.min_length,
        options.max_length);
}

// LRA's generate_tree(depth, max_depth, max_args). Returns false once the tree reaches
// max_length tokens: it would be rejected anyway, so growing it further is wasted work.
bool ListOpsGenerator::grow(int64_t depth, std::string& code, int64_t& length) {
  const double r = depth < options_.max_depth ? rng_.uniform() : 1.0;
  if (r > kValueProbability) {
    code.push_back(static_cast<char>(rng_.uniform_int(0, 9)));
    length += 1;
    return length < options_.max_length;
  }
  const auto count = rng_.uniform_int(2, options_.max_args);
  const size_t head = code.size();
  code.push_back(0);  // operator, chosen after the arguments as LRA does
  code.push_back(static_cast<char>(count));
  length += 2;
  for (int64_t i = 0; i < count; ++i) {
    if (!grow(depth + 1, code, length)) return false;
  }
  code[head] = static_cast<char>(kOperatorBase + rng_.uniform_int(0, 3));
  return length < options_.max_length;
}

ListOpsSample ListOpsGenerator::next() {
  std::string code;
  while (true) {
    ++attempts_;
    code.clear();
    int64_t length = 0;
    if (!grow(1, code, length)) continue;
    if (length <= options_.min_length || length >= options_.max_length) continue;
    if (!seen_.insert(hash_code(code)).second) continue;
    ListOpsSample sample;
    sample.length = length;
    sample.source.reserve(static_cast<size_t>(length) * 5);
    render(code, 0, sample.source);
    int value = 0;
    evaluate(code, 0, value);
    sample.label = value;
    return sample;
  }
}

ListOpsSummary write_listops(const ListOpsOptions& options, const std::filesystem::path& out_dir) {
  check(options.num_train >= 0 && options.num_val >= 0 && options.num_test >= 0,
        "[listops] expected non-negative split sizes, got {}/{}/{}", options.num_train,
        options.num_val, options.num_test);
  ListOpsGenerator generator(options);
  std::filesystem::create_directories(out_dir);
  auto write_split = [&](const std::string& split, int64_t count) {
    write_atomically(out_dir / ("basic_" + split + ".tsv"), [&](std::ostream& out) {
      std::string buffer = "Source\tTarget\n";
      for (int64_t i = 0; i < count; ++i) {
        const ListOpsSample sample = generator.next();
        buffer += sample.source;
        buffer.push_back('\t');
        buffer += std::to_string(sample.label);
        buffer.push_back('\n');
        if (buffer.size() > (1 << 20)) {
          out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
          buffer.clear();
        }
      }
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    });
  };
  write_split("train", options.num_train);
  write_split("val", options.num_val);
  write_split("test", options.num_test);
  ListOpsSummary summary;
  summary.train = options.num_train;
  summary.val = options.num_val;
  summary.test = options.num_test;
  summary.attempts = generator.attempts();
  return summary;
}

}  // namespace lunar::data
