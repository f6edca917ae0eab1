// Every subcommand registers itself on the top-level CLI::App; main.cpp only dispatches.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "lunar/core/choice.h"

namespace lunar::cli {

// An option taking one of the names of E's table (lunar::names<E>()), stored in `target`.
template <typename E>
CLI::Option* add_choice(CLI::App* cmd, const std::string& flag, E& target,
                        const std::string& description) {
  return cmd
      ->add_option_function<std::string>(
          flag, [&target, flag](const std::string& name) { target = parse<E>(name, flag); },
          description)
      ->check(CLI::IsMember(names<E>()));
}

// Thrown by a command that stopped on SIGINT or SIGTERM after saving its state: main exits
// with 128 + `signal` (130, 143), as a shell reports a process killed by that signal, so
// schedulers can tell an interrupted run from a finished one.
struct Interrupted {
  int signal;
};

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
