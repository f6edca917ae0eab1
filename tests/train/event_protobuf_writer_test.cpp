// Events written through EventWriter directly, decoded by Google's protobuf runtime
// (event_protobuf_support.h): text stored verbatim, and images and hparams it refuses.
#include <gtest/gtest.h>

#include <string>

#include "event_protobuf_support.h"
#include "lunar/core/error.h"
#include "lunar/train/event_writer.h"

namespace {

using namespace lunar::train::testing;

TEST(EventProtobuf, TextIsStoredVerbatim) {
  Schema schema;
  const auto dir = fresh_directory("text");
  // Markdown, a backtick fence, UTF-8 and a NUL byte all come back as written.
  static constexpr char kNote[] = "line one\n\n  `code` | with ``` fences\n\xc3\xa9\0end";
  const std::string with_nul(kNote, sizeof kNote - 1);
  lunar::train::EventWriter writer(dir);
  writer.add_text("notes/run", 7, with_nul);
  writer.add_text("notes/empty", 8, "");
  writer.flush();
  const auto events = read_event_file(schema, writer.path());
  const auto values = values_by_tag(events);
  const auto& tensor = sub(*only(values, "notes/run").value, "tensor");
  EXPECT_EQ(tensor.GetReflection()->GetRepeatedString(tensor, field_of(tensor, "string_val"), 0),
            with_nul);
  EXPECT_EQ(only(values, "notes/empty").step, 8);
  const auto& empty = sub(*only(values, "notes/empty").value, "tensor");
  ASSERT_EQ(size(empty, "string_val"), 1);
  EXPECT_EQ(empty.GetReflection()->GetRepeatedString(empty, field_of(empty, "string_val"), 0), "");
}

TEST(EventProtobuf, BadImagesAndHParamsAreErrors) {
  const auto dir = fresh_directory("errors");
  lunar::train::EventWriter writer(dir);
  try {
    writer.add_image("memory/P", 0, "GIF89a not a png, but long enough");
    ADD_FAILURE() << "a GIF was accepted as PNG";
  } catch (const lunar::Error& error) {
    EXPECT_NE(std::string(error.what()).find("[events] expected PNG bytes for image 'memory/P'"),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(writer.add_hparams(0, {{"lr", 0.1}, {"lr", 0.2}}, {}), lunar::Error);
  EXPECT_THROW(writer.add_hparams(0, {{"", 0.1}}, {}), lunar::Error);
}

}  // namespace
