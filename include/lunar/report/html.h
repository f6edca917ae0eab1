// The study report: one self-contained HTML file (inline CSS and SVG, PNGs as data URIs, no
// scripts, nothing fetched) with the results tables, the statistics and their p-value
// heatmaps, learning curves, memory-collapse curves and memory heatmaps; and the page head and
// image figures it shares with the run page (run_page.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lunar/report/aggregate.h"
#include "lunar/report/study_stats.h"
#include "lunar/runs/run_folder.h"

namespace lunar::report {

struct ReportInput {
  std::string title = "lunar study report";
  std::string source;  // the runs folder, shown in the header
  const ResultTable* table = nullptr;
  const StudyStatistics* statistics = nullptr;
};

std::string build_html(const ReportInput& input);

// The shared opening of a report page: doctype, charset, `title` and the stylesheet, up to and
// including <body>.
std::string page_head(const std::string& title);

// A <figure> with the PNG file embedded as a data URI and `caption` under it (and as alt text);
// `image_class` is "heat" (at most 380 px wide) or "fit" (its own size, shrunk to fit its box).
std::string png_figure(const std::filesystem::path& path, const std::string& caption,
                       const std::string& image_class);

// RFC 4648 base64 (with padding), for data URIs.
std::string base64(const std::string& bytes);

}  // namespace lunar::report
