// `lunar report --runs RUN` on one run: the page of a run still training (written while it
// trains), refreshed once the run is resumed and finished; and the page in headless Chromium,
// whose screenshot must show the heatmap's pixels and the dashed majority-class line.
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lunar/report/svg.h"
#include "support/process.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::run_command;

std::string lunar() { return LUNAR_BINARY; }

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// The <svg> charts whose y axis reads "accuracy".
std::vector<std::string> accuracy_charts(const std::string& html) {
  std::vector<std::string> charts;
  for (auto begin = html.find("<svg"); begin != std::string::npos;
       begin = html.find("<svg", begin + 1)) {
    const auto chart = html.substr(begin, html.find("</svg>", begin) - begin);
    if (chart.find("rotate(-90)\" text-anchor=\"middle\">accuracy</text>") != std::string::npos) {
      charts.push_back(chart);
    }
  }
  return charts;
}

void expect_majority_line_on_every_accuracy_chart(const std::string& html) {
  const auto charts = accuracy_charts(html);
  EXPECT_GE(charts.size(), 1u);
  for (const auto& chart : charts) {
    EXPECT_NE(chart.find("stroke-dasharray"), std::string::npos) << chart;
    EXPECT_NE(chart.find(">majority class (validation) 0."), std::string::npos) << chart;
  }
}

class RunPage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / "lunar_run_page_e2e";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const auto generated =
        run_command(lunar() + " data listops --out " + (dir_ / "data").string() +
                    " --seed 3 --train 200 --val 48 --test 48 --min-len 20 --max-len 80");
    ASSERT_EQ(generated.code, 0) << generated.output;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static fs::path dir_;
};
fs::path RunPage::dir_;

TEST_F(RunPage, LivePageRefreshesUntilTheRunFinishes) {
  const auto run = dir_ / "luna";
  const auto page = run / "report.html";
  const std::string report = lunar() + " report --runs " + run.string() + " --out " + page.string();
  // Train "forever"; once the step-3 evaluation, diagnostics and heatmaps are written, build the
  // page while the run goes on, then stop it (SIGTERM: it saves a checkpoint and exits).
  const auto live = run_command(
      lunar() + " train --config " LUNAR_SOURCE_DIR "/configs/cpu/listops_luna.toml --run-dir " +
      run.string() + " --set task.path=" + (dir_ / "data").string() +
      " task.max_length=80 model.luna.memory_len=4 train.steps=100000 train.eval_every=3"
      " train.log_every=1 runtime.threads=1 'diag.heatmap_steps=[0,3]' > " +
      (dir_ / "train.log").string() + " 2>&1 & pid=$!; for i in $(seq 1200); do [ -f " +
      (run / "heatmaps" / "memory_grad_step000003.png").string() +
      " ] && grep -q '\"step\":3,\"split\":\"diag\"' " + (run / "metrics.jsonl").string() +
      " 2>/dev/null && break; sleep 0.1; done; " + report + "; echo \"report=$?\"; " + lunar() +
      " report --runs " + run.string() + "; kill -TERM $pid; wait $pid");
  ASSERT_NE(live.output.find("report=0"), std::string::npos) << live.output;
  EXPECT_NE(live.output.find("(in progress) -> " + page.string()), std::string::npos);
  EXPECT_NE(live.output.find("of 100000, in progress"), std::string::npos) << live.output;
  EXPECT_NE(live.output.find("majority class validation 0."), std::string::npos) << live.output;
  const auto before = read(page);
  EXPECT_NE(before.find("in progress — re-run <code>lunar report</code> to refresh"),
            std::string::npos);
  EXPECT_NE(before.find(" of 100000</td>"), std::string::npos);
  EXPECT_EQ(before.find("<th>test accuracy</th>"), std::string::npos);
  EXPECT_EQ(count(before, "data:image/png;base64,"), 3u);  // P at 0 and 3, its gradient at 3
  EXPECT_NE(before.find("Mean off-diagonal cosine of memory rows"), std::string::npos);
  expect_majority_line_on_every_accuracy_chart(before);
  EXPECT_FALSE(fs::exists(run / "summary.json"));

  // Resume to a few steps past where it stopped, with a heatmap at the last step.
  const auto log = read(dir_ / "train.log");
  const auto stopped_at = log.find("interrupted at step ");
  ASSERT_NE(stopped_at, std::string::npos) << log;
  const int64_t last = std::atoll(log.c_str() + stopped_at + 20) + 3;
  const auto resumed = run_command(lunar() + " train --resume --run-dir " + run.string() +
                                   " --set train.steps=" + std::to_string(last) +
                                   " 'diag.heatmap_steps=[0,3," + std::to_string(last) + "]'");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  const auto refreshed = run_command(report);
  ASSERT_EQ(refreshed.code, 0) << refreshed.output;
  EXPECT_NE(refreshed.output.find("(finished) -> "), std::string::npos) << refreshed.output;
  const auto after = read(page);
  EXPECT_NE(after, before);
  EXPECT_EQ(after.find("in progress"), std::string::npos);
  EXPECT_NE(after.find("<td>finished</td>"), std::string::npos);
  const auto steps = std::to_string(last);
  EXPECT_NE(after.find("<td>" + steps + " of " + steps + "</td>"), std::string::npos);
  EXPECT_NE(after.find("<th>test accuracy</th><td>0."), std::string::npos);
  EXPECT_NE(after.find(" at the best checkpoint, "), std::string::npos);
  EXPECT_EQ(count(after, "data:image/png;base64,"), 5u);  // + P and its gradient at the end
  EXPECT_NE(after.find("<figcaption>Gradient of P at step " + steps + "</figcaption>"),
            std::string::npos);
  expect_majority_line_on_every_accuracy_chart(after);
  // The resumed run kept the step-0 majority rates and logged them once.
  EXPECT_EQ(count(read(run / "metrics.jsonl"), "\"split\":\"data\""), 1u);
  const auto summary = run_command(lunar() + " report --runs " + run.string());
  EXPECT_NE(summary.output.find("of " + steps + ", finished"), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("test accuracy 0."), std::string::npos) << summary.output;
}

struct Rgb {
  int red, green, blue;
};

// 8-bit RGB pixels of a PNG file, row by row (libpng's simplified API).
std::vector<uint8_t> read_rgb(const fs::path& path, int& width, int& height) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    ADD_FAILURE() << path << ": " << image.message;
    return {};
  }
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  EXPECT_TRUE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) << image.message;
  width = static_cast<int>(image.width);
  height = static_cast<int>(image.height);
  return pixels;
}

bool near(const uint8_t* pixel, const Rgb& colour, int tolerance) {
  return std::abs(pixel[0] - colour.red) <= tolerance &&
         std::abs(pixel[1] - colour.green) <= tolerance &&
         std::abs(pixel[2] - colour.blue) <= tolerance;
}

// Whether a square of `side` pixels of exactly `colour` is somewhere in the image.
bool has_block(const std::vector<uint8_t>& rgb, int width, int height, const Rgb& colour,
               int side) {
  for (int y = 0; y + side <= height; y += side / 2) {
    for (int x = 0; x + side <= width; ++x) {
      bool uniform = true;
      for (int dy = 0; dy < side && uniform; ++dy) {
        for (int dx = 0; dx < side && uniform; ++dx) {
          uniform = near(&rgb[3 * ((y + dy) * width + x + dx)], colour, 0);
        }
      }
      if (uniform) return true;
    }
  }
  return false;
}

// The most dashes (runs of 4 to 9 pixels of `colour`) on one pixel row.
int most_dashes_in_a_row(const std::vector<uint8_t>& rgb, int width, int height,
                         const Rgb& colour) {
  int best = 0;
  for (int y = 0; y < height; ++y) {
    int dashes = 0, run = 0;
    for (int x = 0; x <= width; ++x) {
      if (x < width && near(&rgb[3 * (y * width + x)], colour, 24)) {
        ++run;
        continue;
      }
      dashes += run >= 4 && run <= 9;
      run = 0;
    }
    best = std::max(best, dashes);
  }
  return best;
}

TEST_F(RunPage, ScreenshotShowsTheHeatmapAndTheMajorityLine) {
  // A run folder as the trainer leaves it, with a heatmap of four flat quadrants.
  const auto run = dir_ / "synthetic";
  fs::create_directories(run / "heatmaps");
  std::ofstream(run / "config.toml")
      << "[model]\narchitecture = \"luna\"\n[model.luna]\nmemory_len = 4\n[task]\nname = "
         "\"listops\"\n[train]\nseed = 0\nsteps = 20\n";
  std::ofstream metrics(run / "metrics.jsonl");
  metrics << "{\"step\":0,\"split\":\"data\",\"majority_val\":0.3,\"majority_test\":0.3}\n";
  for (int step = 1; step <= 10; ++step) {
    metrics << "{\"step\":" << step << ",\"split\":\"train\",\"loss\":" << 2.0 - 0.05 * step
            << ",\"accuracy\":" << 0.4 + 0.02 * step << "}\n";
  }
  metrics << "{\"step\":10,\"split\":\"val\",\"accuracy\":0.6,\"loss\":1.4}\n";
  metrics.close();
  const Rgb quadrants[] = {{33, 102, 172}, {178, 24, 43}, {27, 120, 55}, {241, 163, 64}};
  const int width = 200, height = 100;
  std::vector<uint8_t> heatmap(3 * width * height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const auto& colour = quadrants[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)];
      uint8_t* pixel = &heatmap[3 * (y * width + x)];
      pixel[0] = colour.red, pixel[1] = colour.green, pixel[2] = colour.blue;
    }
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = PNG_FORMAT_RGB;
  ASSERT_TRUE(png_image_write_to_file(&image, (run / "heatmaps" / "memory_step000000.png").c_str(),
                                      0, heatmap.data(), 0, nullptr))
      << image.message;

  const auto page = run / "report.html";
  const auto built =
      run_command(lunar() + " report --runs " + run.string() + " --out " + page.string());
  ASSERT_EQ(built.code, 0) << built.output;
  const auto chromium = run_command("command -v chromium");
  ASSERT_EQ(chromium.code, 0)
      << "chromium is required for this test: install it with `sudo apt-get install -y chromium` "
         "(scripts/install-deps.sh does)";
  const auto shot = dir_ / "run_page.png";
  const auto browser =
      run_command("chromium --headless --disable-gpu --no-sandbox --user-data-dir=" +
                  (dir_ / "chromium-profile").string() +
                  " --force-device-scale-factor=1 --force-color-profile=srgb --hide-scrollbars"
                  " --enable-logging=stderr --v=0 --window-size=1200,1800 --screenshot=" +
                  shot.string() + " file://" + page.string());
  ASSERT_EQ(browser.code, 0) << browser.output;
  EXPECT_EQ(browser.output.find(":CONSOLE("), std::string::npos) << browser.output;
  int shot_width = 0, shot_height = 0;
  const auto pixels = read_rgb(shot, shot_width, shot_height);
  ASSERT_EQ(shot_width, 1200);
  ASSERT_EQ(shot_height, 1800);

  // Not blank: text, axes and curves cover part of the page.
  size_t inked = 0;
  for (size_t i = 0; i < pixels.size(); i += 3) inked += !near(&pixels[i], {255, 255, 255}, 8);
  EXPECT_GT(inked, pixels.size() / 3 / 50) << "under 2% of the page is not white";
  // The heatmap's pixels, unscaled: a block of each quadrant's colour.
  for (const auto& colour : quadrants) {
    EXPECT_TRUE(has_block(pixels, shot_width, shot_height, colour, 24))
        << "no block of rgb(" << colour.red << ", " << colour.green << ", " << colour.blue << ")";
  }
  // The majority line: a row of dashes in the reference colour.
  const auto hex = std::strtol(lunar::report::kReferenceColour + 1, nullptr, 16);
  const Rgb reference{static_cast<int>(hex >> 16), static_cast<int>((hex >> 8) & 255),
                      static_cast<int>(hex & 255)};
  EXPECT_GE(most_dashes_in_a_row(pixels, shot_width, shot_height, reference), 15);
}

}  // namespace
