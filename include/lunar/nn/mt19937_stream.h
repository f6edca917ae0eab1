// Bulk draws from a CPU generator's mt19937 that equal its random64() calls bit for bit.
// LibTorch's CPU random_() makes them one at a time, under the generator's lock, on one thread:
// for the millions of bits fast_dropout needs per step that was ~10% of a training step.
#pragma once

#include <ATen/core/Generator.h>
#include <c10/util/FunctionRef.h>

#include <cstdint>

namespace lunar::nn {

// The most draws one call of a consumer receives; every call but the last receives this many.
constexpr int64_t kMt19937Chunk = 1024;

// Receives draws [first, first + count) of one draw_random64 call: values[j] is draw first + j.
using Random64Consumer =
    c10::function_ref<void(int64_t first, const uint64_t* values, int64_t count)>;

// Draws n numbers from the CPU generator `generator`: the values n calls to its random64()
// would return, in order (random_() on an int64 tensor stores them less the top bit), and the
// generator is left as those calls would leave it (n = 0 leaves it untouched). The state
// advances serially under the generator's mutex, as random_() holds it; the words are then
// tempered and handed to `consume` in parallel on LibTorch's intra-op threads, so `consume` is
// called concurrently, for disjoint ranges, and each draw is delivered exactly once.
void draw_random64(const at::Generator& generator, int64_t n, Random64Consumer consume);

}  // namespace lunar::nn
