// Event files written through RunLog and EventWriter, decoded by Google's protobuf runtime: the
// message types are transcribed from TensorFlow's and TensorBoard's .proto files into
// tensorboard_schema.textproto, each TFRecord is parsed with DynamicMessageFactory and every field
// is read through reflection. A wrong field number or wire type lands in the unknown fields,
// which must stay empty.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "lunar/core/error.h"
#include "lunar/diag/heatmap.h"
#include "lunar/models/registry.h"
#include "lunar/train/event_writer.h"
#include "lunar/train/run_log.h"

namespace fs = std::filesystem;
namespace pb = google::protobuf;

namespace {

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
const pb::FieldDescriptor* field_of(const pb::Message& message, const std::string& name) {
  const auto* field = message.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr) {
    throw std::runtime_error(message.GetDescriptor()->full_name() + " has no field " + name);
  }
  return field;
}

bool has(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->HasField(m, field_of(m, name));
}
const pb::Message& sub(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetMessage(m, field_of(m, name));
}
std::string text(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetString(m, field_of(m, name));
}
double real(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetDouble(m, field_of(m, name));
}
int size(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->FieldSize(m, field_of(m, name));
}
const pb::Message& item(const pb::Message& m, const std::string& name, int index) {
  return m.GetReflection()->GetRepeatedMessage(m, field_of(m, name), index);
}
int enum_number(const pb::Message& m, const std::string& name) {
  return m.GetReflection()->GetEnumValue(m, field_of(m, name));
}

// Every field the writer put was known to the schema, at every depth.
void expect_no_unknown_fields(const pb::Message& message) {
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

uint32_t bitwise_crc32c(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint64_t little_endian(const std::string& bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) {
    value |= uint64_t{static_cast<unsigned char>(bytes.at(at + i))} << (8 * i);
  }
  return value;
}

// Every TFRecord of an event file (both masked CRCs checked) parsed as tensorboard.Event.
std::vector<std::unique_ptr<pb::Message>> read_event_file(Schema& schema, const fs::path& path) {
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
fs::path event_file(const fs::path& dir) {
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
std::multimap<std::string, TaggedValue> values_by_tag(
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

const TaggedValue& only(const std::multimap<std::string, TaggedValue>& values,
                        const std::string& tag) {
  if (values.count(tag) != 1) throw std::runtime_error("expected one value tagged " + tag);
  return values.find(tag)->second;
}

// A value's hparams plugin content, checked for the plugin name, the version 0 and the
// metadata.NULL_TENSOR placeholder (DT_FLOAT, shape [0]).
std::unique_ptr<pb::Message> hparams_content(Schema& schema, const pb::Message& value) {
  const auto& plugin = sub(sub(value, "metadata"), "plugin_data");
  EXPECT_EQ(text(plugin, "plugin_name"), "hparams");
  const auto& tensor = sub(value, "tensor");
  EXPECT_EQ(enum_number(tensor, "dtype"), 1);  // DT_FLOAT
  EXPECT_EQ(size(sub(tensor, "tensor_shape"), "dim"), 1);
  auto content = schema.parse("tensorboard.hparams.HParamsPluginData", text(plugin, "content"));
  expect_no_unknown_fields(*content);
  EXPECT_EQ(content->GetReflection()->GetInt32(*content, field_of(*content, "version")), 0);
  return content;
}

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

fs::path fresh_directory(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("lunar_event_protobuf_" + name);
  fs::remove_all(dir);
  return dir;
}

// Width and height of a PNG as its IHDR chunk states them (big-endian at bytes 16 and 20).
std::pair<int64_t, int64_t> ihdr_size(const std::string& png) {
  const auto big_endian = [&](size_t at) {
    return (int64_t{static_cast<unsigned char>(png.at(at))} << 24) |
           (int64_t{static_cast<unsigned char>(png.at(at + 1))} << 16) |
           (int64_t{static_cast<unsigned char>(png.at(at + 2))} << 8) |
           int64_t{static_cast<unsigned char>(png.at(at + 3))};
  };
  return {big_endian(16), big_endian(20)};
}

std::string heatmap_png(int64_t rows, int64_t columns) {
  const auto values = at::linspace(-1.0, 1.0, rows * columns).reshape({rows, columns});
  return lunar::diag::encode_png(lunar::diag::render_heatmap(values).image);
}

lunar::train::RunConfig luna_config() {
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

TEST(EventProtobuf, RunLogImagesTextAndHParamsDecodeWithGoogleProtobuf) {
  Schema schema;
  const auto dir = fresh_directory("run_log");
  const auto config = luna_config();
  const auto config_toml = lunar::train::to_toml(config);
  const auto png_p = heatmap_png(12, 32);
  const auto png_grad = heatmap_png(12, 8);
  const double before = now();
  {
    lunar::train::RunLog log(dir);
    log.record_start(config, config_toml);
    log.record(0, "train", {{"loss", 2.5}});
    log.record_image("memory/P", 200, png_p);
    log.record_image("memory/grad_P", 200, png_grad);
    log.record(400, "test", {{"accuracy_best", 0.75}, {"accuracy_last", 0.625}});
    log.record_end(400);
  }
  const double after = now();

  const auto events = read_event_file(schema, event_file(dir / "tensorboard"));
  ASSERT_EQ(events.size(), 8u);  // version, config, hparams, train, 2 images, test, end
  EXPECT_EQ(text(*events[0], "file_version"), "brain.Event:2");
  for (const auto& event : events) {
    EXPECT_GE(real(*event, "wall_time"), before - 1);
    EXPECT_LE(real(*event, "wall_time"), after + 1);
  }
  const auto values = values_by_tag(events);

  // The configuration: plugin "text", a DT_STRING scalar holding the TOML indented by 4 spaces.
  const auto& config_text = only(values, "config");
  EXPECT_EQ(config_text.step, 0);
  EXPECT_EQ(text(sub(sub(*config_text.value, "metadata"), "plugin_data"), "plugin_name"), "text");
  const auto& tensor = sub(*config_text.value, "tensor");
  EXPECT_EQ(enum_number(tensor, "dtype"), 7);  // DT_STRING
  EXPECT_TRUE(has(tensor, "tensor_shape"));
  EXPECT_EQ(size(sub(tensor, "tensor_shape"), "dim"), 0);  // a scalar
  ASSERT_EQ(size(tensor, "string_val"), 1);
  const auto shown =
      tensor.GetReflection()->GetRepeatedString(tensor, field_of(tensor, "string_val"), 0);
  std::string unindented;
  std::istringstream lines(shown);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) {
      EXPECT_EQ(line.substr(0, 4), "    ") << line;
      line = line.substr(4);
    }
    unindented += line + "\n";
  }
  EXPECT_EQ(unindented, config_toml);

  // The heatmaps: Summary.Image with the PNG's own size and bytes.
  for (const auto& [tag, png] : {std::pair{"memory/P", png_p}, {"memory/grad_P", png_grad}}) {
    const auto& image_value = only(values, tag);
    EXPECT_EQ(image_value.step, 200);
    ASSERT_TRUE(has(*image_value.value, "image")) << tag;
    const auto& image = sub(*image_value.value, "image");
    const auto* reflection = image.GetReflection();
    const auto [width, height] = ihdr_size(png);
    const auto decoded = lunar::diag::decode_png(png);
    EXPECT_EQ(width, decoded.width());
    EXPECT_EQ(height, decoded.height());
    EXPECT_EQ(reflection->GetInt32(image, field_of(image, "width")), width) << tag;
    EXPECT_EQ(reflection->GetInt32(image, field_of(image, "height")), height) << tag;
    EXPECT_EQ(reflection->GetInt32(image, field_of(image, "colorspace")), 3);  // RGB
    EXPECT_EQ(text(image, "encoded_image_string"), png) << tag;
  }
  EXPECT_NE(ihdr_size(png_p), ihdr_size(png_grad));  // the two sizes tell the images apart

  // The hparams session start: the Experiment and SessionStartInfo share step 0.
  const auto& experiment_value = only(values, "_hparams_/experiment");
  EXPECT_EQ(experiment_value.step, 0);
  const auto experiment_data = hparams_content(schema, *experiment_value.value);
  ASSERT_TRUE(has(*experiment_data, "experiment"));
  const auto& experiment = sub(*experiment_data, "experiment");
  const auto expected = lunar::train::run_hparams(config);
  ASSERT_EQ(size(experiment, "hparam_infos"), static_cast<int>(expected.size()));
  for (int i = 0; i < size(experiment, "hparam_infos"); ++i) {
    const auto& info = item(experiment, "hparam_infos", i);
    EXPECT_EQ(text(info, "name"), expected[i].name);
    const bool number = std::holds_alternative<double>(expected[i].value);
    EXPECT_EQ(enum_number(info, "type"), number ? 3 : 1) << expected[i].name;  // FLOAT64, STRING
  }
  std::vector<std::string> metric_tags;
  for (int i = 0; i < size(experiment, "metric_infos"); ++i) {
    const auto& name = sub(item(experiment, "metric_infos", i), "name");
    EXPECT_EQ(text(name, "group"), "");
    metric_tags.push_back(text(name, "tag"));
  }
  EXPECT_EQ(metric_tags,
            (std::vector<std::string>{"test/accuracy_best", "test/accuracy_last", "val/accuracy"}));

  const auto& start_value = only(values, "_hparams_/session_start_info");
  EXPECT_EQ(start_value.step, 0);
  const auto start_data = hparams_content(schema, *start_value.value);
  ASSERT_TRUE(has(*start_data, "session_start_info"));
  const auto& start = sub(*start_data, "session_start_info");
  EXPECT_GE(real(start, "start_time_secs"), before - 1);
  EXPECT_LE(real(start, "start_time_secs"), after + 1);
  std::map<std::string, const pb::Message*> hparams;
  for (int i = 0; i < size(start, "hparams"); ++i) {
    const auto& entry = item(start, "hparams", i);
    hparams[text(entry, "key")] = &sub(entry, "value");
  }
  ASSERT_EQ(hparams.size(), expected.size());
  EXPECT_EQ(text(*hparams.at("model.architecture"), "string_value"), "luna");
  EXPECT_EQ(text(*hparams.at("task.name"), "string_value"), "listops");
  EXPECT_EQ(text(*hparams.at("runtime.precision"), "string_value"), "bf16");
  EXPECT_EQ(real(*hparams.at("model.luna.memory_len"), "number_value"), 12.0);
  EXPECT_EQ(real(*hparams.at("optim.lr"), "number_value"), 0.0025);
  EXPECT_EQ(real(*hparams.at("train.seed"), "number_value"), 17.0);
  EXPECT_EQ(real(*hparams.at("train.steps"), "number_value"), 400.0);
  EXPECT_EQ(real(*hparams.at("train.batch_size"), "number_value"), 32.0);
  EXPECT_EQ(real(*hparams.at("model.dim"), "number_value"), 128.0);
  EXPECT_EQ(real(*hparams.at("model.num_blocks"), "number_value"), 2.0);
  EXPECT_EQ(real(*hparams.at("model.num_heads"), "number_value"), 4.0);

  // The final metrics and the session end share the last step.
  const auto& best = only(values, "test/accuracy_best");
  EXPECT_EQ(best.step, 400);
  EXPECT_FLOAT_EQ(
      best.value->GetReflection()->GetFloat(*best.value, field_of(*best.value, "simple_value")),
      0.75f);
  const auto& end_value = only(values, "_hparams_/session_end_info");
  EXPECT_EQ(end_value.step, 400);
  const auto end_data = hparams_content(schema, *end_value.value);
  ASSERT_TRUE(has(*end_data, "session_end_info"));
  const auto& end = sub(*end_data, "session_end_info");
  EXPECT_EQ(enum_number(end, "status"), 1);  // STATUS_SUCCESS
  EXPECT_GE(real(end, "end_time_secs"), real(start, "start_time_secs"));
  EXPECT_LE(real(end, "end_time_secs"), after + 1);
}

TEST(EventProtobuf, EveryArchitectureDeclaresTheSameHParams) {
  // TensorBoard takes the Experiment of any one run for all, so every run must declare the same.
  const auto reference = lunar::train::run_hparams(luna_config());
  for (const auto& architecture : lunar::models::architectures()) {
    auto config = luna_config();
    config.model.architecture = architecture.name;
    const auto hparams = lunar::train::run_hparams(config);
    ASSERT_EQ(hparams.size(), reference.size()) << architecture.name;
    for (size_t i = 0; i < hparams.size(); ++i) {
      EXPECT_EQ(hparams[i].name, reference[i].name) << architecture.name;
      EXPECT_EQ(hparams[i].value.index(), reference[i].value.index()) << hparams[i].name;
    }
    EXPECT_EQ(std::get<std::string>(hparams[0].value), architecture.name);
    EXPECT_EQ(std::get<double>(hparams.back().value), architecture.has_memory ? 12.0 : 0.0)
        << architecture.name << ": " << hparams.back().name;
  }
}

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

TEST(EventProtobuf, ResumedRunsLogNoTagTwiceAtOneStep) {
  // A run logs up to step 500 and finishes; it is resumed from its checkpoint at step 300 with
  // more steps and finishes at 600; then the finished run is resumed once more at step 600,
  // where it only evaluates the test split again.
  Schema schema;
  const auto dir = fresh_directory("resume");
  const auto config = luna_config();
  const auto png = heatmap_png(4, 4);
  const auto train_to = [&](lunar::train::RunLog& log, int64_t from, int64_t to) {
    for (int64_t step = from; step <= to; step += 100) {
      log.record(step, "train", {{"loss", 1.0 / static_cast<double>(step)}});
      if (step % 200 == 0) log.record_image("memory/P", step, png);
    }
    log.record(to, "test", {{"accuracy_best", 0.5}, {"accuracy_last", 0.5}});
    log.record_end(to);
  };
  {
    lunar::train::RunLog first(dir);
    first.record_start(config, lunar::train::to_toml(config));
    train_to(first, 100, 500);
  }
  const auto tensorboard = dir / "tensorboard";
  // Steps 400 and 500 go, and the test scalars and session end of step 500.
  EXPECT_EQ(lunar::train::truncate_event_files(tensorboard, 300, lunar::train::kRunEndTagPrefixes),
            5);
  {
    lunar::train::RunLog second(dir);
    train_to(second, 400, 600);
  }
  // Only the test scalars and the session end of step 600 go.
  EXPECT_EQ(lunar::train::truncate_event_files(tensorboard, 600, lunar::train::kRunEndTagPrefixes),
            2);
  {
    lunar::train::RunLog third(dir);
    third.record(600, "test", {{"accuracy_best", 0.5}, {"accuracy_last", 0.5}});
    third.record_end(600);
  }

  std::map<std::string, std::multiset<int64_t>> steps;
  std::vector<std::vector<std::unique_ptr<pb::Message>>> files;
  for (const auto& entry : fs::directory_iterator(tensorboard)) {
    files.push_back(read_event_file(schema, entry.path()));
    for (const auto& [tag, value] : values_by_tag(files.back())) steps[tag].insert(value.step);
  }
  ASSERT_EQ(files.size(), 3u);
  for (const auto& [tag, at] : steps) {
    for (const auto step : at) EXPECT_EQ(at.count(step), 1u) << tag << " at step " << step;
  }
  const std::multiset<int64_t> train_steps{100, 200, 300, 400, 500, 600};
  EXPECT_EQ(steps["train/loss"], train_steps);
  EXPECT_EQ(steps["memory/P"], (std::multiset<int64_t>{200, 400, 600}));
  EXPECT_EQ(steps["config"], std::multiset<int64_t>{0});
  EXPECT_EQ(steps["_hparams_/session_start_info"], std::multiset<int64_t>{0});
  EXPECT_EQ(steps["_hparams_/session_end_info"], std::multiset<int64_t>{600});
  EXPECT_EQ(steps["test/accuracy_best"], std::multiset<int64_t>{600});
}

}  // namespace
