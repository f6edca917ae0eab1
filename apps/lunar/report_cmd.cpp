// `lunar report`: results tables, statistics and the HTML report of a folder of runs, or the page
// of a single run (a folder holding config.toml itself), finished or still training.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.h"
#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/models/registry.h"
#include "lunar/report/aggregate.h"
#include "lunar/report/collapse_table.h"
#include "lunar/report/html.h"
#include "lunar/report/run_page.h"
#include "lunar/report/study_stats.h"
#include "lunar/runs/layout.h"
#include "lunar/runs/run_folder.h"

namespace lunar::cli {

namespace {
namespace fs = std::filesystem;

struct ReportOptions {
  std::string runs;
  std::string out;
  std::string table;
  std::string title = "lunar study report";
  bool stats = false;
};

std::string markdown_tables(const report::ResultTable& table) {
  return "Test accuracy (%) at the best validation checkpoint, mean ± std over seeds\n\n" +
         report::to_markdown(table, report::Metric::kBest) +
         "\nTest accuracy (%) at the last step\n\n" +
         report::to_markdown(table, report::Metric::kLast);
}

std::string statistics_text(const report::StudyStatistics& statistics) {
  std::string out;
  for (const auto& study : statistics.friedman) {
    out += fmt::format(
        "Friedman {} ({} blocks): chi2 = {:.3f}, p = {}; Iman-Davenport F = {:.3f}, "
        "p = {}; exact p = {}; {}; average ranks",
        study.title, study.blocks, study.friedman.chi_square,
        report::p_text(study.friedman.chi_square_p_value), study.friedman.iman_davenport_f,
        report::p_text(study.friedman.iman_davenport_p_value),
        report::p_text(study.friedman.exact_p_value), report::friedman_verdict(study));
    for (size_t i = 0; i < study.names.size(); ++i) {
      out += fmt::format(" {} {:.2f}", study.names[i], study.friedman.average_ranks[i]);
    }
    out += "\n  Holm-adjusted exact post-hoc p:";
    for (size_t i = 0; i < study.names.size(); ++i) {
      for (size_t j = i + 1; j < study.names.size(); ++j) {
        out += fmt::format(" {} vs {} {};", study.names[i], study.names[j],
                           report::p_text(study.holm.values[i][j]));
      }
    }
    out += "\n";
  }
  for (const auto& study : statistics.wilcoxon) {
    out += fmt::format("Wilcoxon one-sided {}:", study.title);
    for (size_t i = 0; i < study.names.size(); ++i) {
      for (size_t j = 0; j < study.names.size(); ++j) {
        if (i == j) continue;
        out +=
            fmt::format(" {} > {} p = {} (n={});", study.names[i], study.names[j],
                        report::wilcoxon_text(study.p[i][j], study.pairs[i][j]), study.pairs[i][j]);
      }
    }
    out += "\n";
  }
  return out;
}

void study_report(const ReportOptions& options) {
  check(options.table.empty() || options.table == "md" || options.table == "csv",
        "[report] --table: expected md or csv, got '{}'", options.table);
  const auto runs = runs::read_run_folders(options.runs);
  const auto table = report::aggregate(runs, [](const std::string& architecture) {
    return models::find_architecture(architecture).has_memory;
  });
  check(!table.cells.empty(),
        "[report] expected finished runs (with summary.json) under '{}', "
        "got {} unfinished",
        options.runs, table.unfinished.size());
  const auto statistics = report::study_statistics(table);
  if (options.table == "md") fmt::print("{}", markdown_tables(table));
  if (options.table == "csv") fmt::print("{}", report::to_csv(table));
  if (options.stats) fmt::print("{}", statistics_text(statistics));
  if (!options.out.empty()) {
    const fs::path out = options.out;
    report::ReportInput input;
    input.title = options.title;
    input.source = fs::absolute(options.runs).lexically_normal().string();
    input.table = &table;
    input.statistics = &statistics;
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    write_atomically(out, report::build_html(input));
    auto stem = out;
    const auto collapse = report::collapse_markdown(table);
    write_atomically(stem.replace_extension(".md"), markdown_tables(table) + "\n" +
                                                        statistics_text(statistics) +
                                                        (collapse.empty() ? "" : "\n" + collapse));
    write_atomically(stem.replace_extension(".csv"), report::to_csv(table));
    fmt::print("lunar report: {} runs ({} unfinished) -> {} (+ {} and {})\n", runs.size(),
               table.unfinished.size(), out.string(), out.stem().string() + ".md",
               out.stem().string() + ".csv");
  }
  if (options.table.empty() && options.out.empty() && !options.stats) {
    fmt::print("{}\n{}", markdown_tables(table), statistics_text(statistics));
  }
}

// One run: its page with --out (re-running it on a live run refreshes the page), else a summary.
void run_page(const ReportOptions& options) {
  check(options.table.empty() && !options.stats,
        "[report] expected --table and --stats with a folder of runs, got them with the single "
        "run '{}'",
        options.runs);
  const auto run = runs::read_run_folder(options.runs);
  const bool has_memory = models::find_architecture(run.architecture).has_memory;
  if (options.out.empty()) {
    fmt::print("{}", report::run_summary_text(run, has_memory));
    return;
  }
  const fs::path out = options.out;
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_atomically(out, report::build_run_page(run, has_memory));
  fmt::print("lunar report: run {} ({}) -> {}\n", options.runs,
             run.results ? "finished" : "in progress", out.string());
}

void run_report(const ReportOptions& options) {
  if (runs::is_run_dir(options.runs)) {
    run_page(options);
  } else {
    study_report(options);
  }
}
}  // namespace

void register_report(CLI::App& app) {
  auto options = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand(
      "report", "Tables, statistics and an HTML report of a study, or the page of one run");
  cmd->add_option("--runs", options->runs,
                  "folder of run directories (a sweep's --out), or one run directory")
      ->required();
  cmd->add_option("--out", options->out,
                  "HTML page to write; for a study the tables go beside it as .md and .csv");
  cmd->add_option("--table", options->table, "print the results table: md | csv");
  cmd->add_flag("--stats", options->stats, "print the Friedman, Holm and Wilcoxon results");
  cmd->add_option("--title", options->title, "study report title")->capture_default_str();
  cmd->callback([options] { run_report(*options); });
}

}  // namespace lunar::cli
