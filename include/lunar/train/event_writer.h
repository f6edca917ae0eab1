// TensorBoard event files without protobuf: scalar, image, text and hparams summaries
// hand-encoded in the protobuf wire format and framed as TFRecords (length, masked CRC32C of the
// length, data, masked CRC32C).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lunar::train {

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table driven. crc32c("123456789") is
// 0xE3069283.
uint32_t crc32c(std::string_view data);

// TFRecord's masking of a CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view data);

// Rewrites every event file in `directory` without the events after `last_step` and without a
// torn or corrupt tail (what a killed run leaves), so that a run resumed from `last_step` logs
// each step once across its event files. Events holding a value whose tag starts with one of
// `drop_tag_prefixes` are removed whatever their step: what a run logs once at its end, and logs
// again when resumed. Files are replaced atomically; a missing directory is no error. Returns the
// number of events removed.
int64_t truncate_event_files(const std::filesystem::path& directory, int64_t last_step,
                             const std::vector<std::string>& drop_tag_prefixes = {});

// One named value of a step.
struct Scalar {
  std::string tag;
  double value = 0;  // stored as float (Summary.Value.simple_value)
};

// A hyper-parameter of a run as TensorBoard's hparams dashboard shows and filters it: a number
// or a string (google.protobuf.Value number_value / string_value).
struct HParam {
  std::string name;
  std::variant<double, std::string> value;
};

// tensorboard.hparams.Status: how a training session ended.
enum class SessionStatus { kUnknown = 0, kSuccess = 1, kFailure = 2, kRunning = 3 };

// TensorBoard's tags of the hparams plugin (tensorboard/plugins/hparams/metadata.py).
inline constexpr char kHParamsExperimentTag[] = "_hparams_/experiment";
inline constexpr char kHParamsSessionStartTag[] = "_hparams_/session_start_info";
inline constexpr char kHParamsSessionEndTag[] = "_hparams_/session_end_info";

// Writes `events.out.tfevents.<unix time>.<hostname>` in a directory, as TensorBoard reads it.
// The first record carries file_version "brain.Event:2"; every other record is an Event with
// wall_time, step and a Summary of tagged values (tensorflow/core/framework/summary.proto). The
// file is a log appended as training runs, so it is written in place rather than atomically;
// records reach the file at each flush. Not thread safe.
class EventWriter {
 public:
  // Creates `directory` if needed and a new event file in it (a suffix .1, .2, ... is added if
  // a file of that name already exists). Throws lunar::Error if it cannot be opened.
  explicit EventWriter(const std::filesystem::path& directory);
  ~EventWriter();  // flushes; never throws
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Adds one scalar as its own Event. Records of one step form a batch: when a scalar arrives
  // for a different step, the previous batch is flushed first.
  void add_scalar(const std::string& tag, double value, int64_t step);

  // Adds a whole step batch as one Event carrying all the values, then flushes.
  void add_scalars(int64_t step, const std::vector<Scalar>& scalars);

  // Adds a PNG image (Summary.Image, colorspace RGB; width and height read from its IHDR chunk)
  // as its own Event, then flushes. TensorBoard shows one image per tag and step. Throws
  // lunar::Error when `png` is not PNG bytes.
  void add_image(const std::string& tag, int64_t step, const std::string& png);

  // Adds text for TensorBoard's text dashboard (plugin "text": a DT_STRING scalar tensor), then
  // flushes. TensorBoard renders it as Markdown: indent it by 4 spaces to keep it verbatim.
  void add_text(const std::string& tag, int64_t step, const std::string& text);

  // Adds the start of a training session for TensorBoard's hparams dashboard as one Event, then
  // flushes: the Experiment (each hyper-parameter's name and type, and `metric_tags`, the scalar
  // tags it compares sessions by) and the SessionStartInfo (the values, the start time). Throws
  // lunar::Error for an empty or repeated hyper-parameter name.
  void add_hparams(int64_t step, const std::vector<HParam>& hparams,
                   const std::vector<std::string>& metric_tags);

  // Adds the end of the training session (SessionEndInfo: status and end time), then flushes.
  void add_session_end(int64_t step, SessionStatus status);

  // Pushes buffered records to the file. Throws lunar::Error if writing failed.
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  void write_summary(int64_t step, const std::string& summary);  // one Event, then a flush

  std::filesystem::path path_;
  std::ofstream out_;
  int64_t last_step_ = 0;
  bool has_pending_ = false;  // records written since the last flush
};

}  // namespace lunar::train
