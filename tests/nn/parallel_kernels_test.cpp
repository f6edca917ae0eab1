// at::parallel_for's OpenMP pragma sits in a LibTorch header: a file compiled without OpenMP runs
// it on one thread without a word. Every source file that calls it must be compiled on its own
// with the OpenMP flags (the nn_parallel_kernels list in src/CMakeLists.txt).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace {
namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ParallelKernels, EveryFileCallingParallelForIsCompiledWithOpenMP) {
  std::ifstream commands_file(fs::path(LUNAR_BUILD_DIR) / "compile_commands.json");
  ASSERT_TRUE(commands_file) << "no compile_commands.json in " << LUNAR_BUILD_DIR;
  std::map<fs::path, std::string> command_of;
  for (const auto& entry : nlohmann::json::parse(commands_file)) {
    command_of[fs::weakly_canonical(entry.at("file").get<std::string>())] =
        entry.at("command").get<std::string>();
  }
  int calling = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(LUNAR_SOURCE_DIR) / "src")) {
    if (entry.path().extension() != ".cpp") continue;
    if (read_text(entry.path()).find("at::parallel_for") == std::string::npos) continue;
    ++calling;
    const auto found = command_of.find(fs::weakly_canonical(entry.path()));
    ASSERT_NE(found, command_of.end())
        << entry.path() << " calls at::parallel_for inside a unity batch: add it to "
        << "nn_parallel_kernels in src/CMakeLists.txt";
    EXPECT_NE(found->second.find("-fopenmp"), std::string::npos)
        << entry.path() << " calls at::parallel_for but is compiled without OpenMP";
  }
  EXPECT_GE(calling, 3);  // the fused attention, filter and dropout-bits kernels at least
}
}  // namespace
