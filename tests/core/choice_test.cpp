// Typed choices (core/choice.h) and configuration keys (core/keys.h): names, parsing with
// "did you mean", formatting, and keys bound to fields, nested into a larger struct.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "lunar/core/choice.h"
#include "lunar/core/error.h"
#include "lunar/core/keys.h"

namespace toy {
enum class Shape { circle, square, empty };
constexpr std::array<lunar::Named<Shape>, 3> choice_names(Shape) {
  return {{{Shape::circle, "circle"}, {Shape::square, "square"}, {Shape::empty, ""}}};
}

struct Part {
  Shape shape = Shape::square;
  int64_t count = 3;
  bool visible = true;
};
struct Whole {
  Part part;
  std::vector<int64_t> steps;
};
}  // namespace toy

namespace {

using toy::Shape;

TEST(Choice, NamesFollowTheTable) {
  EXPECT_EQ(lunar::names<Shape>(), (std::vector<std::string>{"circle", "square", ""}));
  EXPECT_EQ(lunar::to_string(Shape::square), "square");
  EXPECT_EQ(lunar::to_string(Shape::empty), "");
  EXPECT_EQ(lunar::to_string(static_cast<Shape>(7)), "?");
  EXPECT_EQ(lunar::find_choice<Shape>("circle"), Shape::circle);
  EXPECT_EQ(lunar::find_choice<Shape>(""), Shape::empty);
  EXPECT_FALSE(lunar::find_choice<Shape>("Circle").has_value());  // names are case-sensitive
  EXPECT_EQ(lunar::expected_choice<Shape>(), "one of \"circle\", \"square\", \"\"");
  EXPECT_EQ(fmt::format("{}", Shape::circle), "circle");
  EXPECT_TRUE(lunar::is_choice_v<Shape>);
  EXPECT_FALSE(lunar::is_choice_v<int>);
}

TEST(Choice, ParseNamesTheKeyAndSuggestsANearName) {
  EXPECT_EQ(lunar::parse<Shape>("square", "toy.shape"), Shape::square);
  try {
    lunar::parse<Shape>("sqaure", "toy.shape");
    FAIL() << "accepted a misspelt name";
  } catch (const lunar::Error& error) {
    EXPECT_STREQ(error.what(),
                 "[config] expected toy.shape one of \"circle\", \"square\", \"\", got \"sqaure\" "
                 "(did you mean square?)");
  }
  EXPECT_EQ(lunar::did_you_mean<Shape>("hexagonal prism"), "");
}

TEST(Keys, BindReadsAndWritesTheFieldWithItsType) {
  using lunar::keys::Value;
  using lunar::keys::ValueType;
  const auto shape = lunar::keys::bind<toy::Part>(
      "shape", [](auto& c) -> auto& { return c.shape; }, "The shape");
  const auto count = lunar::keys::bind<toy::Part>(
      "count", [](auto& c) -> auto& { return c.count; }, lunar::keys::positive(), "How many");
  const auto visible = lunar::keys::bind<toy::Part>(
      "visible", [](auto& c) -> auto& { return c.visible; }, "Shown");
  EXPECT_EQ(shape.type, ValueType::string);
  EXPECT_EQ(count.type, ValueType::integer);
  EXPECT_EQ(visible.type, ValueType::boolean);
  EXPECT_EQ(shape.rule.values, (std::vector<std::string>{"circle", "square", ""}));
  EXPECT_EQ(shape.rule.expected, "one of \"circle\", \"square\", \"\"");
  EXPECT_TRUE(shape.rule.accepts(Value{std::string("circle")}));
  EXPECT_FALSE(shape.rule.accepts(Value{std::string("triangle")}));
  EXPECT_EQ(shape.rule.hint(Value{std::string("circel")}), " (did you mean circle?)");
  EXPECT_FALSE(count.rule.accepts(Value{int64_t{0}}));

  toy::Part part;
  EXPECT_EQ(shape.get(part), Value{std::string("square")});
  shape.set(part, Value{std::string("circle")});
  count.set(part, Value{int64_t{9}});
  EXPECT_EQ(part.shape, Shape::circle);
  EXPECT_EQ(part.count, 9);
}

TEST(Keys, NestedKeysReachThePartThroughTheWhole) {
  std::vector<lunar::keys::Key<toy::Whole>> keys;
  lunar::keys::append_nested(
      keys, "part", [](auto& c) -> auto& { return c.part; },
      std::vector<lunar::keys::Key<toy::Part>>{lunar::keys::bind<toy::Part>(
          "shape", [](auto& c) -> auto& { return c.shape; }, "The shape")});
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].key, "part.shape");
  toy::Whole whole;
  keys[0].set(whole, lunar::keys::Value{std::string("")});
  EXPECT_EQ(whole.part.shape, Shape::empty);
  EXPECT_EQ(lunar::keys::format_value(keys[0].get(whole)), "\"\"");
}

TEST(Keys, FormatValueWritesToml) {
  using lunar::keys::format_value;
  using lunar::keys::Value;
  EXPECT_EQ(format_value(Value{int64_t{42}}), "42");
  EXPECT_EQ(format_value(Value{1e-8}), "1e-08");
  EXPECT_EQ(format_value(Value{2.0}), "2.0");
  EXPECT_EQ(format_value(Value{true}), "true");
  EXPECT_EQ(format_value(Value{std::string("a\"b")}), "\"a\\\"b\"");
  EXPECT_EQ(format_value(Value{std::vector<int64_t>{0, 100}}), "[0, 100]");
  EXPECT_EQ(lunar::keys::type_name(lunar::keys::ValueType::integer_list), "array of integers");
}

}  // namespace
