// Heatmap PNGs decode to the expected size, with red positive, blue negative and white zero
// cells, a legend, a shared scale on request; and the PNG codec round-trips.
#include "lunar/diag/heatmap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lunar/core/error.h"
#include "lunar/diag/png_image.h"

namespace fs = std::filesystem;

namespace {

using lunar::diag::Rgb;
using lunar::diag::RgbImage;

fs::path fresh_directory(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("lunar_heatmap_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Rgb cell_colour(const RgbImage& image, const lunar::diag::HeatmapLayout& layout, int64_t row,
                int64_t column) {
  return image.at(layout.map_left + column * layout.cell_width + layout.cell_width / 2,
                  layout.map_top + row * layout.cell_height + layout.cell_height / 2);
}

bool reddish(Rgb c) { return c.red > 150 && c.red > c.blue + 80 && c.red > c.green + 80; }
bool bluish(Rgb c) { return c.blue > 150 && c.blue > c.red + 80; }

TEST(Heatmap, MemoryMatrixDecodesWithExpectedColours) {
  auto values = at::zeros({16, 128});  // [M, D]
  values[0].fill_(2.0);
  values[1].fill_(-1.5);
  values.select(1, 5).fill_(0.5);  // a column through every row
  values[2][7] = 0.0;
  const auto dir = fresh_directory("colours");
  const auto layout =
      lunar::diag::write_heatmap(dir / "memory.png", values, {/*limit=*/0, 0, 0, "memory step 0"});
  const auto image = lunar::diag::read_png(dir / "memory.png");
  EXPECT_EQ(image.width(), layout.width);
  EXPECT_EQ(image.height(), layout.height);
  EXPECT_EQ(layout.rows, 16);
  EXPECT_EQ(layout.columns, 128);
  EXPECT_DOUBLE_EQ(layout.limit, 2.0);
  EXPECT_GE(layout.cell_width, 3);
  EXPECT_GE(layout.cell_height, 3);
  EXPECT_GE(image.width(), 128 * 3);
  EXPECT_EQ(cell_colour(image, layout, 0, 0), (Rgb{178, 24, 43}));  // +limit: full red
  EXPECT_TRUE(reddish(cell_colour(image, layout, 0, 10)));
  EXPECT_TRUE(bluish(cell_colour(image, layout, 1, 10)));
  EXPECT_EQ(cell_colour(image, layout, 2, 7), (Rgb{255, 255, 255}));
  EXPECT_EQ(cell_colour(image, layout, 15, 127), (Rgb{255, 255, 255}));
  const Rgb light_red = cell_colour(image, layout, 9, 5);  // 0.5 of 2.0: a quarter of the way
  EXPECT_GT(light_red.red, light_red.blue);
  EXPECT_GT(light_red.blue, 150);
  // Only the PNG remains: the write went through a temporary file and a rename.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  // Keep a copy for looking at by eye.
  fs::copy_file(dir / "memory.png", fs::temp_directory_path() / "lunar_heatmap_example.png",
                fs::copy_options::overwrite_existing);
}

TEST(Heatmap, SixteenByOneTwentyEightGetsViewableCells) {
  const auto heatmap = lunar::diag::render_heatmap(at::randn({16, 128}));
  EXPECT_EQ(heatmap.layout.cell_width, 4);
  EXPECT_EQ(heatmap.layout.cell_height, 16);
  const auto large = lunar::diag::render_heatmap(at::randn({256, 128}));
  EXPECT_EQ(large.layout.cell_height, 3);
  const auto custom = lunar::diag::render_heatmap(at::randn({2, 3}), {0, 7, 5, ""});
  EXPECT_EQ(custom.layout.cell_width, 7);
  EXPECT_EQ(custom.layout.cell_height, 5);
}

TEST(Heatmap, CallerLimitGivesASharedScale) {
  // Step 0 and step N drawn on one scale: the same value has the same colour in both.
  const auto step0 = at::full({2, 4}, 0.5);
  auto step_n = at::full({2, 4}, 0.5);
  step_n[0][0] = 4.0;
  const double limit =
      std::max(lunar::diag::heatmap_limit(step0), lunar::diag::heatmap_limit(step_n));
  EXPECT_DOUBLE_EQ(limit, 4.0);
  const auto first = lunar::diag::render_heatmap(step0, {limit, 0, 0, ""});
  const auto second = lunar::diag::render_heatmap(step_n, {limit, 0, 0, ""});
  EXPECT_DOUBLE_EQ(first.layout.limit, 4.0);
  EXPECT_EQ(cell_colour(first.image, first.layout, 1, 1),
            cell_colour(second.image, second.layout, 1, 1));
  // Without the shared limit, 0.5 is the maximum of step 0 and saturates.
  const auto own = lunar::diag::render_heatmap(step0);
  EXPECT_EQ(cell_colour(own.image, own.layout, 1, 1), (Rgb{178, 24, 43}));
}

TEST(Heatmap, LegendAndTitleAreDrawn) {
  const auto plain = lunar::diag::render_heatmap(at::randn({4, 8}));
  const auto titled = lunar::diag::render_heatmap(at::randn({4, 8}), {0, 0, 0, "grad P, step 12"});
  EXPECT_GT(titled.layout.map_top, plain.layout.map_top);
  const auto count_ink = [](const RgbImage& image, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
    int64_t ink = 0;
    for (int64_t y = y0; y < y1; ++y) {
      for (int64_t x = x0; x < x1; ++x) ink += image.at(x, y) == Rgb{0, 0, 0};
    }
    return ink;
  };
  const auto& layout = plain.layout;
  const int64_t right_of_map = layout.map_left + layout.columns * layout.cell_width + 1;
  // Black digits only appear in the legend, right of the map.
  EXPECT_GT(count_ink(plain.image, right_of_map, 0, layout.width, layout.height), 20);
  EXPECT_EQ(count_ink(plain.image, 0, 0, right_of_map, layout.height), 0);
  // The title's letters lie above the map.
  EXPECT_GT(count_ink(titled.image, 0, 0, titled.layout.width, titled.layout.map_top - 1), 20);
}

TEST(Heatmap, DivergingColourScale) {
  using lunar::diag::diverging_colour;
  EXPECT_EQ(diverging_colour(0.0, 1.0), (Rgb{255, 255, 255}));
  EXPECT_EQ(diverging_colour(1.0, 1.0), (Rgb{178, 24, 43}));
  EXPECT_EQ(diverging_colour(-3.0, 3.0), (Rgb{33, 102, 172}));
  EXPECT_EQ(diverging_colour(10.0, 1.0), diverging_colour(1.0, 1.0));  // saturates
  EXPECT_EQ(diverging_colour(std::nan(""), 1.0), (Rgb{128, 128, 128}));
  EXPECT_TRUE(reddish(diverging_colour(0.6, 1.0)));
  EXPECT_TRUE(bluish(diverging_colour(-0.6, 1.0)));
}

TEST(Heatmap, AllZeroAndNonFiniteValues) {
  EXPECT_DOUBLE_EQ(lunar::diag::heatmap_limit(at::zeros({2, 2})), 1.0);
  auto values = at::ones({2, 2});
  values[0][0] = std::numeric_limits<float>::infinity();
  values[0][1] = std::nan("");
  EXPECT_DOUBLE_EQ(lunar::diag::heatmap_limit(values), 1.0);
  const auto heatmap = lunar::diag::render_heatmap(values.to(at::kBFloat16));
  EXPECT_EQ(cell_colour(heatmap.image, heatmap.layout, 0, 1), (Rgb{128, 128, 128}));
  EXPECT_EQ(cell_colour(heatmap.image, heatmap.layout, 0, 0), (Rgb{178, 24, 43}));
}

TEST(Heatmap, RejectsBadInput) {
  EXPECT_THROW(lunar::diag::render_heatmap(at::ones({3})), lunar::Error);
  EXPECT_THROW(lunar::diag::render_heatmap(at::ones({0, 3})), lunar::Error);
  EXPECT_THROW(lunar::diag::render_heatmap(at::Tensor()), lunar::Error);
  EXPECT_THROW(lunar::diag::render_heatmap(at::ones({2, 2}), {std::nan(""), 0, 0, ""}),
               lunar::Error);
}

TEST(PngImage, EncodeDecodeRoundTrip) {
  RgbImage image(5, 3, {10, 20, 30});
  image.set(4, 2, {255, 0, 128});
  image.fill_rect(-2, -2, 4, 3, {1, 2, 3});  // clipped to the image
  const auto decoded = lunar::diag::decode_png(lunar::diag::encode_png(image));
  ASSERT_EQ(decoded.width(), 5);
  ASSERT_EQ(decoded.height(), 3);
  EXPECT_EQ(decoded.pixels(), image.pixels());
  EXPECT_EQ(decoded.at(4, 2), (Rgb{255, 0, 128}));
  EXPECT_EQ(decoded.at(1, 0), (Rgb{1, 2, 3}));
  EXPECT_EQ(decoded.at(2, 0), (Rgb{10, 20, 30}));
  EXPECT_THROW(decoded.at(5, 0), lunar::Error);
}

TEST(PngImage, BadFilesNameThePath) {
  const auto dir = fresh_directory("bad");
  std::ofstream(dir / "bad.png") << "not a png at all";
  try {
    lunar::diag::read_png(dir / "bad.png");
    FAIL() << "no error";
  } catch (const lunar::DataError& error) {
    EXPECT_EQ(error.path(), (dir / "bad.png").string());
  }
  // A real PNG cut short.
  const auto bytes = lunar::diag::encode_png(RgbImage(40, 40, {9, 9, 9}));
  EXPECT_THROW(lunar::diag::decode_png(bytes.substr(0, bytes.size() / 2), "cut.png"),
               lunar::DataError);
  EXPECT_THROW(lunar::diag::read_png(dir / "missing.png"), lunar::DataError);
}

}  // namespace
