// One reader per task's file format. Each throws lunar::DataError naming path, line (or
// record) and field on malformed input. load_task (task.h) is the entry point trainers use;
// these are public for tools and tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lunar/core/keys.h"
#include "lunar/data/task_config.h"

namespace lunar::data {

namespace fs = std::filesystem;

// ListOps: a TSV with header "Source\tTarget"; labels 0..9.
std::vector<Example> read_listops_tsv(const fs::path& path, int64_t max_length);
// <path>/basic_{train,val,test}.tsv (or <path>/listops-1000/...).
TaskData load_listops(const TaskConfig& config);
std::vector<fs::path> listops_sources(const TaskConfig& config);

// Text (IMDB): a CSV "review,sentiment" (RFC 4180 quoting; sentiment positive/negative or 1/0).
std::vector<Example> read_text_csv(const fs::path& path, int64_t max_length);
// The aclImdb/{train,test}/{pos,neg}/*.txt folders of one split (`split_dir` = .../train).
std::vector<Example> read_imdb_folder(const fs::path& split_dir, int64_t max_length);
// <path>/aclImdb, <path> itself with train/ and test/, <path>/{train,test}.csv, or one CSV.
TaskData load_text(const TaskConfig& config);
std::vector<fs::path> text_sources(const TaskConfig& config);

// Matching (AAN): TSV without header, "label id1 id2 text1 text2"; each text cut to its first
// 10,000 bytes, then to max_length tokens.
std::vector<Example> read_matching_tsv(const fs::path& path, int64_t max_length);
TaskData load_matching(const TaskConfig& config);
std::vector<fs::path> matching_sources(const TaskConfig& config);

// CIFAR-10 binary batches: 3073-byte records (label, 1024 R, 1024 G, 1024 B), converted to
// grayscale round(0.2989 R + 0.5870 G + 0.1140 B).
std::vector<Example> read_cifar10_batch(const fs::path& path);
TaskData load_cifar10(const TaskConfig& config);
std::vector<fs::path> cifar10_sources(const TaskConfig& config);

// Fashion-MNIST IDX files, gzipped or not.
std::vector<Example> read_idx_dataset(const fs::path& images, const fs::path& labels);
TaskData load_fmnist(const TaskConfig& config);
std::vector<fs::path> fmnist_sources(const TaskConfig& config);

// Pathfinder: metadata/*.npy text lines "<dir> <file> <x> <label> ..." and 32x32 PNG images.
std::vector<uint8_t> decode_png_gray(const fs::path& path, int64_t expected_side);
std::vector<Example> read_pathfinder_metadata(const fs::path& difficulty_dir,
                                              const fs::path& metadata_file);
TaskData load_pathfinder(const TaskConfig& config);
std::vector<fs::path> pathfinder_sources(const TaskConfig& config);
// task.pathfinder_difficulty: the difficulty folder of the release, one of LRA's three.
keys::Key<TaskConfig> pathfinder_difficulty_key();

// The fixed seed of the splits that are shuffled before slicing (text validation,
// Pathfinder's 80/10/10): the split never depends on the training seed.
inline constexpr uint64_t kSplitSeed = 0x4c554e4152ULL;

}  // namespace lunar::data
