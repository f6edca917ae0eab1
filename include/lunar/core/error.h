// Errors raised by lunar's library code. Only `main` turns them into exit codes.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace lunar {

// Any error lunar reports to a user: bad options, bad configuration, bad state.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Malformed input data. The message names the file, the line (or record) and the field:
// `path:line: field: what is wrong`.
class DataError : public Error {
 public:
  DataError(std::string path, int64_t line, std::string field, const std::string& what)
      : Error(format_message(path, line, field, what)),
        path_(std::move(path)),
        line_(line),
        field_(std::move(field)) {}

  const std::string& path() const { return path_; }
  int64_t line() const { return line_; }  // 1-based line or record number; 0 if not applicable
  const std::string& field() const { return field_; }

 private:
  static std::string format_message(const std::string& path, int64_t line, const std::string& field,
                                    const std::string& what) {
    std::string location = line > 0 ? fmt::format("{}:{}", path, line) : path;
    return field.empty() ? fmt::format("{}: {}", location, what)
                         : fmt::format("{}: {}: {}", location, field, what);
  }

  std::string path_;
  int64_t line_;
  std::string field_;
};

// Throws lunar::Error with a formatted message when `condition` is false. Messages follow
// `[component] expected X, got Y`.
template <typename... Args>
void check(bool condition, fmt::format_string<Args...> message, Args&&... args) {
  if (!condition) throw Error(fmt::format(message, std::forward<Args>(args)...));
}

}  // namespace lunar
