// Every subcommand registers itself on the top-level CLI::App; main.cpp only dispatches.
#pragma once

#include <CLI/CLI.hpp>

namespace lunar::cli {

void register_models(CLI::App& app);
void register_data(CLI::App& app);
void register_train(CLI::App& app);
void register_eval(CLI::App& app);
void register_predict(CLI::App& app);
void register_weights(CLI::App& app);  // export and import
void register_inspect(CLI::App& app);
void register_launch(CLI::App& app);  // local ranks of a distributed run
void register_bench(CLI::App& app);
void register_sweep(CLI::App& app);
void register_report(CLI::App& app);

}  // namespace lunar::cli
