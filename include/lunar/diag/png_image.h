// 8-bit RGB images and their PNG encoding (libpng), for diagnostic figures and for tests that
// check what was drawn.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lunar::diag {

struct Rgb {
  uint8_t red = 0;
  uint8_t green = 0;
  uint8_t blue = 0;
  bool operator==(const Rgb& other) const {
    return red == other.red && green == other.green && blue == other.blue;
  }
  bool operator!=(const Rgb& other) const { return !(*this == other); }
};

// Row-major RGB pixels, 3 bytes each, top row first.
class RgbImage {
 public:
  RgbImage() = default;
  RgbImage(int64_t width, int64_t height, Rgb fill = {255, 255, 255});

  int64_t width() const { return width_; }
  int64_t height() const { return height_; }
  Rgb at(int64_t x, int64_t y) const;  // throws lunar::Error outside the image
  void set(int64_t x, int64_t y, Rgb colour);
  // Fills the rectangle [x, x + w) × [y, y + h), clipped to the image.
  void fill_rect(int64_t x, int64_t y, int64_t w, int64_t h, Rgb colour);
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  std::vector<uint8_t>& pixels() { return pixels_; }

 private:
  int64_t width_ = 0;
  int64_t height_ = 0;
  std::vector<uint8_t> pixels_;  // [height, width, 3]
};

// PNG bytes of `image` (8-bit RGB, no interlacing).
std::string encode_png(const RgbImage& image);

// Decodes PNG bytes of any colour type and bit depth to 8-bit RGB (alpha dropped). `name`
// appears in error messages (lunar::DataError naming it).
RgbImage decode_png(const std::string& bytes, const std::string& name = "<memory>");

// encode_png written with lunar::write_atomically, so readers never see a partial image.
void write_png(const std::filesystem::path& path, const RgbImage& image);

// Reads and decodes a PNG file; lunar::DataError naming the path for unreadable or bad files.
RgbImage read_png(const std::filesystem::path& path);

}  // namespace lunar::diag
