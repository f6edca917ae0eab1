// Event files written through RunLog, decoded by Google's protobuf runtime
// (event_protobuf_support.h): the configuration text, the heatmap images, the hparams session
// start and end, and the hyper-parameters every architecture declares.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "event_protobuf_support.h"
#include "lunar/diag/heatmap.h"
#include "lunar/models/registry.h"
#include "lunar/train/event_writer.h"
#include "lunar/train/run_log.h"

namespace {

using namespace lunar::train::testing;

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

// A run stopped by an error ends its session with status failure; resuming it from a checkpoint
// before that step removes the failure with the steps after the checkpoint.
TEST(EventProtobuf, AFailedRunEndsItsSessionAsFailedUntilResumed) {
  Schema schema;
  const auto dir = fresh_directory("failed");
  const auto config = luna_config();
  {
    lunar::train::RunLog log(dir);
    log.record_start(config, lunar::train::to_toml(config));
    log.record(100, "train", {{"loss", 1.0}});
    log.record_failure(150);
  }
  const auto tensorboard = dir / "tensorboard";
  const auto events = read_event_file(schema, event_file(tensorboard));
  const auto values = values_by_tag(events);
  const auto& end_value = only(values, "_hparams_/session_end_info");
  EXPECT_EQ(end_value.step, 150);
  const auto end_data = hparams_content(schema, *end_value.value);
  ASSERT_TRUE(has(*end_data, "session_end_info"));
  EXPECT_EQ(enum_number(sub(*end_data, "session_end_info"), "status"), 2);  // STATUS_FAILURE

  EXPECT_EQ(lunar::train::truncate_event_files(tensorboard, 100, lunar::train::kRunEndTagPrefixes),
            1);
  const auto kept = values_by_tag(read_event_file(schema, event_file(tensorboard)));
  EXPECT_EQ(kept.count("_hparams_/session_end_info"), 0u);
  EXPECT_EQ(kept.count("train/loss"), 1u);
}

}  // namespace
