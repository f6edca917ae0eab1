// ListOps generator with the distribution of LRA's lra_benchmarks/data/listops.py, seeded and
// reproducible; writes LRA's basic_{train,val,test}.tsv.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_set>

#include "lunar/data/random.h"

namespace lunar::data {

struct ListOpsOptions {
  uint64_t seed = 0;
  int64_t num_train = 96000;
  int64_t num_val = 2000;
  int64_t num_test = 2000;
  int64_t min_length = 500;   // accepted trees have min_length < tokens < max_length
  int64_t max_length = 2000;  // tokens count operators, digits and ']' (not parentheses)
  int64_t max_depth = 10;     // nodes at depth >= max_depth are leaves (the root has depth 1)
  int64_t max_args = 10;      // an operator takes randint(2, max_args) arguments
};

struct ListOpsSample {
  std::string source;  // LRA's rendering, e.g. "( ( ( [MAX 2 ) 9 ) ] )"
  int32_t label;       // the value of the expression, 0..9
  int64_t length;      // tokens without parentheses
};

// Draws distinct accepted trees one at a time. Operators MIN, MAX, MED (int of the median:
// the floor of the mean of the two middle values for an even count), SM (sum mod 10). A node
// below max_depth is a leaf (a uniform digit) with probability 0.75, else an operator.
class ListOpsGenerator {
 public:
  explicit ListOpsGenerator(const ListOpsOptions& options);
  ListOpsSample next();
  int64_t attempts() const { return attempts_; }  // trees drawn, accepted or not

 private:
  bool grow(int64_t depth, std::string& code, int64_t& length);

  ListOpsOptions options_;
  Rng rng_;
  std::unordered_set<uint64_t> seen_;  // hashes of accepted trees (collisions only reject)
  int64_t attempts_ = 0;
};

struct ListOpsSummary {
  int64_t train = 0, val = 0, test = 0;
  int64_t attempts = 0;
};

// Writes basic_train.tsv, basic_val.tsv, basic_test.tsv (header "Source\tTarget") into
// `out_dir`, each through a temporary file and a rename.
ListOpsSummary write_listops(const ListOpsOptions& options, const std::filesystem::path& out_dir);

}  // namespace lunar::data
