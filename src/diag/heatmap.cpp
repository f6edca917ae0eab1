// Heatmap rendering: cells on a diverging scale, a framed colour bar with +limit, 0 and -limit
// written beside it in the built-in bitmap font, and an optional title.
#include "lunar/diag/heatmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bitmap_font.h"
#include "lunar/core/error.h"

namespace lunar::diag {
namespace {

constexpr int64_t kMargin = 8;     // white border around everything
constexpr int64_t kTextScale = 2;  // font pixels -> image pixels (3x5 glyphs become 6x10)
constexpr int64_t kTextGap = 8;    // below the title, between bar and labels
constexpr int64_t kBarGap = 12;    // between map and colour bar
constexpr int64_t kBarWidth = 14;
constexpr int64_t kMinBarHeight = 96;  // room for three labels even for a one-row map
constexpr int64_t kTickLength = 4;
constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kFrame{96, 96, 96};
constexpr Rgb kInk{0, 0, 0};
constexpr Rgb kRed{178, 24, 43};
constexpr Rgb kBlue{33, 102, 172};
constexpr Rgb kNaNGrey{128, 128, 128};

int64_t auto_cell_size(int64_t requested, int64_t target_pixels, int64_t cells) {
  if (requested > 0) return requested;
  return std::clamp<int64_t>((target_pixels + cells - 1) / cells, 3, 24);
}

uint8_t mix(uint8_t from, uint8_t to, double t) {
  return static_cast<uint8_t>(std::lround(from + t * (static_cast<double>(to) - from)));
}

// A 1-pixel frame just outside the rectangle [x, x + w) × [y, y + h).
void draw_frame(RgbImage& image, int64_t x, int64_t y, int64_t w, int64_t h) {
  image.fill_rect(x - 1, y - 1, w + 2, 1, kFrame);
  image.fill_rect(x - 1, y + h, w + 2, 1, kFrame);
  image.fill_rect(x - 1, y, 1, h, kFrame);
  image.fill_rect(x + w, y, 1, h, kFrame);
}

std::string limit_label(double value) {
  if (value == 0) return "0";
  return fmt::format("{:+.3g}", value);
}

}  // namespace

double heatmap_limit(const at::Tensor& values) {
  check(values.defined(), "[heatmap] expected a defined tensor, got an undefined one");
  const auto magnitudes = values.detach().to(at::kCPU, at::kDouble).abs();
  const auto finite = magnitudes.masked_select(magnitudes.isfinite());
  const double limit = finite.numel() > 0 ? finite.max().item<double>() : 0.0;
  return limit > 0 ? limit : 1.0;
}

Rgb diverging_colour(double value, double limit) {
  if (std::isnan(value)) return kNaNGrey;
  const double t = std::clamp(value / limit, -1.0, 1.0);
  const Rgb end = t >= 0 ? kRed : kBlue;
  const double amount = std::abs(t);
  return {mix(kWhite.red, end.red, amount), mix(kWhite.green, end.green, amount),
          mix(kWhite.blue, end.blue, amount)};
}

Heatmap render_heatmap(const at::Tensor& values, const HeatmapOptions& options) {
  check(values.defined() && values.dim() == 2, "[heatmap] expected values [R, C], got {}-D",
        values.defined() ? values.dim() : 0);
  check(values.numel() > 0, "[heatmap] expected a non-empty matrix, got [{}, {}]", values.size(0),
        values.size(1));
  check(!values.is_complex(), "[heatmap] expected real values, got a complex tensor");
  check(std::isfinite(options.limit), "[heatmap] expected a finite limit, got {}", options.limit);
  const auto cells = values.detach().to(at::kCPU, at::kDouble).contiguous();  // [R, C]

  HeatmapLayout layout;
  layout.rows = cells.size(0);
  layout.columns = cells.size(1);
  layout.limit = options.limit > 0 ? options.limit : heatmap_limit(cells);
  layout.cell_width = auto_cell_size(options.cell_width, 512, layout.columns);
  layout.cell_height = auto_cell_size(options.cell_height, 256, layout.rows);
  const int64_t glyph_height = font::kGlyphHeight * kTextScale;
  const int64_t map_width = layout.columns * layout.cell_width;
  const int64_t map_height = layout.rows * layout.cell_height;

  // Frames sit one pixel outside the map and the bar.
  layout.map_left = kMargin + 1;
  layout.map_top = kMargin + 1 + (options.title.empty() ? 0 : glyph_height + kTextGap);
  const int64_t bar_left = layout.map_left + map_width + 1 + kBarGap + 1;
  const int64_t bar_top = layout.map_top;
  const int64_t bar_height = std::max(map_height, kMinBarHeight);
  const int64_t label_left = bar_left + kBarWidth + 1 + kTickLength + 2;
  const std::string top_label = limit_label(layout.limit);
  const std::string bottom_label = limit_label(-layout.limit);
  const int64_t label_width =
      std::max(font::text_width(top_label, kTextScale), font::text_width(bottom_label, kTextScale));
  layout.width = std::max(label_left + label_width + kMargin,
                          2 * kMargin + font::text_width(options.title, kTextScale));
  layout.height = layout.map_top + std::max(map_height, bar_height) + 1 + kMargin;

  RgbImage image(layout.width, layout.height, kWhite);
  if (!options.title.empty())
    font::draw_text(image, kMargin, kMargin, options.title, kTextScale, kInk);

  const auto value = cells.accessor<double, 2>();
  for (int64_t row = 0; row < layout.rows; ++row) {
    for (int64_t column = 0; column < layout.columns; ++column) {
      image.fill_rect(layout.map_left + column * layout.cell_width,
                      layout.map_top + row * layout.cell_height, layout.cell_width,
                      layout.cell_height, diverging_colour(value[row][column], layout.limit));
    }
  }
  draw_frame(image, layout.map_left, layout.map_top, map_width, map_height);

  // Colour bar: +limit at the top row, -limit at the bottom row.
  for (int64_t y = 0; y < bar_height; ++y) {
    const double fraction = bar_height > 1 ? static_cast<double>(y) / (bar_height - 1) : 0.5;
    const Rgb colour = diverging_colour(layout.limit * (1.0 - 2.0 * fraction), layout.limit);
    image.fill_rect(bar_left, bar_top + y, kBarWidth, 1, colour);
  }
  draw_frame(image, bar_left, bar_top, kBarWidth, bar_height);

  // Labels with ticks, their middle at the value's position (clamped to the bar's extent).
  const int64_t tick_left = bar_left + kBarWidth + 1;
  const auto label = [&](const std::string& text, int64_t at_y) {
    image.fill_rect(tick_left, at_y, kTickLength, 1, kFrame);
    const int64_t top =
        std::clamp(at_y - glyph_height / 2, bar_top - 1, bar_top + bar_height + 1 - glyph_height);
    font::draw_text(image, label_left, top, text, kTextScale, kInk);
  };
  label(top_label, bar_top);
  label("0", bar_top + (bar_height - 1) / 2);
  label(bottom_label, bar_top + bar_height - 1);
  return {std::move(image), layout};
}

HeatmapLayout write_heatmap(const std::filesystem::path& path, const at::Tensor& values,
                            const HeatmapOptions& options) {
  auto heatmap = render_heatmap(values, options);
  write_png(path, heatmap.image);
  return heatmap.layout;
}

}  // namespace lunar::diag
