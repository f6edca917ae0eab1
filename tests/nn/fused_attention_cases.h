// The shapes the AVX-512 fused attention kernels are tested at, fp32 and bf16 alike: M = 1
// (one query row) against many keys, M above the query block, head widths neither multiples of
// 16 nor even, lengths not multiples of the blocks, blocks of one, padded keys and none.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

namespace lunar::nn::cases {

constexpr int64_t kBatch = 2, kHeads = 3;

// Batch 1 loses its last `padded` keys to padding.
struct Case {
  int64_t lq, lk, head_dim, value_dim, query_block, key_block, padded;
};

inline std::ostream& operator<<(std::ostream& out, const Case& c) {
  return out << "Lq " << c.lq << " Lk " << c.lk << " Dh " << c.head_dim << " Dv " << c.value_dim
             << " blocks " << c.query_block << "x" << c.key_block << " padded " << c.padded;
}

inline const std::vector<Case> kShapes = {
    {1, 300, 64, 64, 64, 256, 0},   {1, 37, 7, 5, 64, 256, 3}, {300, 45, 33, 17, 64, 32, 0},
    {70, 300, 31, 18, 16, 100, 11}, {37, 5, 3, 1, 7, 1, 2},    {130, 70, 64, 64, 64, 256, 7},
    {65, 17, 16, 32, 64, 16, 0}};

// With dropout: a query block, a key block and a head width that divide nothing, one row.
inline const std::vector<Case> kDropoutShapes = {
    {37, 300, 33, 17, 16, 32, 6}, {300, 45, 64, 64, 64, 256, 0}, {1, 70, 5, 8, 64, 256, 4}};

}  // namespace lunar::nn::cases
