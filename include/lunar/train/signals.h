// SIGINT/SIGTERM turn into a stop request the training loop polls between steps, so a run
// saves a checkpoint and exits cleanly instead of dying mid-write.
#pragma once

namespace lunar::train {

// Installs the handlers (idempotent). A second signal while a stop is pending kills the
// process with the default action.
void install_stop_handlers();
bool stop_requested();
// The signal that requested the stop (SIGINT or SIGTERM); 0 when none did.
int stop_signal();
void clear_stop_request();

}  // namespace lunar::train
