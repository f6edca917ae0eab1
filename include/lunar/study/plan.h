// A sweep's plan: each run of the grid with its folder, what its folder says about it (new,
// interrupted, finished), its status as the sweep goes, and the manifest sweep.json.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lunar/runs/summary.h"
#include "lunar/study/grid.h"
#include "lunar/study/pool.h"

namespace lunar::study {

// What a run folder holds: nothing yet, a checkpoint to resume from, or a finished run.
enum class RunState { kNew, kResume, kDone };

// Finished when summary.json exists; resumable from checkpoints/last.pt or checkpoints/best.pt
// (`train --resume` continues from the newer one).
RunState run_state(const std::filesystem::path& run_dir);

enum class RunStatus { kPending, kRunning, kDone, kFailed, kInterrupted };

// "pending", "running", "done", "failed", "interrupted": the status as sweep.json writes it.
const char* status_name(RunStatus status);

// A finished run's results as its summary.json says them, or why they cannot be read.
struct FinishedRun {
  std::optional<runs::RunSummary> results;
  std::string error;  // empty when the results were read
};
FinishedRun read_finished_run(const std::filesystem::path& run_dir);

struct PlannedRun {
  GridRun run;
  std::filesystem::path dir;  // <out>/<name>
  RunState state = RunState::kNew;
  RunStatus status = RunStatus::kPending;
  double seconds = 0.0;  // training time, once done
  FinishedRun earlier;   // the results of a run finished before this sweep (state kDone)
};

// The runs in `out`: a run finished earlier is done with the time its summary records (0 when
// the summary cannot be read), the others are pending.
std::vector<PlannedRun> plan_sweep(const std::vector<GridRun>& runs,
                                   const std::filesystem::path& out);

struct PlanCounts {
  int to_run = 0;     // new
  int to_resume = 0;  // interrupted earlier
  int finished = 0;   // done earlier
};
PlanCounts count_states(const std::vector<PlannedRun>& runs);

// The status of a run whose `lunar train` ended with `end`: done only when it also wrote
// summary.json, interrupted when the pool's stop interrupted it, failed otherwise.
RunStatus status_after(const CommandEnd& end, const std::filesystem::path& run_dir);

// What sweep.json says besides the runs.
struct ManifestHeader {
  std::string grid;           // the sweep's grid arguments as a command line
  std::filesystem::path out;  // absolute
  int jobs = 1;
  std::string executable;  // the lunar binary of the runs' commands
  int threads_per_job = 0;
};

// Writes <out>/sweep.json atomically: the header and, per run, its name, configuration,
// settings, overrides, folder, log, status, seconds and `lunar train` command line.
void write_manifest(const ManifestHeader& header, const std::vector<PlannedRun>& runs);

}  // namespace lunar::study
