// Configuration keys: a dotted name bound to a field of a plain configuration struct, with the
// values it accepts and a description. Each module declares the keys of its own structs
// (models::model_keys(), data::task_keys()); train composes them into the run configuration's
// one table, which loading, `--set`, to_toml, equality and the key listing all read. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "lunar/core/choice.h"

namespace lunar::keys {

enum class ValueType { integer, floating, boolean, string, integer_list };

// A key's value, of the alternative its ValueType names.
using Value = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>>;

// The values a key accepts.
struct Rule {
  std::string expected;  // completes "expected ..., got <value>"
  std::function<bool(const Value&)> accepts;
  std::vector<std::string> values;  // an enumerated key's values, in order; empty otherwise
  // A suggestion appended to a rejection, e.g. " (did you mean conv?)"; empty when none.
  std::function<std::string(const Value&)> hint;
};

Rule positive();
Rule non_negative();
Rule at_least_two();
Rule fraction();             // [0, 1): probabilities and momenta
Rule positive_number();      // finite and > 0 (TOML has inf and nan; no key means anything by them)
Rule non_negative_number();  // finite and >= 0
Rule learning_rate();        // (0, 1]
Rule any_number();           // finite
Rule one_of(std::vector<std::string> values);  // a string among `values`
Rule any_string();
Rule non_empty_string();
Rule boolean();
Rule non_negative_list();

// An enumerated option: the names of E's table, with a "did you mean" for near misses.
template <typename E>
Rule choice() {
  Rule rule = one_of(names<E>());
  rule.expected = expected_choice<E>();
  rule.hint = [](const Value& v) { return did_you_mean<E>(std::get<std::string>(v)); };
  return rule;
}

template <typename Config>
struct Key {
  std::string key;  // dotted, relative to Config's table: "dim", "luna.memory_len"
  ValueType type;
  Rule rule;
  std::string description;
  std::function<Value(const Config&)> get;
  std::function<void(Config&, const Value&)> set;
};

namespace detail {
template <typename Field>
constexpr ValueType value_type() {
  if constexpr (std::is_enum_v<Field> || std::is_same_v<Field, std::string>) {
    return ValueType::string;
  } else if constexpr (std::is_same_v<Field, bool>) {
    return ValueType::boolean;
  } else if constexpr (std::is_floating_point_v<Field>) {
    return ValueType::floating;
  } else if constexpr (std::is_same_v<Field, std::vector<int64_t>>) {
    return ValueType::integer_list;
  } else {
    static_assert(std::is_integral_v<Field>, "a key binds a number, string, flag or enum");
    return ValueType::integer;
  }
}
}  // namespace detail

// A key bound to a field through `access`, a generic lambda
// `[](auto& c) -> auto& { return c.steps; }` that serves both the getter and the setter. The
// type follows from the field's: integers (int64_t, and the uint64_t seed), double, bool,
// std::string, std::vector<int64_t>, or an enum with a name table (held as its name).
template <typename Config, typename Access>
Key<Config> bind(std::string key, Access access, Rule rule, std::string description) {
  using Field = std::decay_t<decltype(access(std::declval<Config&>()))>;
  Key<Config> def{
      std::move(key), detail::value_type<Field>(), std::move(rule), std::move(description), {}, {}};
  def.get = [access](const Config& c) -> Value {
    const auto& field = access(c);
    if constexpr (std::is_enum_v<Field>) {
      return Value{std::string(to_string(field))};
    } else if constexpr (detail::value_type<Field>() == ValueType::integer) {
      return Value{static_cast<int64_t>(field)};
    } else {
      return Value{field};
    }
  };
  def.set = [access](Config& c, const Value& v) {
    auto& field = access(c);
    if constexpr (std::is_enum_v<Field>) {
      field = *find_choice<Field>(std::get<std::string>(v));  // the rule accepted the name
    } else if constexpr (detail::value_type<Field>() == ValueType::integer) {
      field = static_cast<Field>(std::get<int64_t>(v));
    } else {
      field = std::get<Field>(v);
    }
  };
  return def;
}

// The same for flags and enumerated options, whose rule follows from the field's type.
template <typename Config, typename Access>
Key<Config> bind(std::string key, Access access, std::string description) {
  using Field = std::decay_t<decltype(access(std::declval<Config&>()))>;
  static_assert(std::is_same_v<Field, bool> || is_choice_v<Field>,
                "only flags and enumerated options have an implied rule");
  if constexpr (std::is_same_v<Field, bool>) {
    return bind<Config>(std::move(key), access, boolean(), std::move(description));
  } else {
    return bind<Config>(std::move(key), access, choice<Field>(), std::move(description));
  }
}

// The keys of a part as keys of the whole: each name prefixed with `prefix` and a dot, each
// accessor composed with `access` (`[](auto& c) -> auto& { return c.model; }`).
template <typename Whole, typename Part, typename Access>
void append_nested(std::vector<Key<Whole>>& out, const std::string& prefix, Access access,
                   const std::vector<Key<Part>>& keys) {
  for (const auto& key : keys) {
    out.push_back({prefix + "." + key.key, key.type, key.rule, key.description,
                   [access, get = key.get](const Whole& c) { return get(access(c)); },
                   [access, set = key.set](Whole& c, const Value& v) { set(access(c), v); }});
  }
}

std::string type_name(ValueType type);  // integer | float | boolean | string | array of integers
// TOML text of a value: 42, 0.005, 1e-08, true, "text", [0, 100].
std::string format_value(const Value& value);

}  // namespace lunar::keys
