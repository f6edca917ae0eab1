// RGB images and PNG encoding/decoding with libpng's setjmp error handling kept in small
// functions whose locals are all trivial, so a longjmp never skips a C++ destructor.
#include "lunar/diag/png_image.h"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"

namespace lunar::diag {
namespace {

// Largest image we create or decode (pixels): guards against absurd sizes in corrupt files.
constexpr int64_t kMaxPixels = int64_t{1} << 28;

struct PngState {
  char message[256] = {0};             // libpng's error message
  std::string* output = nullptr;       // encoding: bytes written so far
  const std::string* input = nullptr;  // decoding: the PNG bytes
  size_t offset = 0;                   // decoding: bytes consumed
};

void on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // the library never prints

void on_write(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  state->output->append(reinterpret_cast<const char*>(data), length);
}

void on_flush(png_structp) {}

void on_read(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<PngState*>(png_get_io_ptr(png));
  if (state->input->size() - state->offset < length) png_error(png, "file is truncated");
  std::memcpy(data, state->input->data() + state->offset, length);
  state->offset += length;
}

// Returns false on a libpng error (message in the error state).
bool encode_rows(png_structp png, png_infop info, const RgbImage& image) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width()),
               static_cast<png_uint_32>(image.height()), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const size_t stride = static_cast<size_t>(image.width()) * 3;
  for (int64_t y = 0; y < image.height(); ++y) {
    png_write_row(png, const_cast<png_bytep>(image.pixels().data() + y * stride));
  }
  png_write_end(png, nullptr);
  return true;
}

// Returns false on a libpng error or an unsupported size (message in the error state).
bool decode_rows(png_structp png, png_infop info, PngState* state, RgbImage* image) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  png_set_expand(png);  // palette -> RGB, gray < 8 bits -> 8 bits, tRNS -> alpha
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int64_t width = png_get_image_width(png, info);
  const int64_t height = png_get_image_height(png, info);
  if (width * height > kMaxPixels || png_get_rowbytes(png, info) != size_t(width) * 3) {
    std::snprintf(state->message, sizeof state->message, "unsupported image %lldx%lld",
                  static_cast<long long>(width), static_cast<long long>(height));
    return false;
  }
  *image = RgbImage(width, height);
  const size_t stride = static_cast<size_t>(width) * 3;
  for (int pass = 0; pass < passes; ++pass) {
    for (int64_t y = 0; y < height; ++y) {
      png_read_row(png, image->pixels().data() + y * stride, nullptr);
    }
  }
  png_read_end(png, nullptr);
  return true;
}

}  // namespace

RgbImage::RgbImage(int64_t width, int64_t height, Rgb fill) : width_(width), height_(height) {
  check(width >= 1 && height >= 1 && width * height <= kMaxPixels,
        "[png] expected an image size from 1x1 to {} pixels, got {}x{}", kMaxPixels, width, height);
  pixels_.resize(static_cast<size_t>(width * height * 3));
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = fill.red;
    pixels_[i + 1] = fill.green;
    pixels_[i + 2] = fill.blue;
  }
}

Rgb RgbImage::at(int64_t x, int64_t y) const {
  check(x >= 0 && x < width_ && y >= 0 && y < height_,
        "[png] expected a pixel inside {}x{}, got ({}, {})", width_, height_, x, y);
  const size_t i = static_cast<size_t>((y * width_ + x) * 3);
  return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void RgbImage::set(int64_t x, int64_t y, Rgb colour) {
  if (x < 0 || x >= width_ || y < 0 || y >= height_) return;
  const size_t i = static_cast<size_t>((y * width_ + x) * 3);
  pixels_[i] = colour.red;
  pixels_[i + 1] = colour.green;
  pixels_[i + 2] = colour.blue;
}

void RgbImage::fill_rect(int64_t x, int64_t y, int64_t w, int64_t h, Rgb colour) {
  const int64_t x_end = std::min(x + w, width_);
  const int64_t y_end = std::min(y + h, height_);
  for (int64_t row = std::max<int64_t>(y, 0); row < y_end; ++row) {
    for (int64_t column = std::max<int64_t>(x, 0); column < x_end; ++column) {
      set(column, row, colour);
    }
  }
}

std::string encode_png(const RgbImage& image) {
  check(image.width() >= 1 && image.height() >= 1, "[png] expected a non-empty image, got {}x{}",
        image.width(), image.height());
  std::string bytes;
  PngState state;
  state.output = &bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  check(png != nullptr, "[png] expected libpng to start a writer, got an allocation failure");
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &state, on_write, on_flush);
  const bool ok = info != nullptr && encode_rows(png, info, image);
  png_destroy_write_struct(&png, &info);
  check(ok, "[png] expected to encode a {}x{} image, got libpng error: {}", image.width(),
        image.height(), state.message);
  return bytes;
}

RgbImage decode_png(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0) {
    throw DataError(name, 0, "", "not a PNG file (bad signature)");
  }
  PngState state;
  state.input = &bytes;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  check(png != nullptr, "[png] expected libpng to start a reader, got an allocation failure");
  png_infop info = png_create_info_struct(png);
  png_set_read_fn(png, &state, on_read);
  RgbImage image;
  const bool ok = info != nullptr && decode_rows(png, info, &state, &image);
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) throw DataError(name, 0, "", std::string("bad PNG: ") + state.message);
  return image;
}

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  write_atomically(path, encode_png(image));
}

RgbImage read_png(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string(), 0, "", "cannot open for reading");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_png(bytes, path.string());
}

}  // namespace lunar::diag
