// Binary cache of tokenised splits: header (magic, version, key, payload size, CRC-32), then
// for each split a count and per example label, lengths and 16-bit tokens.
#include "lunar/data/cache.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"

namespace lunar::data {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[8] = {'L', 'U', 'N', 'A', 'R', 'D', 'C', '\n'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 8 + 4;

uint64_t fnv1a(uint64_t hash, const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

uint64_t fnv1a(uint64_t hash, const std::string& text) {
  hash = fnv1a(hash, text.data(), text.size());
  return fnv1a(hash, "\0", 1);  // separator so that ("ab","c") != ("a","bc")
}

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
bool take(const std::string& in, size_t& at, T& value) {
  if (at + sizeof(T) > in.size()) return false;
  std::memcpy(&value, in.data() + at, sizeof(T));
  at += sizeof(T);
  return true;
}

void put_tokens(std::string& out, const std::vector<int32_t>& tokens) {
  put<uint32_t>(out, static_cast<uint32_t>(tokens.size()));
  for (int32_t token : tokens) {
    check(token >= 0 && token < 65536, "[cache] expected tokens in [0, 65536), got {}", token);
    put<uint16_t>(out, static_cast<uint16_t>(token));
  }
}

bool take_tokens(const std::string& in, size_t& at, std::vector<int32_t>& tokens) {
  uint32_t count = 0;
  if (!take(in, at, count) || at + size_t{count} * 2 > in.size()) return false;
  tokens.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t token;
    std::memcpy(&token, in.data() + at + 2 * i, 2);
    tokens[i] = token;
  }
  at += size_t{count} * 2;
  return true;
}

}  // namespace

uint64_t cache_key(const TaskConfig& config, const std::string& task_options,
                   const std::vector<fs::path>& sources) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  hash = fnv1a(hash, fmt::format("v{} {} {} {:.17g} {}", kCacheVersion, config.name,
                                 config.max_length, config.validation_fraction, task_options));
  std::vector<fs::path> sorted = sources;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& source : sorted) {
    std::error_code error;
    const auto absolute = fs::absolute(source, error);
    const bool directory = fs::is_directory(source, error);
    const auto size = directory ? 0 : fs::file_size(source, error);
    const auto time = fs::last_write_time(source, error);
    const auto ticks = error ? 0 : time.time_since_epoch().count();
    hash = fnv1a(hash,
                 fmt::format("{} {} {}", absolute.string(), error ? -1 : static_cast<int64_t>(size),
                             static_cast<int64_t>(ticks)));
  }
  return hash;
}

fs::path cache_folder(const TaskConfig& config) {
  if (config.cache_dir == "off") return {};
  if (!config.cache_dir.empty()) return config.cache_dir;
  // The XDG base directory specification: a relative XDG_CACHE_HOME is to be ignored.
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && fs::path(xdg).is_absolute()) return fs::path(xdg) / "lunar";
  const char* home = std::getenv("HOME");
  if (home != nullptr && fs::path(home).is_absolute()) return fs::path(home) / ".cache" / "lunar";
  return {};
}

fs::path cache_file(const fs::path& folder, const std::string& task, uint64_t key) {
  return folder / fmt::format("{}-{:016x}.bin", task, key);
}

std::optional<TaskData> read_cache(const fs::path& file, uint64_t key) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, 8) != 0) return std::nullopt;
  size_t at = 8;
  uint32_t version = 0, checksum = 0;
  uint64_t stored_key = 0, payload_size = 0;
  take(bytes, at, version);
  take(bytes, at, stored_key);
  take(bytes, at, payload_size);
  take(bytes, at, checksum);
  if (version != kCacheVersion || stored_key != key ||
      payload_size != bytes.size() - kHeaderBytes) {
    return std::nullopt;
  }
  const uint32_t actual = static_cast<uint32_t>(crc32_z(
      0L, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<z_size_t>(payload_size)));
  if (actual != checksum) return std::nullopt;
  TaskData data;
  for (auto* split : {&data.train, &data.validation, &data.test}) {
    uint64_t count = 0;
    if (!take(bytes, at, count) || count > bytes.size()) return std::nullopt;
    split->resize(count);
    for (auto& example : *split) {
      if (!take(bytes, at, example.label) || !take_tokens(bytes, at, example.tokens) ||
          !take_tokens(bytes, at, example.tokens2)) {
        return std::nullopt;
      }
    }
  }
  if (at != bytes.size()) return std::nullopt;
  data.from_cache = true;
  return data;
}

void write_cache(const fs::path& file, uint64_t key, const TaskData& data) {
  std::string payload;
  for (const auto* split : {&data.train, &data.validation, &data.test}) {
    put<uint64_t>(payload, split->size());
    for (const auto& example : *split) {
      put<int32_t>(payload, example.label);
      put_tokens(payload, example.tokens);
      put_tokens(payload, example.tokens2);
    }
  }
  std::string header(kMagic, 8);
  put<uint32_t>(header, kCacheVersion);
  put<uint64_t>(header, key);
  put<uint64_t>(header, payload.size());
  put<uint32_t>(header,
                static_cast<uint32_t>(crc32_z(0L, reinterpret_cast<const Bytef*>(payload.data()),
                                              static_cast<z_size_t>(payload.size()))));
  write_atomically(file, [&](std::ostream& out) {
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  });
}

}  // namespace lunar::data
