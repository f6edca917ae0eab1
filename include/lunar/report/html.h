// The study report: one self-contained HTML file (inline CSS and SVG, PNGs as data URIs, no
// scripts, nothing fetched) with the results tables, the statistics and their p-value
// heatmaps, learning curves, memory-collapse curves and memory heatmaps.
#pragma once

#include <string>
#include <vector>

#include "lunar/report/aggregate.h"
#include "lunar/report/run_data.h"
#include "lunar/report/study_stats.h"

namespace lunar::report {

struct ReportInput {
  std::string title = "lunar study report";
  std::string source;  // the runs folder, shown in the header
  const ResultTable* table = nullptr;
  const StudyStatistics* statistics = nullptr;
};

std::string build_html(const ReportInput& input);

// RFC 4648 base64 (with padding), for data URIs.
std::string base64(const std::string& bytes);

}  // namespace lunar::report
