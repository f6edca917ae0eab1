// TensorBoard event files: CRC32C, TFRecord framing and the protobuf messages of scalars, images,
// text and hparams (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto,
// tensor.proto; tensorboard/plugins/hparams/plugin_data.proto, api.proto). Trimming the files for
// a resume is in event_file_truncation.cpp.
#include "lunar/train/event_writer.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <set>
#include <utility>

#include "lunar/core/error.h"
#include "lunar/runs/layout.h"
#include "protobuf_wire.h"

namespace lunar::train {
namespace {

constexpr uint32_t kCastagnoli = 0x82F63B78;  // reflected CRC32C polynomial
constexpr uint32_t kMaskDelta = 0xa282ead8;
constexpr char kFileVersion[] = "brain.Event:2";
constexpr int64_t kDtFloat = 1;        // tensorflow DataType DT_FLOAT
constexpr int64_t kDtString = 7;       // DT_STRING
constexpr int64_t kColorspaceRgb = 3;  // Summary.Image.colorspace

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

using wire::put_bytes;
using wire::put_double;
using wire::put_int;
using wire::put_little_endian;

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event{wall_time = 1, step = 2, file_version = 3 | summary = 5}.
std::string event_header(int64_t step) {
  std::string event;
  put_double(event, 1, wall_time());
  put_int(event, 2, step);
  return event;
}

// Summary.Value{tag = 1, simple_value = 2 | image = 4 | tensor = 8, metadata = 9}; `payload` is
// the encoded oneof field. A Summary is `repeated Value value = 1`: the concatenation of
// put_bytes(summary, 1, value) for each.
std::string summary_value(const std::string& tag, const std::string& payload,
                          const std::string& metadata = {}) {
  std::string value;
  put_bytes(value, 1, tag);
  value += payload;
  if (!metadata.empty()) put_bytes(value, 9, metadata);
  return value;
}

// SummaryMetadata{plugin_data = 1 PluginData{plugin_name = 1, content = 2}}.
std::string plugin_metadata(std::string_view plugin_name, const std::string& content) {
  std::string plugin_data;
  put_bytes(plugin_data, 1, plugin_name);
  if (!content.empty()) put_bytes(plugin_data, 2, content);
  std::string metadata;
  put_bytes(metadata, 1, plugin_data);
  return metadata;
}

// TensorProto{dtype = 1, tensor_shape = 2, string_val = 8}: a DT_STRING scalar (empty shape).
std::string string_tensor(const std::string& text) {
  std::string tensor;
  put_int(tensor, 1, kDtString);
  put_bytes(tensor, 2, "");
  put_bytes(tensor, 8, text);
  return tensor;
}

// The hparams plugin's placeholder tensor, metadata.NULL_TENSOR: DT_FLOAT of shape [0], i.e.
// TensorShapeProto{dim = 2: one Dim whose size (field 1) is 0, left out as proto3 does}.
std::string null_tensor() {
  std::string dim_list;
  put_bytes(dim_list, 2, "");
  std::string tensor;
  put_int(tensor, 1, kDtFloat);
  put_bytes(tensor, 2, dim_list);
  return tensor;
}

// A Summary.Value of the hparams plugin: HParamsPluginData{version = 1 (0, left out),
// experiment = 2 | session_start_info = 3 | session_end_info = 4} as the metadata's content.
std::string hparams_value(const char* tag, uint32_t data_field, const std::string& data) {
  std::string plugin_data;
  put_bytes(plugin_data, data_field, data);
  std::string payload;
  put_bytes(payload, 8, null_tensor());
  return summary_value(tag, payload, plugin_metadata("hparams", plugin_data));
}

// google.protobuf.Value{number_value = 2 | string_value = 3}.
std::string struct_value(const std::variant<double, std::string>& value) {
  std::string out;
  if (const auto* number = std::get_if<double>(&value)) {
    put_double(out, 2, *number);
  } else {
    put_bytes(out, 3, std::get<std::string>(value));
  }
  return out;
}

// Width and height of a PNG from its IHDR chunk, which the format puts first: the 8-byte
// signature, the chunk length (13) and type "IHDR", then width and height as big-endian uint32.
std::pair<int64_t, int64_t> png_size(const std::string& tag, const std::string& png) {
  static constexpr std::string_view kSignature = "\x89PNG\r\n\x1a\n";
  check(png.size() >= 24 && std::string_view(png).substr(0, 8) == kSignature &&
            std::string_view(png).substr(12, 4) == "IHDR",
        "[events] expected PNG bytes for image '{}', got {} bytes without a PNG header", tag,
        png.size());
  const auto big_endian = [&](size_t at) {
    int64_t value = 0;
    for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(png[at + i]);
    return value;
  };
  return {big_endian(16), big_endian(20)};
}

// Summary of scalars: Value{tag = 1, simple_value = 2 (float)}.
std::string scalar_summary(const std::vector<Scalar>& scalars) {
  std::string summary;
  for (const auto& scalar : scalars) {
    std::string payload;
    wire::put_float(payload, 2, static_cast<float>(scalar.value));
    put_bytes(summary, 1, summary_value(scalar.tag, payload));
  }
  return summary;
}

std::string summary_event(int64_t step, const std::string& summary) {
  std::string event = event_header(step);
  put_bytes(event, 5, summary);
  return event;
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
  const std::string base = fmt::format("{}{}.{}", runs::kEventFilePrefix, seconds, hostname());
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
  write_record(summary_event(step, scalar_summary({{tag, value}})));
  last_step_ = step;
}

void EventWriter::add_scalars(int64_t step, const std::vector<Scalar>& scalars) {
  if (scalars.empty()) return;
  write_summary(step, scalar_summary(scalars));
}

void EventWriter::add_image(const std::string& tag, int64_t step, const std::string& png) {
  const auto [width, height] = png_size(tag, png);
  // Summary.Image{height = 1, width = 2, colorspace = 3, encoded_image_string = 4}.
  std::string image;
  put_int(image, 1, height);
  put_int(image, 2, width);
  put_int(image, 3, kColorspaceRgb);
  put_bytes(image, 4, png);
  std::string payload;
  put_bytes(payload, 4, image);
  std::string summary;
  put_bytes(summary, 1, summary_value(tag, payload));
  write_summary(step, summary);
}

void EventWriter::add_text(const std::string& tag, int64_t step, const std::string& text) {
  std::string payload;
  put_bytes(payload, 8, string_tensor(text));
  std::string summary;
  put_bytes(summary, 1, summary_value(tag, payload, plugin_metadata("text", "")));
  write_summary(step, summary);
}

void EventWriter::add_hparams(int64_t step, const std::vector<HParam>& hparams,
                              const std::vector<std::string>& metric_tags) {
  std::set<std::string> names;
  // Experiment{time_created_secs = 3, hparam_infos = 4, metric_infos = 5};
  // SessionStartInfo{hparams = 1 (map<string, Value>), start_time_secs = 5}.
  std::string experiment, start;
  const double now = wall_time();
  put_double(experiment, 3, now);
  for (const auto& hparam : hparams) {
    check(!hparam.name.empty() && names.insert(hparam.name).second,
          "[events] expected distinct non-empty hyper-parameter names, got '{}'", hparam.name);
    // HParamInfo{name = 1, type = 4: DATA_TYPE_STRING = 1 | DATA_TYPE_FLOAT64 = 3}.
    std::string info;
    put_bytes(info, 1, hparam.name);
    put_int(info, 4, std::holds_alternative<double>(hparam.value) ? 3 : 1);
    put_bytes(experiment, 4, info);
    // A map entry is a message {key = 1, value = 2}.
    std::string entry;
    put_bytes(entry, 1, hparam.name);
    put_bytes(entry, 2, struct_value(hparam.value));
    put_bytes(start, 1, entry);
  }
  for (const auto& tag : metric_tags) {
    // MetricInfo{name = 1 MetricName{group = 1 (this run: empty), tag = 2}}.
    std::string name;
    put_bytes(name, 2, tag);
    std::string info;
    put_bytes(info, 1, name);
    put_bytes(experiment, 5, info);
  }
  put_double(start, 5, now);
  std::string summary;
  put_bytes(summary, 1, hparams_value(kHParamsExperimentTag, 2, experiment));
  put_bytes(summary, 1, hparams_value(kHParamsSessionStartTag, 3, start));
  write_summary(step, summary);
}

void EventWriter::add_session_end(int64_t step, SessionStatus status) {
  // SessionEndInfo{status = 1, end_time_secs = 2}.
  std::string end;
  put_int(end, 1, static_cast<int64_t>(status));
  put_double(end, 2, wall_time());
  std::string summary;
  put_bytes(summary, 1, hparams_value(kHParamsSessionEndTag, 4, end));
  write_summary(step, summary);
}

void EventWriter::write_summary(int64_t step, const std::string& summary) {
  write_record(summary_event(step, summary));
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
