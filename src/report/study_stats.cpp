// Friedman + exact Holm post-hoc and one-sided Wilcoxon over the blocks (task, seed) of a
// results table, and how the report words their results.
#include "lunar/report/study_stats.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "lunar/core/error.h"
#include "lunar/stats/wilcoxon.h"

namespace lunar::report {

namespace {

using Block = std::pair<std::string, int64_t>;  // task, seed

// Results of `model` by block.
std::map<Block, double> by_block(const ResultTable& table, const ModelKey& model) {
  std::map<Block, double> out;
  for (const auto& task : table.tasks) {
    if (const Cell* cell = table.cell(model, task)) {
      for (const auto& [seed, value] : cell->best_by_seed) out[{task, seed}] = value;
    }
  }
  return out;
}

void add_friedman(StudyStatistics& out, const ResultTable& table,
                  const std::vector<ModelKey>& treatments, const std::vector<std::string>& names,
                  const std::string& title) {
  if (treatments.size() < 2) return;
  std::vector<std::map<Block, double>> results;
  for (const auto& model : treatments) results.push_back(by_block(table, model));
  stats::ResultMatrix blocks;
  for (const auto& [block, value] : results[0]) {
    std::vector<double> row{value};
    for (size_t j = 1; j < results.size(); ++j) {
      const auto found = results[j].find(block);
      if (found == results[j].end()) break;
      row.push_back(found->second);
    }
    if (row.size() == treatments.size()) blocks.push_back(row);
  }
  if (blocks.size() < 2) return;
  FriedmanStudy study;
  study.title = title;
  study.names = names;
  study.blocks = static_cast<int64_t>(blocks.size());
  study.friedman = stats::friedman_test(blocks, stats::Direction::kHigherIsBetter);
  study.holm = stats::p_value_matrix(
      stats::friedman_posthoc(study.friedman, names, kAlpha, stats::PostHocP::kExact), names);
  out.friedman.push_back(study);
}

void add_wilcoxon(StudyStatistics& out, const ResultTable& table,
                  const std::vector<ModelKey>& models, const std::string& title) {
  if (models.size() < 2) return;
  WilcoxonStudy study;
  study.title = title;
  const size_t k = models.size();
  std::vector<std::map<Block, double>> results;
  for (const auto& model : models) {
    study.names.push_back(model.label());
    results.push_back(by_block(table, model));
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  study.p.assign(k, std::vector<double>(k, nan));
  study.pairs.assign(k, std::vector<int64_t>(k, 0));
  stats::WilcoxonOptions greater;
  greater.alternative = stats::Alternative::kGreater;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      if (i == j) continue;
      std::vector<double> x, y;
      bool all_zero = true;
      for (const auto& [block, value] : results[i]) {
        const auto found = results[j].find(block);
        if (found == results[j].end()) continue;
        x.push_back(value);
        y.push_back(found->second);
        all_zero = all_zero && value == found->second;
      }
      study.pairs[i][j] = static_cast<int64_t>(x.size());
      if (x.size() < 2) continue;
      study.p[i][j] = all_zero ? 1.0 : stats::wilcoxon_signed_rank(x, y, greater).p_value;
    }
  }
  out.wilcoxon.push_back(study);
}

}  // namespace

std::string p_text(double p) {
  if (!std::isfinite(p)) return "–";
  return p < 0.001 ? fmt::format("{:.1e}", p) : fmt::format("{:.4f}", p);
}

std::string friedman_verdict(const FriedmanStudy& study) {
  const double smallest =
      stats::friedman_smallest_p(static_cast<int64_t>(study.names.size()), study.blocks);
  if (smallest > kAlpha)
    return fmt::format("n too small (smallest possible p {})", p_text(smallest));
  const double p = std::isfinite(study.friedman.exact_p_value)
                       ? study.friedman.exact_p_value
                       : study.friedman.iman_davenport_p_value;
  return p <= kAlpha ? "significant" : "not significant";
}

std::string wilcoxon_text(double p, int64_t pairs) {
  if (std::isfinite(p) &&
      stats::wilcoxon_smallest_p(pairs, stats::Alternative::kGreater) > kAlpha) {
    return "n too small";
  }
  return p_text(p);
}

StudyStatistics study_statistics(const ResultTable& table) {
  StudyStatistics out;
  // Across memory sizes, per model with memory.
  std::vector<std::string> architectures;
  for (const auto& model : table.models) {
    if (model.memory_len > 0 &&
        (architectures.empty() || architectures.back() != model.architecture)) {
      architectures.push_back(model.architecture);
    }
  }
  for (const auto& architecture : architectures) {
    std::vector<ModelKey> sizes;
    std::vector<std::string> names;
    for (const auto& model : table.models) {
      if (model.architecture == architecture) {
        sizes.push_back(model);
        names.push_back(fmt::format("M={}", model.memory_len));
      }
    }
    add_friedman(out, table, sizes, names, architecture + ": memory sizes");
  }
  // Across models, per memory size; models without a memory (the Transformer) join every one.
  std::set<int64_t> memory_sizes;
  for (const auto& model : table.models) {
    if (model.memory_len > 0) memory_sizes.insert(model.memory_len);
  }
  for (const int64_t m : memory_sizes) {
    std::vector<ModelKey> models;
    std::vector<std::string> names;
    for (const auto& model : table.models) {
      if (model.memory_len == m || model.memory_len == 0) {
        models.push_back(model);
        names.push_back(model.architecture);
      }
    }
    add_friedman(out, table, models, names, fmt::format("M = {}: models", m));
    add_wilcoxon(out, table, models, fmt::format("M = {}: row > column", m));
  }
  return out;
}

}  // namespace lunar::report
