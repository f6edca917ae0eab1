// The memory-collapse metrics over training as Markdown: for every model with at least two memory
// rows, at every logged diagnostics step, mean ± std over seeds of the learned memory P's and the
// last block's row similarity, distinct rows and effective rank, and how aligned P's gradient is
// across rows (docs/memory-collapse.md defines each metric).
#pragma once

#include <string>

#include "lunar/report/aggregate.h"

namespace lunar::report {

// "block<i>" for the highest i in any run's diagnostics; "" when no run logged diagnostics.
std::string last_block(const ResultTable& table);

// One table per task; "" when no run logged diagnostics.
std::string collapse_markdown(const ResultTable& table);

}  // namespace lunar::report
