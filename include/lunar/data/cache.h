// A binary cache of tokenised tasks, so a second run starts in seconds. Files are written
// atomically and carry magic, version, key and checksum; anything that does not verify is
// ignored (and rebuilt by the caller), never trusted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lunar/data/task_config.h"

namespace lunar::data {

inline constexpr uint32_t kCacheVersion = 1;

// A 64-bit key of the configuration fields that change the tokens (name, max length,
// validation fraction, and `task_options`: the values of the task row's own keys) and of each
// source's path, size and modification time.
uint64_t cache_key(const TaskConfig& config, const std::string& task_options,
                   const std::vector<std::filesystem::path>& sources);

// The folder of the cache for `config`: "" -> $XDG_CACHE_HOME/lunar, else ~/.cache/lunar (one
// folder for every dataset: the key covers each source's absolute path), never the dataset's
// own folder; "off", or "" without either variable -> empty path (no cache).
std::filesystem::path cache_folder(const TaskConfig& config);

// The cache file for a task and key inside `folder`.
std::filesystem::path cache_file(const std::filesystem::path& folder, const std::string& task,
                                 uint64_t key);

// Reads a cache file; std::nullopt when missing, corrupt, of another version or key.
std::optional<TaskData> read_cache(const std::filesystem::path& file, uint64_t key);

// Writes `data` (its splits; info is not stored) atomically. Throws lunar::Error on failure.
void write_cache(const std::filesystem::path& file, uint64_t key, const TaskData& data);

}  // namespace lunar::data
