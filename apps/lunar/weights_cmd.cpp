// `lunar export` / `lunar import`: model weights as a state dict that PyTorch's torch.load
// reads ({name: tensor}, names as in docs/export.md), and back into a checkpoint.
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/serialize.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>

#include "commands.h"
#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/train/checkpoint.h"
#include "lunar/train/checkpoint_model.h"

namespace lunar::cli {

namespace {
struct WeightsOptions {
  std::string checkpoint, weights, out;
};

// torch.save's format for a {name: tensor} dict, which torch.load reads with weights_only=True
// (its default since PyTorch 2.6). torch::pickle_save writes the same archive but wraps the dict
// in TorchScript's type tag (torch.jit._pickle.restore_type_tag), which that loader refuses.
std::string state_dict_archive(const c10::Dict<std::string, at::Tensor>& state) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* data, size_t size) { pickle.insert(pickle.end(), data, data + size); },
      nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(state));
  pickler.stop();
  std::string archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    archive.append(static_cast<const char*>(data), size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(),
                                     writer);
  writer.writeEndOfFile();
  return archive;
}

void run_export(const WeightsOptions& options) {
  auto loaded = train::load_checkpoint_model(options.checkpoint, {});
  c10::Dict<std::string, at::Tensor> state;
  for (const auto& item : loaded.model->named_parameters())
    state.insert(item.key(), item.value().detach());
  for (const auto& item : loaded.model->named_buffers()) state.insert(item.key(), item.value());
  write_atomically(options.out, state_dict_archive(state));
  fmt::print("exported {} tensors to {} (Python: torch.load('{}'))\n", state.size(), options.out,
             options.out);
}

void run_import(const WeightsOptions& options) {
  auto loaded = train::load_checkpoint_model(options.checkpoint, {});
  std::ifstream in(options.weights, std::ios::binary);
  check(static_cast<bool>(in), "[import] cannot open '{}'", options.weights);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& error) {
    // state_dict() returns an OrderedDict carrying metadata, which LibTorch's unpickler fails on.
    throw Error(fmt::format(
        "[import] '{}' is not a dict of tensors saved by torch.save or lunar export (from "
        "PyTorch, save a plain dict: torch.save(dict(model.state_dict()), path)): {}",
        options.weights, error.what_without_backtrace()));
  }
  check(value.isGenericDict(), "[import] expected a dict of tensors in '{}'", options.weights);
  std::map<std::string, at::Tensor> state;
  for (const auto& entry : value.toGenericDict()) {
    check(entry.key().isString() && entry.value().isTensor(),
          "[import] expected string keys and tensor values in '{}'", options.weights);
    state[entry.key().toStringRef()] = entry.value().toTensor();
  }
  std::set<std::string> used;
  at::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, at::Tensor& target) {
    auto found = state.find(name);
    check(found != state.end(), "[import] '{}' has no tensor '{}'", options.weights, name);
    check(found->second.sizes() == target.sizes(),
          "[import] '{}': '{}' expected shape [{}], got [{}]", options.weights, name,
          fmt::join(target.sizes(), ", "), fmt::join(found->second.sizes(), ", "));
    target.copy_(found->second);
    used.insert(name);
  };
  for (auto& item : loaded.model->named_parameters()) assign(item.key(), item.value());
  for (auto& item : loaded.model->named_buffers()) assign(item.key(), item.value());
  for (const auto& [name, tensor] : state) {
    check(used.count(name) == 1, "[import] '{}' has a tensor '{}' the model does not have",
          options.weights, name);
  }
  const auto header = train::read_checkpoint_header(options.checkpoint);
  train::save_checkpoint(options.out, *loaded.model, nullptr, header.state, header.config_toml);
  fmt::print("imported {} tensors into {}\n", used.size(), options.out);
}
}  // namespace

void register_weights(CLI::App& app) {
  auto export_options = std::make_shared<WeightsOptions>();
  auto* exp = app.add_subcommand("export", "Write a checkpoint's weights as a PyTorch state dict");
  exp->add_option("--checkpoint", export_options->checkpoint, "checkpoint (.pt)")->required();
  exp->add_option("--out", export_options->out, "state dict file for torch.load")->required();
  exp->callback([export_options] { run_export(*export_options); });

  auto import_options = std::make_shared<WeightsOptions>();
  auto* imp = app.add_subcommand("import", "Load a PyTorch state dict into a checkpoint's model");
  imp->add_option("--checkpoint", import_options->checkpoint,
                  "checkpoint giving the model's "
                  "configuration")
      ->required();
  imp->add_option("--weights", import_options->weights, "state dict (torch.save of a dict)")
      ->required();
  imp->add_option("--out", import_options->out, "new checkpoint to write")->required();
  imp->callback([import_options] { run_import(*import_options); });
}

}  // namespace lunar::cli
