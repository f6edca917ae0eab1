// Trimming event files for a resumed run: reads each TFRecord, checks both CRCs, and keeps the
// events a resumed run will not write again.
#include <fstream>
#include <iterator>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/runs/layout.h"
#include "lunar/train/event_writer.h"
#include "protobuf_wire.h"

namespace lunar::train {
namespace {

// The step of an encoded Event (field 2, 0 when absent) and whether one of its Summary values
// (field 5, then Value field 1, then tag field 1) has a tag starting with one of `prefixes`.
// False when the event does not parse.
bool inspect_event(std::string_view event, const std::vector<std::string>& prefixes, int64_t& step,
                   bool& tagged) {
  step = 0;
  tagged = false;
  bool parsed = true;
  const auto match_tag = [&](const wire::Field& field) {
    if (field.number != 1 || field.type != wire::kLengthDelimited) return;
    for (const auto& prefix : prefixes) {
      if (field.bytes.substr(0, prefix.size()) == prefix) tagged = true;
    }
  };
  const auto visit_value = [&](const wire::Field& field) {
    if (field.number != 1 || field.type != wire::kLengthDelimited) return;
    parsed = wire::for_each_field(field.bytes, match_tag) && parsed;
  };
  const auto visit_event = [&](const wire::Field& field) {
    if (field.number == 2 && field.type == wire::kVarint) {
      step = static_cast<int64_t>(field.integer);
    } else if (field.number == 5 && field.type == wire::kLengthDelimited && !prefixes.empty()) {
      parsed = wire::for_each_field(field.bytes, visit_value) && parsed;
    }
  };
  return wire::for_each_field(event, visit_event) && parsed;
}

}  // namespace

int64_t truncate_event_files(const std::filesystem::path& directory, int64_t last_step,
                             const std::vector<std::string>& drop_tag_prefixes) {
  int64_t removed = 0;
  if (!std::filesystem::is_directory(directory)) return removed;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    const auto name = entry.path().filename().string();
    if (name.rfind(runs::kEventFilePrefix, 0) != 0 || is_temporary_file_name(name)) continue;
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
      const uint64_t length = wire::get_little_endian(bytes, at, 8);
      if (wire::get_little_endian(bytes, at + 8, 4) != masked_crc32c(bytes.substr(at, 8)) ||
          length > bytes.size() - at - 12 || bytes.size() - at - 12 - length < 4) {
        break;
      }
      const auto event = bytes.substr(at + 12, length);
      int64_t step = 0;
      bool tagged = false;
      if (wire::get_little_endian(bytes, at + 12 + length, 4) != masked_crc32c(event) ||
          !inspect_event(event, drop_tag_prefixes, step, tagged)) {
        break;
      }
      const size_t size = 12 + length + 4;
      if (step <= last_step && !tagged) {
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

}  // namespace lunar::train
