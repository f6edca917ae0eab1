// The variables torchrun, Slurm scripts and `lunar launch` set for each process of a
// distributed run: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace lunar::dist {

struct DistEnv {
  std::string master_addr;  // host of rank 0, where the TCPStore rendezvous listens
  int64_t master_port = 0;  // 1..65535
  int64_t rank = 0;         // 0 <= rank < world_size
  int64_t world_size = 1;
  int64_t local_rank = 0;  // index of the process on its machine (selects cuda:LOCAL_RANK)
};

// Reads one variable; std::nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process's own environment.
EnvLookup process_environment();

// Parses the variables; a missing or malformed one is a lunar::Error naming it. LOCAL_RANK is
// optional (default 0).
DistEnv parse_env(const EnvLookup& lookup);

// True when WORLD_SIZE is set to more than 1 (a launcher started this process as one rank).
bool env_requests_distributed(const EnvLookup& lookup);

}  // namespace lunar::dist
