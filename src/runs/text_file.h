// Whole-file reads for the run-folder readers.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "lunar/core/error.h"

namespace lunar::runs {

// The bytes of `path`; throws lunar::DataError naming the file when it cannot be opened.
inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path.string(), 0, "", "cannot open the file for reading");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace lunar::runs
