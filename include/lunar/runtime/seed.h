// Seeding for reproducible runs.
#pragma once

#include <cstdint>

namespace lunar {

// Seeds LibTorch's CPU (and CUDA) generators; every random choice in lunar derives from it or
// from generators seeded explicitly from the same seed.
void seed_everything(uint64_t seed);

// The seed of rank `rank`'s random stream in a data-parallel run: `seed` itself for rank 0,
// SplitMix64 of seed and rank for the others, so no two ranks share a stream.
uint64_t rank_seed(uint64_t seed, int64_t rank);

}  // namespace lunar
