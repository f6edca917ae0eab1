// Assembling the HTML report from tables, statistics and figures.
#include "lunar/report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "lunar/report/collapse_table.h"
#include "lunar/report/run_page.h"
#include "lunar/report/svg.h"
#include "lunar/runs/layout.h"

namespace lunar::report {

namespace fs = std::filesystem;

namespace {

const char* kStyle = R"(body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
h3{font-size:15px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.figs{display:flex;flex-wrap:wrap;gap:12px}
.note{color:#666;font-size:13px}figure{margin:0}figcaption{font-size:12px;color:#444}
img.heat{max-width:380px;border:1px solid #ddd}img.fit{max-width:100%;border:1px solid #ddd}
.pairs{display:grid;grid-template-columns:1fr 1fr;gap:12px;align-items:start}
.warn{color:#c00;font-weight:bold}pre{background:#f7f7f7;padding:8px;font-size:12px}
details{margin:16px 0}summary{cursor:pointer;font-weight:bold}table.facts td{text-align:left})";

std::string results_table(const ResultTable& table, Metric metric) {
  std::string html = "<table><tr><th>model</th>";
  for (const auto& task : table.tasks) html += "<th>" + escape_html(task) + "</th>";
  html += "</tr>\n";
  for (const auto& model : table.models) {
    html += "<tr><td>" + escape_html(model.label()) + "</td>";
    for (const auto& task : table.tasks) {
      const Cell* cell = table.cell(model, task);
      if (!cell) {
        html += "<td>–</td>";
        continue;
      }
      const auto& by_seed = metric == Metric::kBest ? cell->best_by_seed : cell->last_by_seed;
      std::vector<double> values;
      for (const auto& entry : by_seed) values.push_back(100.0 * entry.second);
      const size_t k = at_majority(*cell, metric);
      html += fmt::format("<td>{} <span class=\"note\">(n={}{})</span></td>",
                          escape_html(stats::format_mean_std(stats::summarize(values), 2)),
                          values.size(), k ? fmt::format("; {} at majority", k) : "");
    }
    html += "</tr>\n";
  }
  html += "<tr><td>majority class</td>";
  for (const auto& task : table.tasks) {
    html += fmt::format("<td>{:.2f}</td>", 100.0 * majority_rate(table, task));
  }
  return html + "</tr>\n</table>\n";
}

std::string statistics_section(const StudyStatistics& statistics) {
  std::string html = "<h2>Statistics</h2>\n";
  if (statistics.friedman.empty() && statistics.wilcoxon.empty()) {
    return html + "<p class=\"note\">Not enough settings or seeds for a test.</p>\n";
  }
  html +=
      "<p class=\"note\">Test accuracy at the best validation checkpoint; a block is one task and "
      "seed. Friedman; the exact p enumerates every arrangement of the blocks' ranks (trust it "
      "over χ² and F for few blocks; – when there are too many); \"n too small\" when no outcome "
      "of so few blocks could reach p ≤ 0.05. Heatmaps show Holm-adjusted exact post-hoc "
      "p-values (every block's ranks permuted). Wilcoxon: one-sided signed-rank p-value that the "
      "row beats the column over paired seeds.</p>\n";
  if (!statistics.friedman.empty()) {
    html +=
        "<table><tr><th>comparison</th><th>blocks</th><th>average ranks</th><th>χ²</th>"
        "<th>p (χ²)</th><th>Iman–Davenport F</th><th>p (F)</th><th>exact p</th>"
        "<th>at 0.05</th></tr>\n";
    for (const auto& study : statistics.friedman) {
      std::string ranks;
      for (size_t i = 0; i < study.names.size(); ++i) {
        ranks += fmt::format("{}{} {:.2f}", i ? ", " : "", study.names[i],
                             study.friedman.average_ranks[i]);
      }
      html += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3f}</td><td>{}</td><td>{:.3f}</td>"
          "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
          escape_html(study.title), study.blocks, escape_html(ranks), study.friedman.chi_square,
          p_text(study.friedman.chi_square_p_value), study.friedman.iman_davenport_f,
          p_text(study.friedman.iman_davenport_p_value), p_text(study.friedman.exact_p_value),
          escape_html(friedman_verdict(study)));
    }
    html += "</table>\n<div class=\"figs\">\n";
    for (const auto& study : statistics.friedman) {
      html += p_value_heatmap_svg(study.title + " (Holm)", study.holm.names, study.holm.values);
    }
    html += "</div>\n";
  }
  if (!statistics.wilcoxon.empty()) {
    html += "<h3>One-sided Wilcoxon signed-rank (row &gt; column)</h3>\n<div class=\"figs\">\n";
    for (const auto& study : statistics.wilcoxon) {
      html += p_value_heatmap_svg(study.title, study.names, study.p);
    }
    html += "</div>\n";
  }
  return html;
}

// All finished runs of one task, grouped by model, in table order.
std::vector<std::pair<ModelKey, std::vector<const runs::RunFolder*>>> task_groups(
    const ResultTable& table, const std::string& task) {
  std::vector<std::pair<ModelKey, std::vector<const runs::RunFolder*>>> groups;
  for (const auto& model : table.models) {
    if (const Cell* cell = table.cell(model, task)) groups.push_back({model, cell->runs});
  }
  return groups;
}

// The majority-class line of a task's validation chart, as its runs' pages draw it: the mean
// validation rate of their step-0 "data" lines, else the test rate of their summary.json.
std::vector<Reference> majority_lines(const ResultTable& table, const std::string& task) {
  std::vector<const runs::RunFolder*> runs;
  for (const auto& [model, group] : task_groups(table, task)) {
    runs.insert(runs.end(), group.begin(), group.end());
  }
  const auto validation = mean_curve(runs, "data", "majority_val");
  const double test = majority_rate(table, task);
  return majority_references(
      validation.mean.empty() ? std::nullopt : std::optional<double>(validation.mean[0]),
      std::isnan(test) ? std::nullopt : std::optional<double>(test));
}

LineChart curve_chart(const ResultTable& table, const std::string& task, const std::string& split,
                      const std::string& value, const std::string& title,
                      const std::string& y_label, bool memory_only) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "step";
  chart.y_label = y_label;
  for (const auto& [model, runs] : task_groups(table, task)) {
    if (memory_only && model.memory_len == 0) continue;
    const auto curve = mean_curve(runs, split, value);
    Series series;
    series.label = model.label();
    for (size_t i = 0; i < curve.steps.size(); ++i) {
      series.x.push_back(static_cast<double>(curve.steps[i]));
      series.y.push_back(curve.mean[i]);
      series.spread.push_back(curve.stddev[i]);
    }
    chart.series.push_back(series);
  }
  return chart;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string heatmap_section(const ResultTable& table) {
  std::string html;
  for (const auto& task : table.tasks) {
    for (const auto& [model, runs] : task_groups(table, task)) {
      if (runs.empty() || runs.front()->heatmaps.empty()) continue;
      const runs::RunFolder& run = *runs.front();  // the lowest seed
      std::vector<fs::path> memory, gradient;
      for (const auto& path : run.heatmaps) {
        (runs::parse_heatmap_name(path).gradient ? gradient : memory).push_back(path);
      }
      std::vector<fs::path> shown;
      if (!memory.empty()) shown.push_back(memory.front());
      if (memory.size() > 1) shown.push_back(memory.back());
      if (!gradient.empty()) shown.push_back(gradient.front());
      if (gradient.size() > 1) shown.push_back(gradient.back());
      html += fmt::format("<h3>{} on {} (seed {})</h3>\n<div class=\"figs\">\n",
                          escape_html(model.label()), escape_html(task), run.seed);
      for (const auto& path : shown) html += png_figure(path, path.filename().string(), "heat");
      html += "</div>\n";
    }
  }
  return html;
}

}  // namespace

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 2]);
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[chunk & 63] : '=';
  }
  return out;
}

std::string page_head(const std::string& title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n"
      "<style>{}</style></head><body>\n",
      escape_html(title), kStyle);
}

std::string png_figure(const fs::path& path, const std::string& caption,
                       const std::string& image_class) {
  return fmt::format(
      "<figure><img class=\"{0}\" alt=\"{1}\" src=\"data:image/png;base64,{2}\">"
      "<figcaption>{1}</figcaption></figure>\n",
      image_class, escape_html(caption), base64(read_bytes(path)));
}

std::string build_html(const ReportInput& input) {
  const ResultTable& table = *input.table;
  int finished = 0;
  for (const auto& entry : table.cells) finished += static_cast<int>(entry.second.runs.size());
  std::string html =
      page_head(input.title) + fmt::format(
                                   "<h1>{}</h1>\n<p class=\"note\">Runs: {} ({} finished, {} "
                                   "unfinished).</p>\n",
                                   escape_html(input.title), escape_html(input.source), finished,
                                   table.unfinished.size());
  if (!table.unfinished.empty()) {
    html += "<p class=\"note\">Unfinished (left out): ";
    for (size_t i = 0; i < table.unfinished.size(); ++i) {
      html += (i ? ", " : "") + escape_html(table.unfinished[i]->dir.filename().string());
    }
    html += "</p>\n";
  }
  html += "<h2>Test accuracy (%) at the best validation checkpoint, mean ± std over seeds</h2>\n";
  html += results_table(table, Metric::kBest);
  html += "<h2>Test accuracy (%) at the last step</h2>\n" + results_table(table, Metric::kLast);
  if (input.statistics) html += statistics_section(*input.statistics);

  html += "<h2>Learning curves (mean and ± std band over seeds)</h2>\n";
  for (const auto& task : table.tasks) {
    html += "<div class=\"figs\">\n";
    auto validation = curve_chart(table, task, "val", "accuracy", task + ": validation accuracy",
                                  "accuracy", false);
    validation.references = majority_lines(table, task);
    html += line_chart_svg(validation);
    html += line_chart_svg(
        curve_chart(table, task, "train", "loss", task + ": training loss", "loss", false));
    html += "</div>\n";
  }
  const auto block = last_block(table);
  if (!block.empty()) {
    html +=
        "<h2>Memory collapse (mean and ± std band over seeds)</h2>\n<p class=\"note\">Mean "
        "off-diagonal cosine similarity of memory rows and effective rank, for the initial "
        "memory P, its gradient (rows pushed the same way: cosine near 1) and the last block's "
        "output memory (" +
        block + ").</p>\n";
    for (const auto& task : table.tasks) {
      html += "<div class=\"figs\">\n";
      html += line_chart_svg(curve_chart(table, task, "diag", "initial.mean_cosine",
                                         task + ": P mean cosine", "cosine", true));
      html += line_chart_svg(curve_chart(table, task, "diag", "initial.effective_rank",
                                         task + ": P effective rank", "rank", true));
      html += line_chart_svg(curve_chart(table, task, "diag", "grad.mean_cosine",
                                         task + ": gradient of P, mean cosine", "cosine", true));
      html +=
          line_chart_svg(curve_chart(table, task, "diag", block + ".mean_cosine",
                                     task + ": " + block + " memory mean cosine", "cosine", true));
      html +=
          line_chart_svg(curve_chart(table, task, "diag", block + ".effective_rank",
                                     task + ": " + block + " memory effective rank", "rank", true));
      html += "</div>\n";
    }
  }
  const auto heatmaps = heatmap_section(table);
  if (!heatmaps.empty()) {
    html +=
        "<h2>Memory heatmaps (P at the first and last logged step, its gradient at the first and "
        "last)</h2>\n" +
        heatmaps;
  }
  return html + "</body></html>\n";
}

}  // namespace lunar::report
