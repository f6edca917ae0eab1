// lunar's command line: parses the subcommand and turns exceptions into exit codes.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/core/spelling.h"

int main(int argc, char** argv) {
  // Line by line into pipes and log files too, so a log shows where a run is.
  if (isatty(STDOUT_FILENO) == 0) std::setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{
      "lunar: train, diagnose and run shared-memory Transformers (Luna, PreLuna, ConvLuna)"};
  app.require_subcommand(1);
  lunar::cli::register_models(app);
  lunar::cli::register_data(app);
  lunar::cli::register_train(app);
  lunar::cli::register_eval(app);
  lunar::cli::register_predict(app);
  lunar::cli::register_weights(app);
  lunar::cli::register_inspect(app);
  lunar::cli::register_launch(app);
  lunar::cli::register_bench(app);
  lunar::cli::register_sweep(app);
  lunar::cli::register_report(app);
  if (argc == 1) {  // no command: the list of commands, as --help prints it
    std::cerr << app.help();
    return 1;
  }
  // A misspelt command gets a suggestion (CLI11 alone says "A subcommand is required").
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> commands;
    for (const auto* command : app.get_subcommands({})) commands.push_back(command->get_name());
    if (std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
      const auto closest = lunar::closest_spelling(argv[1], commands);
      std::cerr << "lunar: error: unknown command '" << argv[1] << "'"
                << (closest ? " (did you mean " + *closest + "?)" : std::string())
                << "; lunar --help lists the commands\n";
      return 1;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const lunar::cli::Interrupted& stop) {
    return 128 + stop.signal;
  } catch (const lunar::Error& error) {
    std::cerr << "lunar: error: " << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "lunar: internal error: " << error.what() << "\n";
    return 2;
  }
  return 0;
}
