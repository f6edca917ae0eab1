// A seeded random generator whose outputs do not depend on the standard library's
// distributions: std::mt19937_64's sequence is fixed by the standard, the rest is ours.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace lunar::data {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Uniform integer in [low, high], both inclusive (Python's randint), by rejection so that
  // every value is exactly equally likely.
  int64_t uniform_int(int64_t low, int64_t high) {
    const uint64_t range = static_cast<uint64_t>(high - low) + 1;
    if (range == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return low + static_cast<int64_t>(x % range);
  }

 private:
  std::mt19937_64 engine_;
};

// Mixes two values into one seed (splitmix64 finaliser), e.g. a run seed and an epoch.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Fisher-Yates shuffle driven by `rng`.
template <typename T>
void shuffle(std::vector<T>& values, Rng& rng) {
  for (int64_t i = static_cast<int64_t>(values.size()) - 1; i > 0; --i) {
    const int64_t j = rng.uniform_int(0, i);
    std::swap(values[i], values[j]);
  }
}

}  // namespace lunar::data
