#pragma once
// SIGINT/SIGTERM for the simulator programs: the first one sets a flag the main loop polls (stop
// publishing or serving, finish cleanly, print the summary); SA_RESETHAND makes a second one kill
// the process as usual.
#include <atomic>

namespace herd::sim {

// Installs the handler for SIGINT and SIGTERM. Call once, from main.
void install_stop_handler();
// Set by the handler; lock-free, so a signal handler may write it.
std::atomic<bool>& stop_flag();

}  // namespace herd::sim
