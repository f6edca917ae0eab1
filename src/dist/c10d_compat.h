// The c10d headers and the differences between LibTorch versions that dist relies on; the
// only file of lunar that includes torch/csrc/distributed.
#pragma once

// Linux builds of LibTorch (Debian's 1.13 and the 2.x wheels) always contain Gloo; its header
// is empty unless this is defined.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

// NCCL exists only in CUDA builds; CMake defines USE_C10D_NCCL for those.
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace lunar::dist::compat {

// LibTorch 2.0 split ProcessGroup into a dispatching ProcessGroup and per-device Backends;
// ProcessGroupGloo and ProcessGroupNCCL derive from Backend there and from ProcessGroup in
// 1.13. Both bases offer broadcast/allreduce/barrier returning a Work.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

inline constexpr bool kHasNccl =
#ifdef USE_C10D_NCCL
    true;
#else
    false;
#endif

}  // namespace lunar::dist::compat
