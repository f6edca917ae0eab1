// Async-signal-safe stop flag holding the signal that set it.
#include "lunar/train/signals.h"

#include <csignal>

namespace lunar::train {

namespace {
volatile std::sig_atomic_t stop_flag = 0;  // the signal number, 0 = no stop requested

extern "C" void handle_stop(int signal) {
  if (stop_flag) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
  stop_flag = signal;
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, handle_stop);
  std::signal(SIGTERM, handle_stop);
}

bool stop_requested() { return stop_flag != 0; }
int stop_signal() { return stop_flag; }
void clear_stop_request() { stop_flag = 0; }

}  // namespace lunar::train
