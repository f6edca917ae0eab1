// lunar's command line: parses the subcommand and turns exceptions into exit codes.
#include <exception>
#include <iostream>

#include "commands.h"
#include "lunar/core/error.h"

int main(int argc, char** argv) {
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
