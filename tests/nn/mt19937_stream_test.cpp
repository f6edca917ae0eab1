// draw_random64 against the generator it replaces: the values of random64() calls and of
// random_() on an int64 tensor, and the state those leave behind.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <string>
#include <vector>

#include "lunar/nn/mt19937_stream.h"
#include "support/threads.h"

namespace lunar::nn {
namespace {

// A generator seeded with `seed` that has already given `skip` 32-bit words: odd counts leave
// it mid-pair, which random64() alone never does but random() does.
at::Generator seeded(uint64_t seed, int64_t skip) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto* cpu = at::check_generator<at::CPUGeneratorImpl>(generator);
  for (int64_t i = 0; i < skip; ++i) cpu->random();
  return generator;
}

uint64_t random64(const at::Generator& generator) {
  return at::check_generator<at::CPUGeneratorImpl>(generator)->random64();
}

// The draws of draw_random64 in order; fails the test if one is delivered other than once.
std::vector<uint64_t> draw(const at::Generator& generator, int64_t n) {
  std::vector<uint64_t> values(n);
  std::vector<int> deliveries(n);  // each consumer call writes its own entries
  draw_random64(generator, n, [&](int64_t first, const uint64_t* chunk, int64_t count) {
    EXPECT_EQ(first % kMt19937Chunk, 0);
    EXPECT_LE(count, kMt19937Chunk);
    for (int64_t j = 0; j < count; ++j) {
      values[first + j] = chunk[j];
      ++deliveries[first + j];
    }
  });
  int64_t wrong = 0;
  for (int times : deliveries) wrong += times != 1;
  EXPECT_EQ(wrong, 0) << "draws not delivered exactly once, of " << n;
  return values;
}

// The int64 tensor random_() would fill with these draws: they less the top bit.
at::Tensor as_random_tensor(std::vector<uint64_t>& values) {
  const auto n = static_cast<int64_t>(values.size());
  return at::from_blob(values.data(), {n}, at::kLong)
      .bitwise_and(std::numeric_limits<int64_t>::max());
}

// Both generators give the same next draws and serialise to the same state.
void expect_same_state(const at::Generator& got, const at::Generator& want,
                       const std::string& where) {
  EXPECT_TRUE(got.get_state().equal(want.get_state())) << where;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(random64(got), random64(want)) << where << " next " << i;
}

TEST(Mt19937Stream, EqualsRandom64CallsAndLeavesTheSameState) {
  const lunar::testing::IntraOpThreads threads;
  // Offsets in 32-bit words (k random64() calls are 2k): none, so the twist comes first; 311,
  // 623, 624 and 1000 calls (622, 1246, 1248 = two blocks exactly, 2000); the end of the first
  // block (624); mid-pair (1, 623, 1247), where only random() leaves the engine.
  const std::vector<int64_t> skips = {0, 1, 2, 622, 623, 624, 1246, 1247, 1248, 2000};
  std::vector<int64_t> lengths = {0, 1, 2, 311, 312, 623, 624, 625, 5000, (1 << 20) + 3};
  for (uint64_t seed : {0ull, 7ull, 20240601ull}) {
    for (int64_t skip : skips) {
      for (int64_t n : lengths) {
        const std::string where = "seed " + std::to_string(seed) + " skip " + std::to_string(skip) +
                                  " n " + std::to_string(n);
        const auto fast = seeded(seed, skip);
        const auto slow = seeded(seed, skip);
        const auto values = draw(fast, n);
        int64_t mismatches = 0;
        for (int64_t j = 0; j < n; ++j) mismatches += values[j] != random64(slow);
        EXPECT_EQ(mismatches, 0) << where;
        expect_same_state(fast, slow, where);
      }
    }
    lengths.pop_back();  // a million draws (over 3000 blocks, in parallel) once is enough
  }
}

TEST(Mt19937Stream, EqualsRandomOnAnInt64TensorLessTheTopBit) {
  const lunar::testing::IntraOpThreads threads;
  for (int64_t skip : {0, 311 * 2, 1000 * 2}) {
    for (int64_t n : {1, 625, 5000, 1 << 18}) {
      const std::string where = "skip " + std::to_string(skip) + " n " + std::to_string(n);
      const auto fast = seeded(11, skip);
      const auto slow = seeded(11, skip);
      auto values = draw(fast, n);
      const auto want = at::empty({n}, at::kLong).random_(slow);
      EXPECT_TRUE(as_random_tensor(values).equal(want)) << where;
      expect_same_state(fast, slow, where);
    }
  }
}

TEST(Mt19937Stream, DrawsFromTheDefaultGeneratorAsRandomDoes) {
  at::manual_seed(12);
  auto values = draw(at::detail::getDefaultCPUGenerator(), 3000);
  const auto after = at::randn({5});
  at::manual_seed(12);
  const auto want = at::empty({3000}, at::kLong).random_();
  EXPECT_TRUE(as_random_tensor(values).equal(want));
  EXPECT_TRUE(after.equal(at::randn({5})));  // the generator is left where random_() leaves it
}

TEST(Mt19937Stream, ConsumesOnEveryIntraOpThread) {
  // at::parallel_for compiled without OpenMP runs serially without a word: guard the split.
  const lunar::testing::IntraOpThreads threads;
  std::atomic<int> seen{0};  // bit t: thread t consumed a chunk
  draw_random64(seeded(14, 0), 1 << 20,
                [&](int64_t, const uint64_t*, int64_t) { seen |= 1 << at::get_thread_num(); });
  EXPECT_EQ(seen.load(), 0b11);
}

TEST(Mt19937Stream, NothingDrawnLeavesTheGeneratorUntouched) {
  for (int64_t skip : {0, 5}) {
    const auto fast = seeded(13, skip);
    const auto slow = seeded(13, skip);
    draw_random64(fast, 0, [](int64_t, const uint64_t*, int64_t) { FAIL() << "consumer called"; });
    expect_same_state(fast, slow, "skip " + std::to_string(skip));
  }
}

}  // namespace
}  // namespace lunar::nn
