// The page of one run and its text summary, from what runs::read_run_folder read.
#include "lunar/report/run_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "lunar/report/html.h"
#include "lunar/report/svg.h"
#include "lunar/runs/layout.h"

namespace lunar::report {

namespace fs = std::filesystem;

namespace {

// One logged value over training; values logged as null (non-finite) are left out.
Series run_series(const runs::RunFolder& run, const std::string& split, const std::string& value,
                  const std::string& label) {
  Series series;
  series.label = label;
  for (const auto& point : run.metrics) {
    if (point.split != split) continue;
    const auto found = point.values.find(value);
    if (found == point.values.end() || !std::isfinite(found->second)) continue;
    series.x.push_back(static_cast<double>(point.step));
    series.y.push_back(found->second);
  }
  return series;
}

// A value of the step-0 "data" line (the majority-class rates).
std::optional<double> data_value(const runs::RunFolder& run, const std::string& name) {
  for (const auto& point : run.metrics) {
    if (point.split != "data") continue;
    const auto found = point.values.find(name);
    if (found != point.values.end() && std::isfinite(found->second)) return found->second;
  }
  return std::nullopt;
}

LineChart step_chart(const std::string& title, const std::string& y_label,
                     std::vector<Series> series) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "step";
  chart.y_label = y_label;
  chart.series = std::move(series);
  return chart;
}

// The collapse metrics of docs/memory-collapse.md, in the order the page shows them.
struct CollapseMetric {
  const char* key;
  const char* title;
  const char* y_label;
};
constexpr CollapseMetric kCollapseMetrics[] = {
    {"mean_cosine", "Mean off-diagonal cosine of memory rows", "cosine"},
    {"effective_rank", "Effective rank", "rank"},
    {"distinct_fraction", "Distinct fraction of rows (cosine < 0.99)", "fraction"},
    {"collapse_residual", "Collapse residual", "residual"},
    {"pack_entropy", "Pack attention entropy (normalised)", "entropy"},
    {"slot_entropy", "Unpack slot entropy (normalised)", "entropy"},
    {"slot_effective", "Unpack effective slots", "slots"}};

// Display order of the memories a diag key names: P ("initial"), its gradient, block 0, 1, ...
std::pair<int, long long> memory_order(const std::string& memory) {
  if (memory == "initial") return {0, 0};
  if (memory == "grad") return {1, 0};
  const auto digits = memory.substr(std::min<size_t>(5, memory.size()));
  if (memory.rfind("block", 0) == 0 && !digits.empty() && digits.size() <= 18 &&
      digits.find_first_not_of("0123456789") == std::string::npos) {
    return {2, std::stoll(digits)};
  }
  return {3, 0};
}

std::string memory_label(const std::string& memory) {
  if (memory == "initial") return "P";
  if (memory == "grad") return "gradient of P";
  if (memory_order(memory).first == 2) return "block " + memory.substr(5);
  return memory;
}

std::string run_header(const runs::RunFolder& run, const RunStatus& status, bool has_memory) {
  const auto row = [](const std::string& name, const std::string& value) {
    return "<tr><th>" + name + "</th><td>" + value + "</td></tr>\n";
  };
  std::string html = fmt::format("<h1>Run {}</h1>\n<table class=\"facts\">\n",
                                 escape_html(run.dir.filename().string()));
  html += row("run folder", escape_html(fs::absolute(run.dir).lexically_normal().string()));
  html += row("model", escape_html(run.architecture) +
                           (has_memory ? fmt::format(", memory length {}", run.memory_len)
                                       : std::string(" (no memory)")));
  html += row("task", escape_html(run.task));
  html += row("seed", std::to_string(run.seed));
  html += row("steps", run.planned_steps ? fmt::format("{} of {}", status.steps, *run.planned_steps)
                                         : std::to_string(status.steps));
  html +=
      row("status", status.finished ? "finished"
                                    : "in progress — re-run <code>lunar report</code> to refresh");
  html += row("best validation accuracy",
              status.best_step ? fmt::format("{:.4f} at step {}", status.best_validation_accuracy,
                                             *status.best_step)
                               : "not evaluated yet");
  if (run.results) {
    html += row("test accuracy",
                fmt::format("{:.4f} at the best checkpoint, {:.4f} at the last step",
                            run.results->test_accuracy_best, run.results->test_accuracy_last));
  }
  std::string majority;
  if (status.majority_val) majority += fmt::format("validation {:.4f}", *status.majority_val);
  if (status.majority_test) {
    majority += fmt::format("{}test {:.4f}", majority.empty() ? "" : ", ", *status.majority_test);
  }
  html += row("majority class", majority.empty() ? "not logged" : majority);
  html += "</table>\n";
  if (status.best_predicts_one_class) {
    html += fmt::format("<p class=\"warn\">Warning: {}.</p>\n",
                        runs::one_class_warning("the best checkpoint", "test"));
  }
  return html;
}

std::string learning_curves(const runs::RunFolder& run, const RunStatus& status) {
  std::string html = "<h2>Learning curves</h2>\n";
  if (run.metrics.empty()) return html + "<p class=\"note\">No metrics logged yet.</p>\n";
  auto accuracy = step_chart("Accuracy", "accuracy",
                             {run_series(run, "train", "accuracy", "train"),
                              run_series(run, "val", "accuracy", "validation")});
  accuracy.references = majority_references(status.majority_val, status.majority_test);
  html +=
      "<p class=\"note\">Training values are means over the train.log_every steps up to each "
      "logged step; validation values cover the whole validation split.</p>\n<div "
      "class=\"figs\">\n";
  html += line_chart_svg(step_chart(
      "Loss", "cross-entropy",
      {run_series(run, "train", "loss", "train"), run_series(run, "val", "loss", "validation")}));
  html += line_chart_svg(accuracy);
  html += line_chart_svg(step_chart("Learning rate", "learning rate",
                                    {run_series(run, "train", "learning_rate", "learning rate")}));
  html += line_chart_svg(step_chart("Gradient norm (before clipping)", "L2 norm",
                                    {run_series(run, "train", "grad_norm", "grad norm")}));
  return html + "</div>\n";
}

std::string collapse_section(const runs::RunFolder& run, bool has_memory) {
  std::string html = "<h2>Memory collapse over training</h2>\n";
  if (!has_memory) {
    return html + "<p class=\"note\">" + escape_html(run.architecture) +
           " has no memory: no collapse metrics and no heatmaps.</p>\n";
  }
  std::map<std::string, std::vector<std::string>> memories;  // metric -> memories logging it
  for (const auto& point : run.metrics) {
    if (point.split != "diag") continue;
    for (const auto& entry : point.values) {
      const auto dot = entry.first.rfind('.');
      if (dot == std::string::npos) continue;
      auto& names = memories[entry.first.substr(dot + 1)];
      const auto memory = entry.first.substr(0, dot);
      if (std::find(names.begin(), names.end(), memory) == names.end()) names.push_back(memory);
    }
  }
  if (memories.empty()) {
    return html +
           "<p class=\"note\">No memory-collapse metrics logged yet (split diag: at step 0, then "
           "every diag.every steps).</p>\n";
  }
  html +=
      "<p class=\"note\">On a fixed batch of validation examples: P is the learned initial memory, "
      "block i its output memory after block i (averaged over the batch). Collapse: cosine → 1, "
      "effective rank → 1, distinct fraction → 1/M.</p>\n<div class=\"figs\">\n";
  for (const auto& metric : kCollapseMetrics) {
    const auto found = memories.find(metric.key);
    if (found == memories.end()) continue;
    auto names = found->second;
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return std::make_pair(memory_order(a), a) < std::make_pair(memory_order(b), b);
    });
    std::vector<Series> series;
    for (const auto& memory : names) {
      series.push_back(run_series(run, "diag", memory + "." + metric.key, memory_label(memory)));
    }
    html += line_chart_svg(step_chart(metric.title, metric.y_label, std::move(series)));
  }
  return html + "</div>\n";
}

// One row per step: P and its gradient side by side (step 0 has no gradient).
std::string heatmap_rows(const runs::RunFolder& run) {
  std::map<int64_t, std::pair<fs::path, fs::path>> by_step;  // P, gradient; empty when absent
  for (const auto& path : run.heatmaps) {
    const auto name = runs::parse_heatmap_name(path);
    if (name.step < 0) continue;
    (name.gradient ? by_step[name.step].second : by_step[name.step].first) = path;
  }
  std::string html = "<h2>Heatmaps of P and its gradient</h2>\n";
  if (by_step.empty()) {
    return html + "<p class=\"note\">No heatmaps yet (written at diag.heatmap_steps).</p>\n";
  }
  html +=
      "<p class=\"note\">In step order; P's colour scale is fixed at its first image.</p>\n"
      "<div class=\"pairs\">\n";
  for (const auto& [step, images] : by_step) {
    html += images.first.empty()
                ? "<div></div>\n"
                : png_figure(images.first, fmt::format("P at step {}", step), "fit");
    html += images.second.empty()
                ? "<div></div>\n"
                : png_figure(images.second, fmt::format("Gradient of P at step {}", step), "fit");
  }
  return html + "</div>\n";
}

}  // namespace

std::vector<Reference> majority_references(std::optional<double> validation,
                                           std::optional<double> test) {
  if (validation) {
    return {{fmt::format("majority class (validation) {:.4f}", *validation), *validation}};
  }
  if (test) return {{fmt::format("majority class (test) {:.4f}", *test), *test}};
  return {};
}

RunStatus run_status(const runs::RunFolder& run) {
  RunStatus status;
  status.finished = run.results.has_value();
  for (const auto& point : run.metrics) {
    status.steps = std::max(status.steps, point.step);
    const auto accuracy = point.values.find("accuracy");
    // The trainer's best is the first evaluation with the highest accuracy.
    if (point.split == "val" && accuracy != point.values.end() && std::isfinite(accuracy->second) &&
        (!status.best_step || accuracy->second > status.best_validation_accuracy)) {
      status.best_step = point.step;
      status.best_validation_accuracy = accuracy->second;
    }
  }
  status.majority_val = data_value(run, "majority_val");
  status.majority_test = data_value(run, "majority_test");
  if (run.results) {
    const auto& results = *run.results;
    status.steps = results.steps;
    status.best_step = results.best_step;
    status.best_validation_accuracy = results.best_validation_accuracy;
    status.majority_test = results.majority_rate;
    status.best_predicts_one_class = results.best_predicts_one_class;
  }
  return status;
}

std::string run_summary_text(const runs::RunFolder& run, bool has_memory) {
  const auto status = run_status(run);
  std::string out = fmt::format(
      "run {}: {}{} on {}, seed {}\n", run.dir.string(), run.architecture,
      has_memory ? fmt::format(" (memory length {})", run.memory_len) : "", run.task, run.seed);
  out += fmt::format("steps {}{}, {}\n", status.steps,
                     run.planned_steps ? fmt::format(" of {}", *run.planned_steps) : "",
                     status.finished ? "finished" : "in progress");
  if (status.best_step) {
    out += fmt::format("best validation accuracy {:.4f} at step {}\n",
                       status.best_validation_accuracy, *status.best_step);
  }
  if (run.results) {
    out += fmt::format("test accuracy {:.4f} (best checkpoint)  {:.4f} (last)\n",
                       run.results->test_accuracy_best, run.results->test_accuracy_last);
  }
  if (status.majority_val)
    out += fmt::format("majority class validation {:.4f}\n", *status.majority_val);
  if (status.majority_test)
    out += fmt::format("majority class test {:.4f}\n", *status.majority_test);
  if (status.best_predicts_one_class) {
    out += fmt::format("warning: {}\n", runs::one_class_warning("the best checkpoint", "test"));
  }
  return out;
}

std::string build_run_page(const runs::RunFolder& run, bool has_memory) {
  const auto status = run_status(run);
  std::string html = page_head("lunar run " + run.dir.filename().string());
  html += run_header(run, status, has_memory);
  html += learning_curves(run, status);
  html += collapse_section(run, has_memory);
  if (has_memory) html += heatmap_rows(run);
  html += "<details><summary>config.toml</summary>\n<pre>" + escape_html(run.config_text) +
          "</pre></details>\n";
  return html + "</body></html>\n";
}

}  // namespace lunar::report
