// Pages of `lunar report` in headless Chromium: a study's report loads without console errors
// and renders; a run's page shows the heatmap's pixels and the dashed majority-class line.
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lunar/report/svg.h"
#include "support/lunar_cli.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;

namespace {

using lunar::testing::CommandResult;
using lunar::testing::run_command;
using lunar::testing::TempDir;

using lunar::testing::lunar_command;

// A run folder as the trainer leaves it: configuration and metrics of 10 of 20 steps, and the
// summary once `finished`.
void write_run(const fs::path& run, const std::string& architecture, int seed, bool finished) {
  fs::create_directories(run);
  std::ofstream(run / "config.toml") << "[model]\narchitecture = \"" << architecture
                                     << "\"\n[model.luna]\nmemory_len = 4\n[task]\nname = "
                                        "\"listops\"\n[train]\nseed = "
                                     << seed << "\nsteps = 20\n";
  std::ofstream metrics(run / "metrics.jsonl");
  metrics << "{\"step\":0,\"split\":\"data\",\"majority_val\":0.3,\"majority_test\":0.3}\n";
  for (int step = 1; step <= 10; ++step) {
    metrics << "{\"step\":" << step << ",\"split\":\"train\",\"loss\":" << 2.0 - 0.05 * step
            << ",\"accuracy\":" << 0.4 + 0.02 * step << "}\n";
  }
  metrics << "{\"step\":10,\"split\":\"val\",\"accuracy\":0.6,\"loss\":1.4}\n";
  if (!finished) return;
  std::ofstream(run / "summary.json")
      << "{\"best_step\":10,\"best_validation_accuracy\":0.6,\"majority_rate\":0.3,"
         "\"seconds\":1.5,\"steps\":10,\"test_accuracy_best\":"
      << 0.5 + 0.01 * seed << ",\"test_accuracy_last\":0.4}\n";
}

// Chromium's screenshot of `page` at `size` ("W,H") into `shot`, with its console on stderr.
CommandResult screenshot(const fs::path& page, const fs::path& shot, const std::string& size,
                         const fs::path& profile) {
  if (run_command("command -v chromium").code != 0) {
    ADD_FAILURE() << "chromium is required for this test: install it with `sudo apt-get install -y "
                     "chromium` (scripts/install-deps.sh does)";
  }
  return run_command(
      "chromium --headless --disable-gpu --no-sandbox --user-data-dir=" + profile.string() +
      " --force-device-scale-factor=1 --force-color-profile=srgb --hide-scrollbars"
      " --enable-logging=stderr --v=0 --window-size=" +
      size + " --screenshot=" + shot.string() + " file://" + page.string());
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

TEST(StudyReportInChromium, LoadsWithoutErrorsAndRenders) {
  const TempDir dir;
  const auto runs = dir / "runs";
  for (const char* architecture : {"luna", "convluna"}) {
    for (int seed : {0, 1}) {
      write_run(runs / (std::string(architecture) + "_seed" + std::to_string(seed)), architecture,
                seed, true);
    }
  }
  const auto html = runs / "report.html";
  const auto report = run_command(lunar_command() + " report --runs " + runs.string() + " --out " +
                                  html.string() + " --stats");
  ASSERT_EQ(report.code, 0) << report.output;
  EXPECT_NE(report.output.find("4 runs (0 unfinished)"), std::string::npos) << report.output;

  const auto shot = dir / "report.png";
  const auto browser = screenshot(html, shot, "1200,2000", dir / "chromium-profile");
  ASSERT_EQ(browser.code, 0) << browser.output;
  EXPECT_EQ(browser.output.find("Uncaught"), std::string::npos) << browser.output;
  EXPECT_EQ(browser.output.find(":CONSOLE("), std::string::npos) << browser.output;
  ASSERT_TRUE(fs::exists(shot)) << browser.output;
  EXPECT_GT(fs::file_size(shot), 20000u);  // a blank 1200 x 2000 page compresses to a few KB
  std::ifstream png(shot, std::ios::binary);
  std::string magic(4, '\0');
  png.read(magic.data(), 4);
  EXPECT_EQ(magic.substr(1, 3), "PNG");
}

TEST(RunPageInChromium, ScreenshotShowsTheHeatmapAndTheMajorityLine) {
  const TempDir dir;
  // A run folder as the trainer leaves it, with a heatmap of four flat quadrants.
  const auto run = dir / "synthetic";
  write_run(run, "luna", 0, false);
  fs::create_directories(run / "heatmaps");
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
      run_command(lunar_command() + " report --runs " + run.string() + " --out " + page.string());
  ASSERT_EQ(built.code, 0) << built.output;
  const auto shot = dir / "run_page.png";
  const auto browser = screenshot(page, shot, "1200,1800", dir / "chromium-profile");
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
