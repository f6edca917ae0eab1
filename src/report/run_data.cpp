// Finding the run directories under a folder.
#include "lunar/report/run_data.h"

#include <algorithm>

#include "lunar/core/error.h"

namespace lunar::report {

namespace fs = std::filesystem;

std::vector<RunData> load_runs(const fs::path& root) {
  check(fs::is_directory(root), "[report] expected a folder of run directories, got '{}'",
        root.string());
  std::vector<fs::path> dirs;
  if (runs::is_run_dir(root)) dirs.push_back(root);
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    if (!it->is_directory()) continue;
    if (runs::is_run_part(it->path().filename().string())) {
      it.disable_recursion_pending();
    } else if (runs::is_run_dir(it->path())) {
      dirs.push_back(it->path());
      it.disable_recursion_pending();
    }
  }
  check(!dirs.empty(), "[report] expected run directories (with config.toml) under '{}', got none",
        root.string());
  std::sort(dirs.begin(), dirs.end());
  std::vector<RunData> loaded;
  for (const auto& dir : dirs) loaded.push_back(load_run(dir));
  return loaded;
}

}  // namespace lunar::report
