// The event writer's files decoded by an independent reader written here: TFRecord framing with
// both CRCs checked (by a bitwise CRC32C, not the writer's table), then the protobuf fields.
#include "lunar/train/event_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "lunar/core/error.h"

namespace fs = std::filesystem;

namespace {

// Bit-at-a-time CRC32C, the definition the table-driven one must agree with.
uint32_t reference_crc32c(std::string_view data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t reference_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint64_t read_little_endian(const std::string& bytes, size_t offset, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) {
    value |= uint64_t{static_cast<unsigned char>(bytes.at(offset + i))} << (8 * i);
  }
  return value;
}

// A protobuf message as a flat list of fields; length-delimited payloads kept as bytes.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t integer = 0;  // varint, fixed32 or fixed64 bits
  std::string bytes;     // length-delimited
};

std::vector<Field> parse_message(const std::string& data) {
  std::vector<Field> fields;
  size_t at = 0;
  const auto varint = [&]() {
    uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      const auto byte = static_cast<unsigned char>(data.at(at++));
      value |= uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80)) return value;
    }
  };
  while (at < data.size()) {
    Field field;
    const uint64_t key = varint();
    field.number = static_cast<uint32_t>(key >> 3);
    field.wire_type = static_cast<uint32_t>(key & 7);
    switch (field.wire_type) {
      case 0:
        field.integer = varint();
        break;
      case 1:
        field.integer = read_little_endian(data, at, 8);
        at += 8;
        break;
      case 5:
        field.integer = read_little_endian(data, at, 4);
        at += 4;
        break;
      case 2: {
        const uint64_t length = varint();
        field.bytes = data.substr(at, length);
        EXPECT_EQ(field.bytes.size(), length);
        at += length;
        break;
      }
      default:
        ADD_FAILURE() << "unexpected wire type " << field.wire_type;
        return fields;
    }
    fields.push_back(field);
  }
  return fields;
}

struct DecodedValue {
  std::string tag;
  float value = 0;
};

struct DecodedEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<DecodedValue> values;
};

DecodedEvent decode_event(const std::string& data) {
  DecodedEvent event;
  for (const auto& field : parse_message(data)) {
    if (field.number == 1 && field.wire_type == 1) {
      std::memcpy(&event.wall_time, &field.integer, 8);
    } else if (field.number == 2 && field.wire_type == 0) {
      event.step = static_cast<int64_t>(field.integer);
    } else if (field.number == 3 && field.wire_type == 2) {
      event.file_version = field.bytes;
    } else if (field.number == 5 && field.wire_type == 2) {
      for (const auto& value_field : parse_message(field.bytes)) {
        EXPECT_EQ(value_field.number, 1u);
        DecodedValue value;
        for (const auto& part : parse_message(value_field.bytes)) {
          if (part.number == 1 && part.wire_type == 2) value.tag = part.bytes;
          if (part.number == 2 && part.wire_type == 5) {
            const auto bits = static_cast<uint32_t>(part.integer);
            std::memcpy(&value.value, &bits, 4);
          }
        }
        event.values.push_back(value);
      }
    } else {
      ADD_FAILURE() << "unexpected Event field " << field.number;
    }
  }
  return event;
}

// Reads every TFRecord, checking both masked CRCs.
std::vector<DecodedEvent> read_events(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<DecodedEvent> events;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size()) << "truncated record header";
    const std::string header = bytes.substr(at, 8);
    const uint64_t length = read_little_endian(bytes, at, 8);
    EXPECT_EQ(read_little_endian(bytes, at + 8, 4), reference_mask(reference_crc32c(header)));
    const std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(data.size(), length) << "truncated record";
    EXPECT_EQ(read_little_endian(bytes, at + 12 + length, 4),
              reference_mask(reference_crc32c(data)));
    events.push_back(decode_event(data));
    at += 12 + length + 4;
  }
  return events;
}

fs::path fresh_directory(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("lunar_events_test_" + name);
  fs::remove_all(dir);
  return dir;
}

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(Crc32c, StandardCheckValue) {
  EXPECT_EQ(lunar::train::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(lunar::train::crc32c(""), 0u);
  std::string bytes;
  for (int i = 0; i < 1000; ++i) bytes.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  EXPECT_EQ(lunar::train::crc32c(bytes), reference_crc32c(bytes));
  EXPECT_EQ(lunar::train::masked_crc32c(bytes), reference_mask(reference_crc32c(bytes)));
}

TEST(EventWriter, ScalarsRoundTrip) {
  const auto dir = fresh_directory("round_trip");
  const double before = now();
  fs::path path;
  {
    lunar::train::EventWriter writer(dir);
    path = writer.path();
    writer.add_scalar("train/loss", 2.5, 0);
    writer.add_scalar("train/accuracy", 0.125, 0);
    writer.add_scalar("train/loss", 1.75, 100);
    writer.add_scalars(200, {{"val/loss", 1.5}, {"val/accuracy", 0.375}});
    writer.add_scalar("memory/effective_rank", 3.0, 1LL << 40);
  }
  const double after = now();

  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string name = path.filename().string();
  EXPECT_EQ(path.parent_path(), dir);
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_NE(name.find(std::string(".") + host), std::string::npos) << name;

  const auto events = read_events(path);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_TRUE(events[0].values.empty());
  for (const auto& event : events) {
    EXPECT_GE(event.wall_time, before - 1);
    EXPECT_LE(event.wall_time, after + 1);
  }
  ASSERT_EQ(events[1].values.size(), 1u);
  EXPECT_EQ(events[1].step, 0);
  EXPECT_EQ(events[1].values[0].tag, "train/loss");
  EXPECT_FLOAT_EQ(events[1].values[0].value, 2.5f);
  EXPECT_EQ(events[2].values[0].tag, "train/accuracy");
  EXPECT_FLOAT_EQ(events[2].values[0].value, 0.125f);
  EXPECT_EQ(events[3].step, 100);
  EXPECT_FLOAT_EQ(events[3].values[0].value, 1.75f);
  ASSERT_EQ(events[4].values.size(), 2u);
  EXPECT_EQ(events[4].step, 200);
  EXPECT_EQ(events[4].values[0].tag, "val/loss");
  EXPECT_FLOAT_EQ(events[4].values[0].value, 1.5f);
  EXPECT_EQ(events[4].values[1].tag, "val/accuracy");
  EXPECT_FLOAT_EQ(events[4].values[1].value, 0.375f);
  EXPECT_EQ(events[5].step, 1LL << 40);
  EXPECT_EQ(events[5].values[0].tag, "memory/effective_rank");
}

TEST(EventWriter, StepBatchesReachTheFileBeforeDestruction) {
  const auto dir = fresh_directory("flush");
  lunar::train::EventWriter writer(dir);
  writer.add_scalars(1, {{"a", 1.0}});
  EXPECT_EQ(read_events(writer.path()).size(), 2u);
  writer.add_scalar("b", 2.0, 2);
  writer.add_scalar("b", 3.0, 3);  // a new step flushes the previous one
  EXPECT_GE(read_events(writer.path()).size(), 3u);
  writer.flush();
  EXPECT_EQ(read_events(writer.path()).size(), 4u);
}

TEST(EventWriter, TruncatingForAResumeDropsLaterStepsAndATornTail) {
  // A run logged steps 0..500 and was killed mid-record; its last checkpoint is at step 300.
  const auto dir = fresh_directory("truncate");
  fs::path killed, earlier;
  {
    lunar::train::EventWriter first(dir);
    earlier = first.path();
    first.add_scalars(100, {{"train/loss", 2.0}});
  }
  {
    lunar::train::EventWriter second(dir);
    killed = second.path();
    for (int64_t step = 200; step <= 500; step += 100) {
      second.add_scalars(step, {{"train/loss", 1.0 / static_cast<double>(step)}});
    }
  }
  const auto before = read_events(killed);
  ASSERT_EQ(before.size(), 5u);  // file version + steps 200..500
  std::ofstream(killed, std::ios::binary | std::ios::app) << std::string("\x30\0\0\0\0", 5);
  std::ofstream(dir / "notes.txt") << "not an event file";

  // Steps 400 and 500 and the torn tail go; the file version, 200 and 300 stay, byte for byte.
  EXPECT_EQ(lunar::train::truncate_event_files(dir, 300), 3);
  const auto after = read_events(killed);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].file_version, "brain.Event:2");
  EXPECT_EQ(after[1].step, 200);
  EXPECT_EQ(after[2].step, 300);
  EXPECT_EQ(after[2].wall_time, before[2].wall_time);
  EXPECT_FLOAT_EQ(after[2].values[0].value, 1.0f / 300.0f);
  EXPECT_EQ(read_events(earlier).size(), 2u);  // nothing after step 300: untouched
  // Idempotent, and a directory that does not exist is no error.
  EXPECT_EQ(lunar::train::truncate_event_files(dir, 300), 0);
  EXPECT_EQ(lunar::train::truncate_event_files(dir / "missing", 0), 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 3);
}

TEST(EventWriter, TwoWritersInOneDirectoryGetTwoFiles) {
  const auto dir = fresh_directory("two");
  lunar::train::EventWriter first(dir);
  lunar::train::EventWriter second(dir);
  EXPECT_NE(first.path(), second.path());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
}

TEST(EventWriter, UnwritableDirectoryIsAnError) {
  const auto dir = fresh_directory("blocked");
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  EXPECT_THROW(lunar::train::EventWriter(dir / "file" / "sub"), lunar::Error);
}

}  // namespace
