// Every subcommand registers itself on the top-level CLI::App; main.cpp only dispatches.
#pragma once

#include <CLI/CLI.hpp>

namespace lunar::cli {

void register_models(CLI::App& app);

}  // namespace lunar::cli
