// A tiny built-in 3x5 bitmap font for labels in diagnostic images (no font library needed).
#pragma once

#include <cstdint>
#include <string>

#include "lunar/diag/png_image.h"

namespace lunar::diag::font {

inline constexpr int64_t kGlyphWidth = 3;  // in font pixels, before scaling
inline constexpr int64_t kGlyphHeight = 5;

// Width in image pixels of `text` drawn at `scale` (one font-pixel gap between glyphs).
int64_t text_width(const std::string& text, int64_t scale);

// Draws `text` with its top-left corner at (x, y); each font pixel becomes scale x scale image
// pixels. Letters are drawn upper case; characters without a glyph are drawn as '?'.
void draw_text(RgbImage& image, int64_t x, int64_t y, const std::string& text, int64_t scale,
               Rgb colour);

}  // namespace lunar::diag::font
