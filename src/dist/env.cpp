// Parsing of the distributed-run environment variables.
#include "lunar/dist/env.h"

#include <cstdlib>

#include "lunar/core/error.h"

namespace lunar::dist {
namespace {

constexpr const char* kVariables = "MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE (and LOCAL_RANK)";

std::string required(const EnvLookup& lookup, const std::string& name) {
  const auto value = lookup(name);
  check(value.has_value() && !value->empty(),
        "[dist] environment variable {} is not set; a distributed run needs {} (set by "
        "`lunar launch`, torchrun or your job script, see docs/distributed.md)",
        name, kVariables);
  return *value;
}

int64_t integer(const std::string& name, const std::string& text, int64_t low, int64_t high,
                const std::string& range) {
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used == text.size() && used > 0 && value >= low && value <= high,
        "[dist] environment variable {}: expected an integer {}, got '{}'", name, range, text);
  return value;
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

DistEnv parse_env(const EnvLookup& lookup) {
  DistEnv env;
  env.master_addr = required(lookup, "MASTER_ADDR");
  env.master_port =
      integer("MASTER_PORT", required(lookup, "MASTER_PORT"), 1, 65535, "in [1, 65535]");
  env.world_size = integer("WORLD_SIZE", required(lookup, "WORLD_SIZE"), 1, 1 << 20, ">= 1");
  env.rank = integer("RANK", required(lookup, "RANK"), 0, env.world_size - 1,
                     fmt::format("in [0, WORLD_SIZE = {})", env.world_size));
  const auto local = lookup("LOCAL_RANK");
  if (local.has_value()) {
    env.local_rank = integer("LOCAL_RANK", *local, 0, env.world_size - 1,
                             fmt::format("in [0, WORLD_SIZE = {})", env.world_size));
  }
  return env;
}

bool env_requests_distributed(const EnvLookup& lookup) {
  const auto world = lookup("WORLD_SIZE");
  if (!world.has_value() || world->empty()) return false;
  return integer("WORLD_SIZE", *world, 1, 1 << 20, ">= 1") > 1;
}

}  // namespace lunar::dist
