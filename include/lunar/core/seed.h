// Seeding for reproducible runs.
#pragma once

#include <cstdint>

namespace lunar {

// Seeds LibTorch's CPU (and CUDA) generators; every random choice in lunar derives from it or
// from generators seeded explicitly from the same seed.
void seed_everything(uint64_t seed);

}  // namespace lunar
