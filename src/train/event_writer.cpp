// TensorBoard event files: CRC32C, TFRecord framing and the few protobuf messages scalars need
// (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto).
#include "lunar/train/event_writer.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"

namespace lunar::train {
namespace {

constexpr uint32_t kCastagnoli = 0x82F63B78;  // reflected CRC32C polynomial
constexpr uint32_t kMaskDelta = 0xa282ead8;
constexpr char kFileVersion[] = "brain.Event:2";

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ kCastagnoli : crc >> 1;
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

// Protobuf wire format (developers.google.com/protocol-buffers/docs/encoding).
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (uint64_t{field} << 3) | type);
}

void put_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_double(std::string& out, uint32_t field, double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed64);
  put_little_endian(out, bits, 8);
}

void put_float(std::string& out, uint32_t field, float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed32);
  put_little_endian(out, bits, 4);
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event{wall_time = 1, step = 2, file_version = 3 | summary = 5}.
std::string event_header(int64_t step) {
  std::string event;
  put_double(event, 1, wall_time());
  put_key(event, 2, kVarint);
  put_varint(event, static_cast<uint64_t>(step));  // int64: two's complement, as protobuf does
  return event;
}

// Summary{repeated Value value = 1}, Value{tag = 1, simple_value = 2}.
std::string scalar_event(int64_t step, const std::vector<Scalar>& scalars) {
  std::string summary;
  for (const auto& scalar : scalars) {
    std::string value;
    put_bytes(value, 1, scalar.tag);
    put_float(value, 2, static_cast<float>(scalar.value));
    put_bytes(summary, 1, value);
  }
  std::string event = event_header(step);
  put_bytes(event, 5, summary);
  return event;
}

uint64_t get_little_endian(std::string_view bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)]);
  }
  return value;
}

// Reads a varint at `at`, advancing it; false when the bytes end first.
bool get_varint(std::string_view bytes, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; at < bytes.size() && shift < 64; shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// The step of an encoded Event (field 2); 0 when it has none; false when it does not parse.
bool event_step(std::string_view event, int64_t& step) {
  step = 0;
  size_t at = 0;
  while (at < event.size()) {
    uint64_t key = 0, value = 0;
    if (!get_varint(event, at, key)) return false;
    switch (key & 7) {
      case kVarint:
        if (!get_varint(event, at, value)) return false;
        if ((key >> 3) == 2) step = static_cast<int64_t>(value);
        break;
      case kFixed64:
        at += 8;
        break;
      case kLengthDelimited:
        if (!get_varint(event, at, value)) return false;
        at += value;
        break;
      case kFixed32:
        at += 4;
        break;
      default:
        return false;
    }
  }
  return at == event.size();
}

std::string hostname() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::filesystem::path new_event_path(const std::filesystem::path& directory) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  const std::string base = fmt::format("events.out.tfevents.{}.{}", seconds, hostname());
  auto path = directory / base;
  for (int suffix = 1; std::filesystem::exists(path); ++suffix) {
    path = directory / fmt::format("{}.{}", base, suffix);
  }
  return path;
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : data) crc = kCrcTable[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(std::string_view data) { return mask(crc32c(data)); }

int64_t truncate_event_files(const std::filesystem::path& directory, int64_t last_step) {
  int64_t removed = 0;
  if (!std::filesystem::is_directory(directory)) return removed;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("events.out.tfevents.", 0) != 0 || is_temporary_file_name(name)) continue;
    std::string contents;
    {
      std::ifstream in(entry.path(), std::ios::binary);
      check(static_cast<bool>(in), "[events] expected to read '{}', got an open failure",
            entry.path().string());
      contents.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::string_view bytes = contents;
    std::string kept;
    size_t at = 0;
    int64_t dropped = 0;
    // TFRecord: uint64 length, masked CRC of those 8 bytes, the event, masked CRC of the event.
    while (at + 12 <= bytes.size()) {
      const uint64_t length = get_little_endian(bytes, at, 8);
      if (get_little_endian(bytes, at + 8, 4) != masked_crc32c(bytes.substr(at, 8)) ||
          length > bytes.size() - at - 12 || bytes.size() - at - 12 - length < 4) {
        break;
      }
      const auto event = bytes.substr(at + 12, length);
      int64_t step = 0;
      if (get_little_endian(bytes, at + 12 + length, 4) != masked_crc32c(event) ||
          !event_step(event, step)) {
        break;
      }
      const size_t size = 12 + length + 4;
      if (step <= last_step) {
        kept.append(bytes.substr(at, size));
      } else {
        ++dropped;
      }
      at += size;
    }
    if (at < bytes.size()) ++dropped;  // the torn or corrupt tail
    if (dropped == 0) continue;
    write_atomically(entry.path(), kept);
    removed += dropped;
  }
  return removed;
}

EventWriter::EventWriter(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  check(!error, "[events] expected a writable log directory, got '{}': {}", directory.string(),
        error.message());
  path_ = new_event_path(directory);
  out_.open(path_, std::ios::binary | std::ios::trunc);
  check(out_.is_open(), "[events] expected to create '{}', got an open failure", path_.string());
  std::string event = event_header(0);
  put_bytes(event, 3, kFileVersion);
  write_record(event);
  flush();
}

EventWriter::~EventWriter() {
  try {
    flush();
  } catch (...) {  // a destructor must not throw; the error was already reported by flush()
  }
}

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  if (has_pending_ && step != last_step_) flush();
  write_record(scalar_event(step, {{tag, value}}));
  last_step_ = step;
}

void EventWriter::add_scalars(int64_t step, const std::vector<Scalar>& scalars) {
  if (scalars.empty()) return;
  write_record(scalar_event(step, scalars));
  last_step_ = step;
  flush();
}

void EventWriter::flush() {
  if (!has_pending_) return;
  out_.flush();
  has_pending_ = false;
  check(static_cast<bool>(out_), "[events] expected to write '{}', got a write failure",
        path_.string());
}

// TFRecord: uint64 length, masked CRC of the length bytes, data, masked CRC of the data.
void EventWriter::write_record(const std::string& data) {
  std::string header;
  put_little_endian(header, data.size(), 8);
  std::string record = header;
  put_little_endian(record, masked_crc32c(header), 4);
  record += data;
  put_little_endian(record, masked_crc32c(data), 4);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  has_pending_ = true;
}

}  // namespace lunar::train
