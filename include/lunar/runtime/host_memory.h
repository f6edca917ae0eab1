// How CPU tensors' memory is kept between training steps.
//
// A training step allocates the same large tensors (activations, attention maps, gradients)
// step after step. Left to glibc, blocks above 32 MiB go back to the system when freed and
// every step faults them in again, 4 KiB at a time; on virtual machines a page fault and a TLB
// miss are both expensive. retain_freed_memory() keeps freed memory in the process, and puts
// tensors of kLargeBlockBytes or more on 2 MiB transparent huge pages, so that a step neither
// faults nor walks page tables for them.
#pragma once

#include <cstdint>

namespace lunar {

// Tensors of this many bytes or more get their own 2 MiB-aligned mapping, rounded up to 2 MiB.
inline constexpr int64_t kLargeBlockBytes = int64_t{2} << 20;

// Keeps memory freed by tensors inside the process for the next step to reuse:
// - blocks under kLargeBlockBytes come from glibc's heap, which is never trimmed;
// - larger ones come from a cache of huge-page mappings. A freed mapping is reused for a later
//   request that fits it with at most a quarter left over. Mappings in use and kept stay within
//   twice the most ever in use at once (room for a step whose blocks fit each other's sizes
//   only in part); beyond that the least recently freed ones go back to the system.
// Installs itself as LibTorch's CPU allocator (below the priority of perf's memory probe, which
// wraps whatever allocator is current when it starts). Call once at start-up of a long-running
// command; later calls do nothing.
void retain_freed_memory();

// What the large-block cache holds now, in bytes (zero before retain_freed_memory()).
struct HostMemoryStats {
  int64_t in_use = 0;       // large blocks handed out and not yet freed (mapped sizes)
  int64_t cached = 0;       // mappings freed and kept for reuse
  int64_t peak_in_use = 0;  // the most in_use has been: in_use + cached <= 2 · peak_in_use
};
HostMemoryStats host_memory_stats();

}  // namespace lunar
