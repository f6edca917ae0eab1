// Paths inside a run directory and the heatmap file names.
#include "lunar/runs/layout.h"

#include <fmt/format.h>

#include <algorithm>

namespace lunar::runs {

namespace fs = std::filesystem;

namespace {
constexpr char kHeatmapPrefix[] = "memory_step";
constexpr char kGradientHeatmapPrefix[] = "memory_grad_step";
constexpr char kHeatmapExtension[] = ".png";
}  // namespace

fs::path config_path(const fs::path& run_dir) { return run_dir / kConfigFile; }
fs::path metrics_path(const fs::path& run_dir) { return run_dir / kMetricsFile; }
fs::path summary_path(const fs::path& run_dir) { return run_dir / kSummaryFile; }
fs::path checkpoints_folder(const fs::path& run_dir) { return run_dir / kCheckpointsFolder; }
fs::path last_checkpoint(const fs::path& run_dir) {
  return checkpoints_folder(run_dir) / kLastCheckpointFile;
}
fs::path best_checkpoint(const fs::path& run_dir) {
  return checkpoints_folder(run_dir) / kBestCheckpointFile;
}
fs::path tensorboard_folder(const fs::path& run_dir) { return run_dir / kTensorboardFolder; }
fs::path heatmaps_folder(const fs::path& run_dir) { return run_dir / kHeatmapsFolder; }

bool is_run_dir(const fs::path& dir) { return fs::exists(config_path(dir)); }

bool is_run_part(const std::string& folder_name) {
  return folder_name == kCheckpointsFolder || folder_name == kTensorboardFolder ||
         folder_name == kHeatmapsFolder;
}

std::string heatmap_file_name(const HeatmapName& name) {
  return fmt::format("{}{:06}{}", name.gradient ? kGradientHeatmapPrefix : kHeatmapPrefix,
                     name.step, kHeatmapExtension);
}

HeatmapName parse_heatmap_name(const fs::path& path) {
  HeatmapName name;
  const auto stem = path.stem().string();
  for (const std::string prefix : {kGradientHeatmapPrefix, kHeatmapPrefix}) {
    if (stem.rfind(prefix, 0) != 0) continue;
    const auto digits = stem.substr(prefix.size());
    // At most 18 digits fit an int64_t.
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      break;
    }
    name.gradient = prefix == kGradientHeatmapPrefix;
    name.step = std::stoll(digits);
    break;
  }
  return name;
}

std::vector<fs::path> list_heatmaps(const fs::path& run_dir) {
  std::vector<fs::path> heatmaps;
  const auto folder = heatmaps_folder(run_dir);
  if (!fs::is_directory(folder)) return heatmaps;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == kHeatmapExtension) heatmaps.push_back(entry.path());
  }
  std::sort(heatmaps.begin(), heatmaps.end());
  return heatmaps;
}

}  // namespace lunar::runs
