// Aggregation of synthetic run directories: mean ± std by hand, Markdown and CSV tables, mean
// curves, the statistics on a table whose answers are known in closed form, and the HTML.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "lunar/core/error.h"
#include "lunar/report/aggregate.h"
#include "lunar/report/collapse_table.h"
#include "lunar/report/html.h"
#include "lunar/report/study_stats.h"
#include "lunar/report/svg.h"
#include "lunar/runs/run_folder.h"

namespace fs = std::filesystem;
using namespace lunar::report;

namespace {

bool has_memory(const std::string& architecture) { return architecture != "transformer"; }

class AggregateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / "lunar_aggregate_test";
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A run directory with the files the trainer writes; best < 0 leaves it unfinished.
  fs::path make_run(const std::string& name, const std::string& architecture, int memory, int seed,
                    double best, double last, const std::string& metrics = "") {
    const auto dir = root_ / name;
    fs::create_directories(dir);
    std::ofstream(dir / "config.toml")
        << "run_dir = \"" << dir.string() << "\"\n[model]\narchitecture = \"" << architecture
        << "\"\n[model.luna]\nmemory_len = " << memory
        << "\n[task]\nname = \"listops\"\n[train]\nseed = " << seed << "\n";
    if (best >= 0) {
      std::ofstream(dir / "summary.json")
          << "{\"steps\": 200, \"best_step\": 100, \"best_validation_accuracy\": 0.3,"
          << " \"test_accuracy_best\": " << best << ", \"test_accuracy_last\": " << last
          << ", \"majority_rate\": 0.17, \"seconds\": 12.5}\n";
    }
    std::ofstream(dir / "metrics.jsonl") << metrics;
    return dir;
  }

  fs::path root_;
};

TEST_F(AggregateTest, MeanAndStdOverSeedsByHand) {
  // best 30, 32, 37 %: mean 33, deviations -3, -1, 4, sum of squares 26, std sqrt(13) = 3.6056.
  // last 25, 25, 28 %: mean 26, sum of squares 6, std sqrt(3) = 1.7321.
  make_run("luna_M8_seed0", "luna", 8, 0, 0.30, 0.25);
  make_run("luna_M8_seed1", "luna", 8, 1, 0.32, 0.25);
  make_run("luna_M8_seed2", "luna", 8, 2, 0.37, 0.28);
  make_run("transformer_seed0", "transformer", 16, 0, 0.40, 0.38);
  make_run("luna_M8_seed3", "luna", 8, 3, -1, -1);  // unfinished
  const auto runs = lunar::runs::read_run_folders(root_);
  ASSERT_EQ(runs.size(), 5u);
  const auto table = aggregate(runs, has_memory);
  ASSERT_EQ(table.models.size(), 2u);
  EXPECT_EQ(table.models[0].label(), "luna-8");
  EXPECT_EQ(table.models[1].label(), "transformer");  // no memory size for memory-less models
  ASSERT_EQ(table.unfinished.size(), 1u);
  EXPECT_EQ(table.unfinished[0]->dir.filename(), "luna_M8_seed3");
  EXPECT_EQ(to_markdown(table, Metric::kBest),
            "| model | listops |\n|---|---|\n| luna-8 | 33.00 ± 3.61 |\n"
            "| transformer | 40.00 (n=1) |\n| majority class | 17.00 |\n");
  EXPECT_EQ(to_markdown(table, Metric::kLast),
            "| model | listops |\n|---|---|\n| luna-8 | 26.00 ± 1.73 |\n"
            "| transformer | 38.00 (n=1) |\n| majority class | 17.00 |\n");
  EXPECT_EQ(to_csv(table),
            "model,task,seeds,best_mean,best_std,last_mean,last_std\n"
            "luna-8,listops,3,33.0000,3.6056,26.0000,1.7321\n"
            "transformer,listops,1,40.0000,,38.0000,\n");
}

TEST_F(AggregateTest, TwoRunsOfOneSettingAndSeedAreAnError) {
  make_run("a", "luna", 8, 0, 0.3, 0.3);
  make_run("b", "luna", 8, 0, 0.4, 0.4);
  const auto runs = lunar::runs::read_run_folders(root_);
  try {
    aggregate(runs, has_memory);
    FAIL() << "expected an error";
  } catch (const lunar::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find((root_ / "a").string()), std::string::npos) << message;
    EXPECT_NE(message.find((root_ / "b").string()), std::string::npos) << message;
  }
}

TEST_F(AggregateTest, MalformedFilesNameFileAndLine) {
  make_run("r", "luna", 8, 0, 0.3, 0.3,
           "{\"step\":1,\"split\":\"val\",\"accuracy\":0.5}\n{\"step\":\"x\",\"split\":\"val\"}\n"
           "{\"step\":3,\"split\":\"val\",\"accuracy\":0.5}\n");
  try {
    lunar::runs::read_run_folder(root_ / "r");
    FAIL() << "expected an error";
  } catch (const lunar::DataError& error) {
    EXPECT_EQ(error.line(), 2);
    EXPECT_EQ(error.field(), "step");
    EXPECT_EQ(error.path(), (root_ / "r" / "metrics.jsonl").string());
  }
  // A torn final line (a killed run) is ignored.
  make_run("t", "luna", 8, 0, 0.3, 0.3, "{\"step\":1,\"split\":\"val\",\"accuracy\":0.5}\n{\"st");
  EXPECT_EQ(lunar::runs::read_run_folder(root_ / "t").metrics.size(), 1u);
  std::ofstream(root_ / "t" / "config.toml") << "[model]\narchitecture = 3\n";
  EXPECT_THROW(lunar::runs::read_run_folder(root_ / "t"), lunar::DataError);
}

TEST_F(AggregateTest, MeanCurveKeepsStepsEveryRunHas) {
  make_run("s0", "luna", 8, 0, 0.3, 0.3,
           "{\"step\":100,\"split\":\"val\",\"accuracy\":0.2}\n"
           "{\"step\":100,\"split\":\"train\",\"accuracy\":0.9}\n"
           "{\"step\":200,\"split\":\"val\",\"accuracy\":0.4}\n");
  make_run("s1", "luna", 8, 1, 0.3, 0.3,
           "{\"step\":100,\"split\":\"val\",\"accuracy\":0.3}\n"
           "{\"step\":200,\"split\":\"val\",\"accuracy\":0.6}\n");
  make_run("s2", "luna", 8, 2, 0.3, 0.3, "{\"step\":100,\"split\":\"val\",\"accuracy\":0.4}\n");
  const auto runs = lunar::runs::read_run_folders(root_);
  const std::vector<const lunar::runs::RunFolder*> all{&runs[0], &runs[1], &runs[2]};
  const auto curve = mean_curve(all, "val", "accuracy");
  ASSERT_EQ(curve.steps.size(), 1u);  // step 200 is missing from s2
  EXPECT_EQ(curve.steps[0], 100);
  EXPECT_NEAR(curve.mean[0], 0.3, 1e-12);
  EXPECT_NEAR(curve.stddev[0], 0.1, 1e-12);  // (0.2, 0.3, 0.4): sqrt((0.01 + 0 + 0.01) / 2)
  const auto two = mean_curve({&runs[0], &runs[1]}, "val", "accuracy");
  ASSERT_EQ(two.steps.size(), 2u);
  EXPECT_NEAR(two.mean[1], 0.5, 1e-12);
  EXPECT_NEAR(two.stddev[1], std::sqrt(0.02), 1e-12);
}

TEST_F(AggregateTest, OneClassFlagFromTheSummaryOrFromTheMajorityRateOfOlderOnes) {
  const auto older_at = make_run("a", "luna", 1, 0, 0.17, 0.2);  // no flag, at the majority rate
  const auto older_above = make_run("b", "luna", 1, 1, 0.3, 0.2);
  EXPECT_TRUE(lunar::runs::read_run_folder(older_at).results->best_predicts_one_class);
  EXPECT_FALSE(lunar::runs::read_run_folder(older_above).results->best_predicts_one_class);
  const auto write = [](const fs::path& dir, const std::string& flag) {
    std::ofstream(dir / "summary.json")
        << "{\"steps\": 200, \"best_step\": 100, \"best_validation_accuracy\": 0.3,"
        << " \"test_accuracy_best\": 0.17, \"test_accuracy_last\": 0.2, \"majority_rate\": 0.17,"
        << " \"seconds\": 1, \"best_predicts_one_class\": " << flag << "}\n";
  };
  write(older_at, "false");  // at the majority rate by chance, with several classes predicted
  EXPECT_FALSE(lunar::runs::read_run_folder(older_at).results->best_predicts_one_class);
  write(older_at, "true");
  EXPECT_TRUE(lunar::runs::read_run_folder(older_at).results->best_predicts_one_class);
  write(older_at, "1");
  try {
    lunar::runs::read_run_folder(older_at);
    ADD_FAILURE() << "a non-boolean flag must be refused";
  } catch (const lunar::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("best_predicts_one_class"), std::string::npos)
        << error.what();
  }
}

TEST_F(AggregateTest, SeedsAtTheMajorityRateAreFlagged) {
  // make_run's majority rate is 0.17: seed 0 predicts one class at its best checkpoint, seeds 0
  // and 1 at the last step.
  make_run("luna_M1_seed0", "luna", 1, 0, 0.17, 0.17);
  make_run("luna_M1_seed1", "luna", 1, 1, 0.30, 0.17);
  make_run("luna_M1_seed2", "luna", 1, 2, 0.32, 0.20);
  const auto runs = lunar::runs::read_run_folders(root_);
  const auto table = aggregate(runs, has_memory);
  const Cell* cell = table.cell(table.models[0], "listops");
  ASSERT_NE(cell, nullptr);
  EXPECT_EQ(at_majority(*cell, Metric::kBest), 1u);
  EXPECT_EQ(at_majority(*cell, Metric::kLast), 2u);
  EXPECT_NEAR(majority_rate(table, "listops"), 0.17, 1e-12);
  EXPECT_TRUE(std::isnan(majority_rate(table, "text")));
  // best 17, 30, 32: mean 26.33, deviations -9.33, 3.67, 5.67, std sqrt(132.67 / 2) = 8.14.
  EXPECT_EQ(to_markdown(table, Metric::kBest),
            "| model | listops |\n|---|---|\n| luna-1 | 26.33 ± 8.14 (1/3 at majority) |\n"
            "| majority class | 17.00 |\n");
}

TEST_F(AggregateTest, CollapseTableByHand) {
  // Two seeds of luna-4 logging P and block1 metrics at steps 0 and 100 and the gradient at
  // step 100 only; M = 1 has nothing to collapse and is left out.
  const auto diag = [](double cosine, double fraction, bool grad, int step) {
    return fmt::format(
        "{{\"step\":{},\"split\":\"diag\",\"initial.mean_cosine\":{},"
        "\"initial.effective_rank\":3.5,{}\"block0.mean_cosine\":0.5,"
        "\"block1.mean_cosine\":{},\"block1.distinct_fraction\":{},"
        "\"block1.effective_rank\":2.0}}\n",
        step, cosine, grad ? "\"grad.mean_cosine\":0.9,\"grad.effective_rank\":1.5," : "", cosine,
        fraction);
  };
  make_run("a", "luna", 4, 0, 0.3, 0.3, diag(0.1, 1.0, false, 0) + diag(0.5, 0.5, true, 100));
  make_run("b", "luna", 4, 1, 0.3, 0.3, diag(0.3, 1.0, false, 0) + diag(0.7, 0.25, true, 100));
  make_run("c", "luna", 1, 0, 0.3, 0.3, diag(1.0, 1.0, false, 0));
  const auto runs = lunar::runs::read_run_folders(root_);
  const auto table = aggregate(runs, has_memory);
  EXPECT_EQ(last_block(table), "block1");
  // Step 0: cosine (0.1, 0.3) -> 0.200 ± 0.141; step 100: (0.5, 0.7) -> 0.600 ± 0.141; distinct
  // rows 4 · (0.5, 0.25) = (2, 1) -> 1.5 ± 0.7.
  EXPECT_EQ(collapse_markdown(table),
            "Memory collapse on listops (mean ± std over seeds; P = the learned memory, ∇P its "
            "gradient, block1 = the last block's output memory)\n\n"
            "| model | step | P cosine | P eff. rank | ∇P cosine | ∇P eff. rank | block1 cosine | "
            "block1 distinct rows | block1 eff. rank |\n|---|---|---|---|---|---|---|---|---|\n"
            "| luna-4 | 0 | 0.200 ± 0.141 | 3.50 ± 0.00 | – | – | 0.200 ± 0.141 | 4.0 ± 0.0 | "
            "2.00 ± 0.00 |\n"
            "| luna-4 | 100 | 0.600 ± 0.141 | 3.50 ± 0.00 | 0.900 ± 0.000 | 1.50 ± 0.00 | "
            "0.600 ± 0.141 | 1.5 ± 0.7 | 2.00 ± 0.00 |\n\n");
  make_run("t", "transformer", 0, 0, 0.3, 0.3);
  const auto no_diag = lunar::runs::read_run_folders(root_ / "t");
  EXPECT_EQ(collapse_markdown(aggregate(no_diag, has_memory)), "");
}

TEST_F(AggregateTest, StatisticsOfConsistentWinnersAndTies) {
  // In every one of 5 seeds: luna-8 = convluna-8 > luna-1 > convluna-1, with luna-1 - convluna-1
  // = 0.01 (seed + 1), distinct and positive. A consistent winner of two treatments over n = 5
  // blocks (rank sums 5 and 10) gives Friedman chi2 = 12 / (n k (k + 1)) (5^2 + 10^2) -
  // 3 n (k + 1) = 50 - 45 = 5, p = P(chi2_1 > 5) = 0.0253473 (scipy.stats.chi2.sf(5, 1)); a tie in
  // every block gives chi2 = 0. One-sided Wilcoxon with 5 positive distinct differences: exact
  // p = 1 / 2^5 = 0.03125; the reverse (W+ = 0): p = 1.
  for (int seed = 0; seed < 5; ++seed) {
    const auto s = std::to_string(seed);
    make_run("c1_" + s, "convluna", 1, seed, 0.19, 0.2);
    make_run("c8_" + s, "convluna", 8, seed, 0.30 + 0.02 * seed, 0.2);
    make_run("l1_" + s, "luna", 1, seed, 0.19 + 0.01 * (seed + 1), 0.2);
    make_run("l8_" + s, "luna", 8, seed, 0.30 + 0.02 * seed, 0.2);
  }
  const auto runs = lunar::runs::read_run_folders(root_);
  const auto table = aggregate(runs, has_memory);
  const auto statistics = study_statistics(table);
  ASSERT_EQ(statistics.friedman.size(), 4u);
  const std::vector<std::string> titles = {"convluna: memory sizes", "luna: memory sizes",
                                           "M = 1: models", "M = 8: models"};
  const std::vector<double> chi_square = {5.0, 5.0, 5.0, 0.0};
  for (size_t i = 0; i < 4; ++i) {
    const auto& study = statistics.friedman[i];
    EXPECT_EQ(study.title, titles[i]);
    EXPECT_EQ(study.blocks, 5);
    EXPECT_NEAR(study.friedman.chi_square, chi_square[i], 1e-12) << study.title;
  }
  EXPECT_NEAR(statistics.friedman[0].friedman.chi_square_p_value, 0.0253473, 1e-6);
  EXPECT_NEAR(statistics.friedman[3].friedman.chi_square_p_value, 1.0, 1e-12);
  EXPECT_EQ(statistics.friedman[1].names, (std::vector<std::string>{"M=1", "M=8"}));
  EXPECT_NEAR(statistics.friedman[1].friedman.average_ranks[1], 1.0, 1e-12);  // M=8 ranks first
  // Two treatments over 5 blocks cannot reach 0.05 exactly: (1/2!)^4 = 0.0625 at best, which
  // the consistent winner gets, post-hoc too (the sign test: 2 of 2^5 arrangements).
  EXPECT_EQ(friedman_verdict(statistics.friedman[0]), "n too small (smallest possible p 0.0625)");
  EXPECT_NEAR(statistics.friedman[0].friedman.exact_p_value, 0.0625, 1e-12);
  EXPECT_NEAR(statistics.friedman[0].holm.values[0][1], 0.0625, 1e-12);
  EXPECT_EQ(friedman_verdict(statistics.friedman[3]), "n too small (smallest possible p 0.0625)");

  ASSERT_EQ(statistics.wilcoxon.size(), 2u);
  const auto& m1 = statistics.wilcoxon[0];
  EXPECT_EQ(m1.names, (std::vector<std::string>{"convluna-1", "luna-1"}));
  EXPECT_NEAR(m1.p[1][0], 0.03125, 1e-12);  // luna-1 > convluna-1
  EXPECT_NEAR(m1.p[0][1], 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(m1.p[0][0]));
  EXPECT_EQ(m1.pairs[1][0], 5);
  const auto& m8 = statistics.wilcoxon[1];
  EXPECT_DOUBLE_EQ(m8.p[0][1], 1.0);  // every difference is zero
  EXPECT_DOUBLE_EQ(m8.p[1][0], 1.0);
  EXPECT_EQ(wilcoxon_text(m1.p[1][0], 5), "0.0312");
  EXPECT_EQ(wilcoxon_text(0.0625, 4), "n too small");  // 2^-4 is the best 4 pairs can give
  EXPECT_EQ(wilcoxon_text(std::nan(""), 1), "–");
}

TEST(Statistics, VerdictsOfEnoughBlocks) {
  FriedmanStudy study;
  study.names = {"a", "b", "c"};
  study.blocks = 5;  // (1/3!)^4 = 7.7e-4: enough
  study.friedman.exact_p_value = 0.04;
  EXPECT_EQ(friedman_verdict(study), "significant");
  study.friedman.exact_p_value = 0.2;
  EXPECT_EQ(friedman_verdict(study), "not significant");
  study.friedman.exact_p_value = std::nan("");  // too many arrangements: the F test decides
  study.friedman.iman_davenport_p_value = 0.01;
  EXPECT_EQ(friedman_verdict(study), "significant");
  EXPECT_EQ(p_text(0.00012), "1.2e-04");
  EXPECT_EQ(p_text(0.5), "0.5000");
}

TEST(Statistics, PValueHeatmapHasTheTablesTextAGreyDiagonalAndAScale) {
  const auto svg = p_value_heatmap_svg("t", {"a", "b"}, {{1.0, 0.0625}, {0.0625, 1.0}});
  size_t dashes = 0;
  for (size_t at = svg.find(">–<"); at != std::string::npos; at = svg.find(">–<", at + 1)) {
    ++dashes;
  }
  EXPECT_EQ(dashes, 2u);  // the diagonal, as the Wilcoxon heatmaps draw it
  EXPECT_NE(svg.find(">0.0625<"), std::string::npos);
  EXPECT_EQ(svg.find(">1.0000<"), std::string::npos);
  EXPECT_NE(svg.find("p (bold: ≤ 0.05)"), std::string::npos);
  EXPECT_NE(svg.find(">≤ 0.001<"), std::string::npos);
}

TEST_F(AggregateTest, HtmlIsSelfContained) {
  for (int seed = 0; seed < 2; ++seed) {
    const auto dir = make_run("r" + std::to_string(seed), "luna", 8, seed, 0.3 + 0.1 * seed, 0.3,
                              "{\"step\":0,\"split\":\"diag\",\"initial.mean_cosine\":0.1,"
                              "\"block0.mean_cosine\":0.2}\n"
                              "{\"step\":100,\"split\":\"val\",\"accuracy\":0.25}\n"
                              "{\"step\":100,\"split\":\"diag\",\"initial.mean_cosine\":0.5,"
                              "\"block0.mean_cosine\":0.7}\n");
    fs::create_directories(dir / "heatmaps");
    std::ofstream(dir / "heatmaps" / "memory_step000000.png", std::ios::binary) << "Man";
  }
  const auto runs = lunar::runs::read_run_folders(root_);
  const auto table = aggregate(runs, has_memory);
  const auto statistics = study_statistics(table);
  ReportInput input;
  input.source = "runs/x";
  input.table = &table;
  input.statistics = &statistics;
  const auto html = build_html(input);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("35.00 ± 7.07"), std::string::npos);  // (30, 40): std sqrt(50)
  EXPECT_NE(html.find("validation accuracy"), std::string::npos);
  EXPECT_NE(html.find("P mean cosine"), std::string::npos);
  EXPECT_NE(html.find("block0 memory mean cosine"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,TWFu"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

// The validation chart carries the majority-class line its runs' pages carry: the validation
// split's rate from the step-0 "data" line, else the test split's from summary.json.
TEST_F(AggregateTest, ValidationChartCarriesTheMajorityClassLine) {
  const auto html_of_runs = [&](const std::string& data_line) {
    fs::remove_all(root_);
    for (int seed = 0; seed < 2; ++seed) {
      make_run("r" + std::to_string(seed), "luna", 8, seed, 0.3, 0.3,
               data_line + "{\"step\":100,\"split\":\"val\",\"accuracy\":0.25}\n");
    }
    const auto runs = lunar::runs::read_run_folders(root_);
    const auto table = aggregate(runs, has_memory);
    ReportInput input;
    input.source = "runs/x";
    input.table = &table;
    return build_html(input);
  };
  const auto with_data = html_of_runs(
      "{\"step\":0,\"split\":\"data\",\"majority_val\":0.21,\"majority_test\":0.17}\n");
  EXPECT_NE(with_data.find(">majority class (validation) 0.2100</text>"), std::string::npos);
  const auto older = html_of_runs("");
  EXPECT_EQ(older.find("majority class (validation)"), std::string::npos);
  EXPECT_NE(older.find(">majority class (test) 0.1700</text>"), std::string::npos);
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\x10", 3)), "/wAQ");
}

}  // namespace
