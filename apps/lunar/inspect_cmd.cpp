// `lunar inspect`: memory-collapse metrics of a checkpoint per block, and heatmaps of its
// memories (docs/memory-collapse.md).
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/data/batch_loader.h"
#include "lunar/data/task.h"
#include "lunar/diag/heatmap.h"
#include "lunar/train/callbacks.h"
#include "lunar/train/checkpoint_model.h"

namespace lunar::cli {

namespace {
struct InspectOptions {
  std::string checkpoint;
  std::string out;
  std::vector<std::string> overrides;
  int64_t batch = 32;
};

void print_table(const std::map<std::string, double>& values, int64_t blocks) {
  const std::vector<std::string> columns = {
      "mean_cosine",  "distinct_fraction", "effective_rank", "collapse_residual",
      "pack_entropy", "slot_entropy",      "slot_effective"};
  fmt::print("{:<8}", "memory");
  for (const auto& c : columns) fmt::print(" {:>17}", c);
  fmt::print("\n");
  auto row = [&](const std::string& prefix) {
    fmt::print("{:<8}", prefix);
    for (const auto& c : columns) {
      const auto found = values.find(prefix + "." + c);
      if (found == values.end()) {
        fmt::print(" {:>17}", "-");
      } else {
        fmt::print(" {:>17.4f}", found->second);
      }
    }
    fmt::print("\n");
  };
  row("initial");
  for (int64_t i = 0; i < blocks; ++i) row(fmt::format("block{}", i));
}

void run_inspect(const InspectOptions& options) {
  auto loaded = train::load_checkpoint_model(options.checkpoint, options.overrides);
  const auto memory = loaded.model->initial_memory();
  check(memory.defined(), "[inspect] model '{}' has no memory to inspect",
        loaded.config.model.architecture);
  const auto task = data::load_task(loaded.config.task);
  const auto& split = task.validation.empty() ? task.test : task.validation;
  check(!split.empty(), "[inspect] task '{}' has no validation or test examples", task.info.name);
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < std::min<int64_t>(options.batch, split.size()); ++i) indices.push_back(i);
  const auto batch = data::collate(split, indices, train::padded_length(loaded.config));
  const auto values = train::memory_diagnostics(loaded.model, batch, at::kCPU);
  fmt::print("{} ({} blocks, M = {}) on {} validation examples\n", loaded.config.model.architecture,
             loaded.config.model.num_blocks, memory.size(0), indices.size());
  print_table(values, loaded.config.model.num_blocks);
  if (options.out.empty()) return;
  const std::filesystem::path out = options.out;
  diag::HeatmapOptions heatmap;
  heatmap.title = "initial memory P";
  diag::write_heatmap(out / "memory_initial.png", memory.detach(), heatmap);
  at::NoGradGuard no_grad;
  const auto output = loaded.model->forward(train::to_model_input(batch, at::kCPU));
  for (size_t i = 0; i < output.encoded.blocks.size(); ++i) {
    heatmap.title = fmt::format("block {} memory, example 0", i);
    diag::write_heatmap(out / fmt::format("memory_block{}.png", i),
                        output.encoded.blocks[i].memory[0], heatmap);
  }
  fmt::print("heatmaps written to {}\n", out.string());
}
}  // namespace

void register_inspect(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "Memory-collapse metrics and heatmaps of a checkpoint");
  cmd->add_option("--checkpoint", options->checkpoint, "checkpoint (.pt)")->required();
  cmd->add_option("--out", options->out, "folder for heatmap PNGs");
  cmd->add_option("--batch", options->batch, "validation examples to measure on")
      ->capture_default_str();
  cmd->add_option("--set", options->overrides, "override a key of the stored configuration");
  cmd->callback([options] { run_inspect(*options); });
}

}  // namespace lunar::cli
