// The layout of a run directory, the one place that names its files and folders:
//   config.toml  metrics.jsonl  summary.json  checkpoints/{last,best}.pt
//   tensorboard/events.out.tfevents.*  heatmaps/memory_step000200.png, memory_grad_step000200.png
// `train` writes these files; `report` and `lunar sweep` read them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lunar::runs {

inline constexpr char kConfigFile[] = "config.toml";     // the effective configuration
inline constexpr char kMetricsFile[] = "metrics.jsonl";  // metrics_log.h
inline constexpr char kSummaryFile[] = "summary.json";   // summary.h; present once finished
inline constexpr char kCheckpointsFolder[] = "checkpoints";
inline constexpr char kLastCheckpointFile[] = "last.pt";
inline constexpr char kBestCheckpointFile[] = "best.pt";  // at the best validation accuracy
inline constexpr char kTensorboardFolder[] = "tensorboard";
inline constexpr char kHeatmapsFolder[] = "heatmaps";
// TensorBoard finds event files by this prefix; the writer appends `<unix time>.<hostname>`.
inline constexpr char kEventFilePrefix[] = "events.out.tfevents.";

std::filesystem::path config_path(const std::filesystem::path& run_dir);
std::filesystem::path metrics_path(const std::filesystem::path& run_dir);
std::filesystem::path summary_path(const std::filesystem::path& run_dir);
std::filesystem::path checkpoints_folder(const std::filesystem::path& run_dir);
std::filesystem::path last_checkpoint(const std::filesystem::path& run_dir);
std::filesystem::path best_checkpoint(const std::filesystem::path& run_dir);
std::filesystem::path tensorboard_folder(const std::filesystem::path& run_dir);
std::filesystem::path heatmaps_folder(const std::filesystem::path& run_dir);

// A run directory is a folder holding config.toml.
bool is_run_dir(const std::filesystem::path& dir);

// The folders a run writes inside its directory (checkpoints, tensorboard, heatmaps): a search
// for run directories need not look inside them.
bool is_run_part(const std::string& folder_name);

// A heatmap of the memory P at `step` (memory_step000200.png) or of its gradient
// (memory_grad_step000200.png).
struct HeatmapName {
  bool gradient = false;
  int64_t step = -1;  // -1 for a file name of neither form
};
std::string heatmap_file_name(const HeatmapName& name);
HeatmapName parse_heatmap_name(const std::filesystem::path& path);

// The PNG files in the run's heatmaps folder sorted by name; empty when there is no folder.
std::vector<std::filesystem::path> list_heatmaps(const std::filesystem::path& run_dir);

}  // namespace lunar::runs
