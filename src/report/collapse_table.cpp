// Collapse metrics per model and step, mean ± std over seeds, as Markdown tables.
#include "lunar/report/collapse_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

namespace lunar::report {

namespace {

struct Column {
  std::string header;
  std::string metric;  // the metrics.jsonl key
  bool per_slot;       // a fraction of the M rows, shown as a count of rows
  int decimals;
};

std::string cell_text(const MeanCurve& curve, size_t i, double scale, int decimals) {
  const double mean = scale * curve.mean[i];
  const double spread = scale * curve.stddev[i];
  return fmt::format("{:.{}f} ± {:.{}f}", mean, decimals, spread, decimals);
}

}  // namespace

std::string last_block(const ResultTable& table) {
  int last = -1;
  for (const auto& entry : table.cells) {
    for (const auto* run : entry.second.runs) {
      for (const auto& point : run->metrics) {
        if (point.split != "diag") continue;
        for (const auto& value : point.values) {
          int index = -1;
          if (std::sscanf(value.first.c_str(), "block%d.", &index) == 1) {
            last = std::max(last, index);
          }
        }
      }
    }
  }
  return last < 0 ? "" : fmt::format("block{}", last);
}

std::string collapse_markdown(const ResultTable& table) {
  const auto block = last_block(table);
  if (block.empty()) return "";
  const std::vector<Column> columns = {
      {"P cosine", "initial.mean_cosine", false, 3},
      {"P eff. rank", "initial.effective_rank", false, 2},
      {"∇P cosine", "grad.mean_cosine", false, 3},
      {"∇P eff. rank", "grad.effective_rank", false, 2},
      {block + " cosine", block + ".mean_cosine", false, 3},
      {block + " distinct rows", block + ".distinct_fraction", true, 1},
      {block + " eff. rank", block + ".effective_rank", false, 2},
  };
  std::string header = "| model | step |";
  std::string rule = "|---|---|";
  for (const auto& column : columns) {
    header += " " + column.header + " |";
    rule += "---|";
  }
  std::string out;
  for (const auto& task : table.tasks) {
    std::string rows;
    for (const auto& model : table.models) {
      const Cell* cell = table.cell(model, task);
      if (!cell || model.memory_len < 2) continue;  // one row has nothing to collapse into
      std::vector<MeanCurve> curves;
      std::set<int64_t> steps;
      for (const auto& column : columns) {
        curves.push_back(mean_curve(cell->runs, "diag", column.metric));
        steps.insert(curves.back().steps.begin(), curves.back().steps.end());
      }
      for (const int64_t step : steps) {
        rows += fmt::format("| {} | {} |", model.label(), step);
        for (size_t c = 0; c < columns.size(); ++c) {
          const auto& curve = curves[c];
          const auto found = std::find(curve.steps.begin(), curve.steps.end(), step);
          if (found == curve.steps.end()) {
            rows += " – |";
            continue;
          }
          const double scale = columns[c].per_slot ? static_cast<double>(model.memory_len) : 1.0;
          rows += " " +
                  cell_text(curve, static_cast<size_t>(found - curve.steps.begin()), scale,
                            columns[c].decimals) +
                  " |";
        }
        rows += "\n";
      }
    }
    if (rows.empty()) continue;
    out += fmt::format(
        "Memory collapse on {} (mean ± std over seeds; P = the learned memory, ∇P its gradient, "
        "{} = the last block's output memory)\n\n{}\n{}\n{}\n",
        task, block, header, rule, rows);
  }
  return out;
}

}  // namespace lunar::report
