// Summaries of a loaded task for `lunar data check`.
#include "lunar/data/check.h"

#include <algorithm>
#include <cmath>

#include "lunar/core/error.h"

namespace lunar::data {
namespace {

LengthSummary summarize_lengths(const std::vector<Example>& examples, bool second,
                                int64_t max_length) {
  std::vector<int64_t> lengths;
  lengths.reserve(examples.size());
  LengthSummary summary;
  for (const auto& example : examples) {
    const auto length =
        static_cast<int64_t>(second ? example.tokens2.size() : example.tokens.size());
    lengths.push_back(length);
    if (length >= max_length) ++summary.at_max_length;
  }
  std::sort(lengths.begin(), lengths.end());
  summary.p50 = percentile(lengths, 50);
  summary.p90 = percentile(lengths, 90);
  summary.p99 = percentile(lengths, 99);
  summary.max = lengths.empty() ? 0 : lengths.back();
  return summary;
}

}  // namespace

int64_t percentile(std::vector<int64_t> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<int64_t>(std::ceil(q / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<int64_t>(rank - 1, 0, static_cast<int64_t>(values.size()) - 1)];
}

CheckReport summarize_task(const TaskData& data, const SplitCounts& expected) {
  CheckReport report;
  report.info = data.info;
  report.from_cache = data.from_cache;
  const std::vector<std::pair<std::string, const std::vector<Example>*>> splits = {
      {"train", &data.train}, {"validation", &data.validation}, {"test", &data.test}};
  const int64_t expected_counts[3] = {expected.train, expected.validation, expected.test};
  for (size_t s = 0; s < splits.size(); ++s) {
    const auto& [name, examples] = splits[s];
    SplitSummary summary;
    summary.name = name;
    summary.count = static_cast<int64_t>(examples->size());
    summary.expected = expected_counts[s];
    summary.label_counts.assign(data.info.num_classes, 0);
    for (const auto& example : *examples) {
      if (example.label < 0 || example.label >= data.info.num_classes) {
        report.differences.push_back(fmt::format("{}: label {} outside [0, {})", name,
                                                 example.label, data.info.num_classes));
        continue;
      }
      ++summary.label_counts[example.label];
    }
    summary.lengths = summarize_lengths(*examples, false, data.info.max_length);
    if (data.info.pair) summary.lengths2 = summarize_lengths(*examples, true, data.info.max_length);
    if (summary.count != summary.expected) {
      report.differences.push_back(fmt::format("{}: {} examples, the release has {} ({:+})", name,
                                               summary.count, summary.expected,
                                               summary.count - summary.expected));
    }
    if (data.info.pixels && summary.count > 0 && summary.lengths.p50 != data.info.max_length) {
      report.differences.push_back(fmt::format("{}: images of {} pixels, expected {}", name,
                                               summary.lengths.p50, data.info.max_length));
    }
    report.splits.push_back(std::move(summary));
  }
  return report;
}

std::string format_check_report(const CheckReport& report) {
  const auto& info = report.info;
  std::string out =
      fmt::format("task {}: vocab {}, {} classes, max length {}{}{}{}\n\n", info.name,
                  info.vocab_size, info.num_classes, info.max_length, info.pair ? ", pairs" : "",
                  info.pixels ? ", pixels" : "", report.from_cache ? " (from cache)" : "");
  out += fmt::format("{:<11} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>8}\n", "split", "count",
                     "release", "p50", "p90", "p99", "max", "at max");
  for (const auto& split : report.splits) {
    const auto& l = split.lengths;
    out += fmt::format("{:<11} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>8}\n", split.name,
                       split.count, split.expected, l.p50, l.p90, l.p99, l.max, l.at_max_length);
    if (info.pair) {
      const auto& m = split.lengths2;
      out += fmt::format("{:<11} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>8}\n", "  text2", "", "",
                         m.p50, m.p90, m.p99, m.max, m.at_max_length);
    }
  }
  out += "\nlabel balance (share of each class, %)\n";
  out += fmt::format("{:<11}", "split");
  for (int64_t c = 0; c < info.num_classes; ++c) out += fmt::format(" {:>5}", c);
  out += "\n";
  for (const auto& split : report.splits) {
    out += fmt::format("{:<11}", split.name);
    for (int64_t count : split.label_counts) {
      out += fmt::format(" {:>5.1f}", split.count > 0 ? 100.0 * count / split.count : 0.0);
    }
    out += "\n";
  }
  out += "\n";
  if (report.differences.empty()) {
    out += "counts match the release\n";
  } else {
    out += "differences from the release:\n";
    for (const auto& difference : report.differences) out += "  - " + difference + "\n";
  }
  return out;
}

}  // namespace lunar::data
