#pragma once
#include <string>
#include <vector>

namespace herd::test_support {

// The CMake build tree (${CMAKE_BINARY_DIR}) the tests were built in, to find programs
// such as binary_dir() + "/cloud/herd-dev-kafka".
std::string binary_dir();

// The source tree (${CMAKE_SOURCE_DIR}), to find sample configs and test data.
std::string source_dir();

// The herdgate that tests and benches run, with `herdgate_args` (its own arguments): this build's,
// or another one named by the environment variable HERD_GATEWAY_BINARY (e.g. the aarch64 build in
// .ci/run), run through HERD_GATEWAY_EMULATOR when set (e.g. "qemu-aarch64 -L /", split at
// spaces). Reads the environment at each call; never fails.
struct command_line {
  std::string program;            // the emulator, or herdgate
  std::vector<std::string> args;  // what follows it: herdgate (under an emulator), then herdgate_args
};
command_line gateway_command(const std::vector<std::string>& herdgate_args);

}  // namespace herd::test_support
