// The common rules of configuration keys, and the TOML text of key values.
#include "lunar/core/keys.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace lunar::keys {
namespace {
Rule integer_rule(std::string expected, std::function<bool(int64_t)> accepts) {
  return {std::move(expected),
          [accepts](const Value& v) { return accepts(std::get<int64_t>(v)); },
          {},
          {}};
}
Rule number_rule(std::string expected, std::function<bool(double)> accepts) {
  return {std::move(expected),
          [accepts](const Value& v) { return accepts(std::get<double>(v)); },
          {},
          {}};
}
}  // namespace

Rule positive() {
  return integer_rule("a positive integer", [](int64_t v) { return v > 0; });
}
Rule non_negative() {
  return integer_rule("a non-negative integer", [](int64_t v) { return v >= 0; });
}
Rule at_least_two() {
  return integer_rule("an integer >= 2", [](int64_t v) { return v >= 2; });
}
Rule fraction() {
  return number_rule("a number in [0, 1)", [](double v) { return v >= 0.0 && v < 1.0; });
}
Rule positive_number() {
  return number_rule("a finite positive number",
                     [](double v) { return v > 0.0 && std::isfinite(v); });
}
Rule non_negative_number() {
  return number_rule("a finite non-negative number",
                     [](double v) { return v >= 0.0 && std::isfinite(v); });
}
Rule learning_rate() {  // Adam's steps are about lr per parameter: beyond 1 nothing trains
  return number_rule("a positive number at most 1", [](double v) { return v > 0.0 && v <= 1.0; });
}
Rule any_number() {
  return number_rule("a finite number", [](double v) { return std::isfinite(v); });
}

Rule one_of(std::vector<std::string> values) {
  std::vector<std::string> quoted;
  for (const auto& value : values) quoted.push_back(fmt::format("\"{}\"", value));
  auto accepts = [values](const Value& v) {
    return std::find(values.begin(), values.end(), std::get<std::string>(v)) != values.end();
  };
  auto hint = [values](const Value& v) -> std::string {
    const auto closest = closest_spelling(std::get<std::string>(v), values);
    return closest ? fmt::format(" (did you mean {}?)", *closest) : "";
  };
  return {fmt::format("one of {}", fmt::join(quoted, ", ")), accepts, std::move(values), hint};
}
Rule any_string() {
  return {"a string", [](const Value&) { return true; }, {}, {}};
}
Rule non_empty_string() {
  return {"a non-empty string",
          [](const Value& v) { return !std::get<std::string>(v).empty(); },
          {},
          {}};
}
Rule boolean() {
  return {"true or false", [](const Value&) { return true; }, {}, {}};
}
Rule non_negative_list() {
  return {"an array of non-negative integers",
          [](const Value& v) {
            const auto& list = std::get<std::vector<int64_t>>(v);
            return std::all_of(list.begin(), list.end(), [](int64_t x) { return x >= 0; });
          },
          {},
          {}};
}

std::string type_name(ValueType type) {
  switch (type) {
    case ValueType::integer:
      return "integer";
    case ValueType::floating:
      return "float";
    case ValueType::boolean:
      return "boolean";
    case ValueType::string:
      return "string";
    case ValueType::integer_list:
      return "array of integers";
  }
  return "unknown";
}

std::string format_value(const Value& value) {
  struct Formatter {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(double v) const {
      // fmt prints the shortest text that reads back to the same double; TOML floats need a
      // '.' or an exponent, and spell infinities inf/-inf and NaN nan.
      std::string s = fmt::format("{}", v);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::string& v) const {  // a TOML basic string
      std::string out = "\"";
      for (const char c : v) {
        switch (c) {
          case '"':
            out += "\\\"";
            break;
          case '\\':
            out += "\\\\";
            break;
          case '\n':
            out += "\\n";
            break;
          case '\t':
            out += "\\t";
            break;
          case '\r':
            out += "\\r";
            break;
          default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
              out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
            } else {
              out += c;
            }
        }
      }
      return out + "\"";
    }
    std::string operator()(const std::vector<int64_t>& v) const {
      return fmt::format("[{}]", fmt::join(v, ", "));
    }
  };
  return std::visit(Formatter{}, value);
}

}  // namespace lunar::keys
