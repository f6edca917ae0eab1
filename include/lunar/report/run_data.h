// The run directories a report reads, by the names the report uses; lunar::runs reads them.
#pragma once

#include <filesystem>
#include <vector>

#include "lunar/runs/layout.h"
#include "lunar/runs/metrics_log.h"
#include "lunar/runs/run_folder.h"
#include "lunar/runs/summary.h"

namespace lunar::report {

using RunData = runs::RunFolder;
using runs::at_majority_rate;
using runs::parse_heatmap_name;

inline RunData load_run(const std::filesystem::path& dir) { return runs::read_run_folder(dir); }

// Every run directory (a folder holding config.toml) under `root`, `root` itself included,
// sorted by path. Throws when there is none.
std::vector<RunData> load_runs(const std::filesystem::path& root);

}  // namespace lunar::report
