// Typed enumerated options: an `enum class` with one table of names, the spelling its values have
// in configuration files. Parsing, printing, "expected one of" messages and the docs rows of the
// configuration keys are all generated from that table. Header-only and torch-free.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/core/spelling.h"

namespace lunar {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};

// An enum opts in with one overload of `choice_names`, in the enum's own namespace (found by
// argument-dependent lookup), listing every value once in the order documentation shows them:
//   enum class Filter { conv, maxpool };
//   constexpr std::array<Named<Filter>, 2> choice_names(Filter) {
//     return {{{Filter::conv, "conv"}, {Filter::maxpool, "maxpool"}}};
//   }
template <typename E>
constexpr auto choice_table() {
  return choice_names(E{});
}

// True for an enum with a name table.
template <typename E, typename = void>
struct is_choice : std::false_type {};
template <typename E>
struct is_choice<E, std::void_t<decltype(choice_names(std::declval<E>()))>> : std::is_enum<E> {};
template <typename E>
inline constexpr bool is_choice_v = is_choice<E>::value;

// The names in table order: {"conv", "maxpool"}.
template <typename E>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& entry : choice_table<E>()) out.emplace_back(entry.name);
  return out;
}

// The name of `value`; "?" for a value outside the table (an unchecked static_cast).
template <typename E>
std::string_view to_string(E value) {
  for (const auto& entry : choice_table<E>()) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

// The value named `name`, if any.
template <typename E>
std::optional<E> find_choice(std::string_view name) {
  for (const auto& entry : choice_table<E>()) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

// Completes "expected ...": `one of "conv", "maxpool"`.
template <typename E>
std::string expected_choice() {
  std::string text = "one of ";
  bool first = true;
  for (const auto& entry : choice_table<E>()) {
    text += fmt::format("{}\"{}\"", first ? "" : ", ", entry.name);
    first = false;
  }
  return text;
}

// " (did you mean conv?)" when `name` is a near miss of a value's name, else "".
template <typename E>
std::string did_you_mean(std::string_view name) {
  const auto closest = closest_spelling(name, names<E>());
  return closest ? fmt::format(" (did you mean {}?)", *closest) : "";
}

// The value named `text`; throws lunar::Error
// `[config] expected <key> one of "conv", "maxpool", got "avgpool"` (with a "did you mean").
template <typename E>
E parse(std::string_view text, std::string_view key) {
  if (const auto value = find_choice<E>(text)) return *value;
  throw Error(fmt::format("[config] expected {} {}, got \"{}\"{}", key, expected_choice<E>(), text,
                          did_you_mean<E>(text)));
}

}  // namespace lunar

// fmt prints a choice by its name: fmt::format("{}", Precision::bf16) == "bf16".
template <typename E>
struct fmt::formatter<E, char, std::enable_if_t<lunar::is_choice_v<E>>>
    : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(E value, Context& context) const {
    return fmt::formatter<std::string_view>::format(lunar::to_string(value), context);
  }
};
