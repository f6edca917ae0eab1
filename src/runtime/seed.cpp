// Global seeding.
#include "lunar/runtime/seed.h"

#include <torch/utils.h>

namespace lunar {

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

uint64_t rank_seed(uint64_t seed, int64_t rank) {
  if (rank == 0) return seed;
  uint64_t z = seed + static_cast<uint64_t>(rank) * 0x9E3779B97F4A7C15ULL;  // SplitMix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace lunar
