// What the event-file tests against Google's protobuf runtime share: the message types are
// transcribed from TensorFlow's and TensorBoard's .proto files into tensorboard_schema.textproto,
// each TFRecord is parsed with DynamicMessageFactory and every field is read through reflection.
// A wrong field number or wire type lands in the unknown fields, which must stay empty.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lunar/diag/heatmap.h"
#include "lunar/train/config.h"

namespace lunar::train::testing {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

// The message types of tensorboard_schema.textproto in one pool, with google.protobuf.Value and
// ListValue taken from the protobuf library's own struct.proto.
class Schema {
 public:
  Schema() {
    pb::FileDescriptorProto struct_file;
    pb::Value::descriptor()->file()->CopyTo(&struct_file);
    build(struct_file);
    const fs::path path = LUNAR_SOURCE_DIR "/tests/train/tensorboard_schema.textproto";
    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    pb::FileDescriptorSet files;
    if (text.empty() || !pb::TextFormat::ParseFromString(text, &files)) {
      throw std::runtime_error("expected a FileDescriptorSet in " + path.string());
    }
    for (const auto& file : files.file()) build(file);
  }

  // A new empty message of a type, e.g. "tensorboard.Event".
  std::unique_ptr<pb::Message> make(const std::string& type) {
    const auto* descriptor = pool_.FindMessageTypeByName(type);
    if (descriptor == nullptr) throw std::runtime_error("no message type " + type);
    return std::unique_ptr<pb::Message>(factory_.GetPrototype(descriptor)->New());
  }

  // `bytes` parsed as `type`; a test failure when they do not parse.
  std::unique_ptr<pb::Message> parse(const std::string& type, const std::string& bytes) {
    auto message = make(type);
    EXPECT_TRUE(message->ParseFromString(bytes)) << type << " does not parse";
    return message;
  }

 private:
  void build(const pb::FileDescriptorProto& file) {
    if (pool_.BuildFile(file) == nullptr) {
      throw std::runtime_error("the descriptor of " + file.name() + " does not build");
    }
  }

  pb::DescriptorPool pool_;
  pb::DynamicMessageFactory factory_{&pool_};
};

// Reflection by field name; a missing name is a bug in this test, so it throws.
inline const pb::FieldDescriptor* field_of(const pb::Message& message, const std::string& name) {
  const auto* field = message.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr) {
    throw std::runtime_error(message.GetDescriptor()->full_name() + " has no field " + name);
  }
  return field;
}

inline bool has(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->HasField(m, field_of(m, name));
}
inline const pb::Message& sub(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetMessage(m, field_of(m, name));
}
inline std::string text(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetString(m, field_of(m, name));
}
inline double real(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetDouble(m, field_of(m, name));
}
inline int size(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->FieldSize(m, field_of(m, name));
}
inline const pb::Message& item(const pb::Message& m, const std::string& name, int index) {
  return m.GetReflection()->GetRepeatedMessage(m, field_of(m, name), index);
}
inline int enum_number(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetEnumValue(m, field_of(m, name));
}

// Every field the writer put was known to the schema, at every depth.
inline void expect_no_unknown_fields(const pb::Message& message) {
  const auto* reflection = message.GetReflection();
  EXPECT_TRUE(reflection->GetUnknownFields(message).empty())
      << message.GetDescriptor()->full_name() << " has fields the schema does not know";
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        expect_no_unknown_fields(reflection->GetRepeatedMessage(message, field, i));
      }
    } else {
      expect_no_unknown_fields(reflection->GetMessage(message, field));
    }
  }
}

inline uint32_t bitwise_crc32c(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline uint64_t little_endian(const std::string& bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) {
    value |= uint64_t{static_cast<unsigned char>(bytes.at(at + i))} << (8 * i);
  }
  return value;
}

// Every TFRecord of an event file (both masked CRCs checked) parsed as tensorboard.Event.
inline std::vector<std::unique_ptr<pb::Message>> read_event_file(Schema& schema,
                                                                 const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto masked = [](uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; };
  std::vector<std::unique_ptr<pb::Message>> events;
  size_t at = 0;
  while (at + 12 <= bytes.size()) {
    const uint64_t length = little_endian(bytes, at, 8);
    EXPECT_EQ(little_endian(bytes, at + 8, 4), masked(bitwise_crc32c(bytes.substr(at, 8))));
    const std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(little_endian(bytes, at + 12 + length, 4), masked(bitwise_crc32c(data)));
    events.push_back(schema.parse("tensorboard.Event", data));
    expect_no_unknown_fields(*events.back());
    at += 12 + length + 4;
  }
  EXPECT_EQ(at, bytes.size()) << "a torn record at the end of " << path;
  return events;
}

// The one event file of a directory.
inline fs::path event_file(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  if (files.size() != 1) throw std::runtime_error("expected one event file in " + dir.string());
  return files[0];
}

// (step, value) of every Summary.Value in a file's events, with the Value message.
struct TaggedValue {
  int64_t step = 0;
  const pb::Message* value = nullptr;
};
inline std::multimap<std::string, TaggedValue> values_by_tag(
    const std::vector<std::unique_ptr<pb::Message>>& events) {
  std::multimap<std::string, TaggedValue> out;
  for (const auto& event : events) {
    if (!has(*event, "summary")) continue;
    const auto step = event->GetReflection()->GetInt64(*event, field_of(*event, "step"));
    const auto& summary = sub(*event, "summary");
    for (int i = 0; i < size(summary, "value"); ++i) {
      const auto& value = item(summary, "value", i);
      out.insert({text(value, "tag"), {step, &value}});
    }
  }
  return out;
}

inline const TaggedValue& only(const std::multimap<std::string, TaggedValue>& values,
                               const std::string& tag) {
  if (values.count(tag) != 1) throw std::runtime_error("expected one value tagged " + tag);
  return values.find(tag)->second;
}

inline fs::path fresh_directory(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("lunar_event_protobuf_" + name);
  fs::remove_all(dir);
  return dir;
}

inline std::string heatmap_png(int64_t rows, int64_t columns) {
  const auto values = at::linspace(-1.0, 1.0, rows * columns).reshape({rows, columns});
  return lunar::diag::encode_png(lunar::diag::render_heatmap(values).image);
}

inline lunar::train::RunConfig luna_config() {
  lunar::train::RunConfig config;
  config.model.architecture = "luna";
  config.model.luna.memory_len = 12;
  config.task.name = "listops";
  config.optim.lr = 0.0025;
  config.train.seed = 17;
  config.train.steps = 400;
  config.runtime.precision = lunar::train::Precision::bf16;
  return config;
}

}  // namespace lunar::train::testing
