// Global seeding.
#include "lunar/core/seed.h"

#include <torch/utils.h>

namespace lunar {

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace lunar
