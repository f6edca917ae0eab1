// Heatmap PNGs of a matrix (rows = memory vectors, columns = features) on a diverging
// blue-white-red scale symmetric around 0, with a colour bar, its limits and an optional title.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "lunar/diag/png_image.h"

namespace lunar::diag {

struct HeatmapOptions {
  // The scale runs from -limit (blue) through 0 (white) to +limit (red); values beyond it
  // saturate. <= 0 means heatmap_limit(values). Give the same limit to the images of step 0
  // and step N so that their colours compare.
  double limit = 0;
  // Pixels per cell; 0 picks a size that makes the map roughly 512 wide and 256 high, with at
  // least 3 and at most 24 pixels per cell (a 16 x 128 memory gets 4 x 16 cells).
  int64_t cell_width = 0;
  int64_t cell_height = 0;
  std::string title;  // one line above the map; empty for none (letters are drawn upper case)
};

// Where things are in the rendered image, so that callers and tests can find cells.
struct HeatmapLayout {
  int64_t width = 0;  // image size in pixels
  int64_t height = 0;
  int64_t map_left = 0;  // top-left pixel of cell (0, 0)
  int64_t map_top = 0;
  int64_t cell_width = 0;
  int64_t cell_height = 0;
  int64_t rows = 0;  // of the matrix
  int64_t columns = 0;
  double limit = 0;  // the scale used
};

struct Heatmap {
  RgbImage image;
  HeatmapLayout layout;
};

// The default colour limit: max |x| over the finite entries, or 1 when all are zero (or none
// is finite).
double heatmap_limit(const at::Tensor& values);  // [R, C]

// Colour of `value` on the scale [-limit, limit]: white at 0, (178, 24, 43) red at +limit,
// (33, 102, 172) blue at -limit, linear in between; NaN is mid grey.
Rgb diverging_colour(double value, double limit);

// Renders values [R, C] (any real dtype and device). Throws lunar::Error for other ranks or
// an empty matrix.
Heatmap render_heatmap(const at::Tensor& values, const HeatmapOptions& options = {});

// render_heatmap written as a PNG with lunar::write_atomically.
HeatmapLayout write_heatmap(const std::filesystem::path& path, const at::Tensor& values,
                            const HeatmapOptions& options = {});

}  // namespace lunar::diag
