// TensorBoard event files without protobuf: scalar summaries hand-encoded in the protobuf wire
// format and framed as TFRecords (length, masked CRC32C of the length, data, masked CRC32C).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace lunar::train {

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table driven. crc32c("123456789") is
// 0xE3069283.
uint32_t crc32c(std::string_view data);

// TFRecord's masking of a CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(std::string_view data);

// Rewrites every event file in `directory` without the events after `last_step` and without a
// torn or corrupt tail (what a killed run leaves), so that a run resumed from `last_step` logs
// each step once across its event files. Files are replaced atomically; a missing directory is
// no error. Returns the number of events removed.
int64_t truncate_event_files(const std::filesystem::path& directory, int64_t last_step);

// One named value of a step.
struct Scalar {
  std::string tag;
  double value = 0;  // stored as float (Summary.Value.simple_value)
};

// Writes `events.out.tfevents.<unix time>.<hostname>` in a directory, as TensorBoard reads it.
// The first record carries file_version "brain.Event:2"; each scalar record is an Event with
// wall_time, step and a Summary. The file is a log appended as training runs, so it is written
// in place rather than atomically; records reach the file at each flush. Not thread safe.
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

  // Pushes buffered records to the file. Throws lunar::Error if writing failed.
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& data);

  std::filesystem::path path_;
  std::ofstream out_;
  int64_t last_step_ = 0;
  bool has_pending_ = false;  // records written since the last flush
};

}  // namespace lunar::train
