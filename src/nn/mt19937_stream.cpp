// mt19937 in bulk: the twist (a serial recurrence over 624-word blocks) runs on one thread into a
// buffer; tempering, which is per word, runs in parallel with the consumer.
#include "lunar/nn/mt19937_stream.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <mutex>

#include "lunar/core/error.h"

namespace lunar::nn {

namespace {
constexpr int kMtWords = at::MERSENNE_STATE_N;   // words per block (624)
constexpr int kMtShift = at::MERSENNE_STATE_M;   // 397
constexpr int kMtFromOld = kMtWords - kMtShift;  // 227 words need only the old block
constexpr int64_t kMtParallelGrain = 16;         // chunks: 16K draws, ~15 µs of tempering

// One word of the recurrence, as at::mt19937_engine::twist, without a branch so it vectorises.
inline uint32_t mt_twist_word(uint32_t u, uint32_t v) {
  const uint32_t mixed = (u & at::UMASK) | (v & at::LMASK);
  return (mixed >> 1) ^ (-(v & 1u) & at::MATRIX_A);
}

// The block after `old`, as at::mt19937_engine::next_state computes in place. Written into a
// separate array, word i reads old[i], old[i + 1] and old[i + 397] for i < 227 and the new word
// i − 227 after: no dependence within a vector, so both loops vectorise.
void mt_next_block(const uint32_t* __restrict old, uint32_t* __restrict next) {
  for (int i = 0; i < kMtFromOld; ++i) {
    next[i] = old[i + kMtShift] ^ mt_twist_word(old[i], old[i + 1]);
  }
  for (int i = kMtFromOld; i < kMtWords - 1; ++i) {
    next[i] = next[i - kMtFromOld] ^ mt_twist_word(old[i], old[i + 1]);
  }
  next[kMtWords - 1] = next[kMtShift - 1] ^ mt_twist_word(old[kMtWords - 1], next[0]);
}

// The output of a state word, as at::mt19937_engine::operator() tempers it.
inline uint32_t mt_temper(uint32_t y) {
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  return y ^ (y >> 18);
}

// Reads the next `count` untempered words of `generator`'s engine into `words` and advances the
// engine past them, exactly as `count` calls of its operator() would.
void mt_advance(at::CPUGeneratorImpl& generator, int64_t count, uint32_t* words) {
  at::mt19937 engine = generator.engine();
  at::mt19937_data_pod data = engine.data();
  check(engine.is_valid() && int64_t{data.next_} + data.left_ <= kMtWords + 1,
        "[mt19937] expected a valid generator state, got left {} next {}", data.left_, data.next_);
  // operator() decrements left_ and twists when it reaches 0, so left_ − 1 words of the current
  // block, from next_, remain (none right after seeding: left_ 1, next_ 0).
  int64_t done = std::min<int64_t>(count, data.left_ - 1);
  std::copy_n(data.state_.data() + data.next_, done, words);
  data.next_ += done;
  data.left_ -= done;
  // Whole blocks twist straight into the output, each from the one before it.
  const uint32_t* block = data.state_.data();
  for (; count - done >= kMtWords; done += kMtWords) {
    mt_next_block(block, words + done);
    block = words + done;
  }
  if (done < count) {  // the last block, partly read: it becomes the state
    std::array<uint32_t, kMtWords> next;
    mt_next_block(block, next.data());
    const int64_t read = count - done;
    std::copy_n(next.data(), read, words + done);
    data.state_ = next;
    data.next_ = read;
    data.left_ = kMtWords + 1 - read;
  } else if (block != data.state_.data()) {  // ended exactly at the end of a twisted block
    std::copy_n(block, kMtWords, data.state_.data());
    data.next_ = kMtWords;
    data.left_ = 1;
  }
  engine.set_data(data);
  generator.set_engine(engine);
}
}  // namespace

void draw_random64(const at::Generator& generator, int64_t n, Random64Consumer consume) {
  check(n >= 0, "[mt19937] expected a non-negative number of draws, got {}", n);
  if (n == 0) return;
  auto* cpu = at::check_generator<at::CPUGeneratorImpl>(generator);
  // random64() joins two engine outputs, the first as the high word. Untempered words are
  // buffered so that the serial part does only the twist.
  const auto buffer = at::empty({2 * n}, at::kInt);
  auto* words = reinterpret_cast<uint32_t*>(buffer.data_ptr<int32_t>());
  {
    std::lock_guard<std::mutex> lock(cpu->mutex_);
    mt_advance(*cpu, 2 * n, words);
  }
  const int64_t chunks = (n + kMt19937Chunk - 1) / kMt19937Chunk;
  at::parallel_for(0, chunks, kMtParallelGrain, [&](int64_t begin, int64_t end) {
    uint64_t values[kMt19937Chunk];
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t first = chunk * kMt19937Chunk;
      const int64_t count = std::min(kMt19937Chunk, n - first);
      const uint32_t* pairs = words + 2 * first;
      for (int64_t j = 0; j < count; ++j) {
        values[j] = uint64_t{mt_temper(pairs[2 * j])} << 32 | mt_temper(pairs[2 * j + 1]);
      }
      consume(first, values, count);
    }
  });
}

}  // namespace lunar::nn
