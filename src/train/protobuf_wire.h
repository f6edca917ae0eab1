// The protobuf wire format (protobuf.dev/programming-guides/encoding), by hand: enough to write
// TensorBoard's summary messages and to read back an event's step and tags, without protobuf.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace lunar::train::wire {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

inline void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (uint64_t{field} << 3) | type);
}

inline void put_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// int32, int64 and enum fields: negative values as their 64-bit two's complement, as protobuf
// does.
inline void put_int(std::string& out, uint32_t field, int64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(value));
}

inline void put_double(std::string& out, uint32_t field, double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed64);
  put_little_endian(out, bits, 8);
}

inline void put_float(std::string& out, uint32_t field, float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed32);
  put_little_endian(out, bits, 4);
}

// string, bytes and embedded-message fields. An empty payload is still written, so that an
// empty message field (e.g. a scalar's TensorShapeProto) counts as set.
inline void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

inline uint64_t get_little_endian(std::string_view bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)]);
  }
  return value;
}

// Reads a varint at `at`, advancing it; false when the bytes end first.
inline bool get_varint(std::string_view bytes, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; at < bytes.size() && shift < 64; shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// One field as read: varint and fixed values in `integer`, length-delimited payloads in `bytes`
// (a view into the message).
struct Field {
  uint32_t number = 0;
  uint32_t type = 0;
  uint64_t integer = 0;
  std::string_view bytes;
};

// Calls visit(const Field&) for each field of `message` in order. Returns false, having stopped,
// when the message does not parse (a truncated field or an unknown wire type).
template <typename Visit>
bool for_each_field(std::string_view message, Visit&& visit) {
  size_t at = 0;
  while (at < message.size()) {
    uint64_t key = 0;
    if (!get_varint(message, at, key)) return false;
    Field field;
    field.number = static_cast<uint32_t>(key >> 3);
    field.type = static_cast<uint32_t>(key & 7);
    switch (field.type) {
      case kVarint:
        if (!get_varint(message, at, field.integer)) return false;
        break;
      case kFixed64:
      case kFixed32: {
        const size_t size = field.type == kFixed64 ? 8 : 4;
        if (message.size() - at < size) return false;
        field.integer = get_little_endian(message, at, static_cast<int>(size));
        at += size;
        break;
      }
      case kLengthDelimited: {
        uint64_t length = 0;
        if (!get_varint(message, at, length) || length > message.size() - at) return false;
        field.bytes = message.substr(at, length);
        at += length;
        break;
      }
      default:
        return false;
    }
    visit(field);
  }
  return true;
}

}  // namespace lunar::train::wire
