// The built-in rows of the architecture table (private to src/models).
#pragma once

#include <vector>

#include "lunar/models/registry.h"

namespace lunar::models::detail {

// transformer, luna, preluna, convluna, ffkernel, simpletron, in this order.
std::vector<Architecture> builtin_architectures();

}  // namespace lunar::models::detail
