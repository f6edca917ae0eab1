// The enumerated options of the nn modules, each with its one table of names (the spelling the
// run configuration uses). Torch-free, so plain configuration structs can hold them.
#pragma once

#include <array>

#include "lunar/core/choice.h"

namespace lunar::nn {

enum class FilterKind { conv, maxpool };
constexpr std::array<Named<FilterKind>, 2> choice_names(FilterKind) {
  return {{{FilterKind::conv, "conv"}, {FilterKind::maxpool, "maxpool"}}};
}

// learn: τ is a learnable scalar initialised at 0 (divisor 1 at start);
// unit: divisor 1, frozen; sqrt: divisor √d_h (τ = ½·ln d_h, frozen).
enum class TemperatureMode { learn, unit, sqrt };
constexpr std::array<Named<TemperatureMode>, 3> choice_names(TemperatureMode) {
  return {{{TemperatureMode::learn, "learn"},
           {TemperatureMode::unit, "unit"},
           {TemperatureMode::sqrt, "sqrt"}}};
}

// softplus: Softplus(x W); gated1 | gated2 | gated3: that many gated layers (gated3 with
// low-rank gates of rank max(1, d_h/4)).
enum class FeatureMapKind { softplus, gated1, gated2, gated3 };
constexpr std::array<Named<FeatureMapKind>, 4> choice_names(FeatureMapKind) {
  return {{{FeatureMapKind::softplus, "softplus"},
           {FeatureMapKind::gated1, "gated1"},
           {FeatureMapKind::gated2, "gated2"},
           {FeatureMapKind::gated3, "gated3"}}};
}

// SimpleTRON's N in Kᵀ V / √N: padded | valid: the real keys per example when a key mask is
// given (masks on), else the padded length; none: N = 1.
enum class LengthNorm { padded, valid, none };
constexpr std::array<Named<LengthNorm>, 3> choice_names(LengthNorm) {
  return {
      {{LengthNorm::padded, "padded"}, {LengthNorm::valid, "valid"}, {LengthNorm::none, "none"}}};
}

}  // namespace lunar::nn
