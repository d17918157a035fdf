#include <herd/test_support/paths.hpp>

#include <cstdlib>
#include <sstream>

// Both come from tests/support/CMakeLists.txt.
#ifndef HERD_BINARY_DIR
#error "HERD_BINARY_DIR must be defined by the build"
#endif
#ifndef HERD_SOURCE_DIR
#error "HERD_SOURCE_DIR must be defined by the build"
#endif

namespace herd::test_support {

std::string binary_dir() { return HERD_BINARY_DIR; }
std::string source_dir() { return HERD_SOURCE_DIR; }

command_line gateway_command(const std::vector<std::string>& herdgate_args) {
  std::vector<std::string> cmd;
  if (const char* emulator = std::getenv("HERD_GATEWAY_EMULATOR"); emulator != nullptr) {
    std::istringstream words(emulator);
    for (std::string w; words >> w;) cmd.push_back(w);
  }
  const char* binary = std::getenv("HERD_GATEWAY_BINARY");
  cmd.push_back(binary != nullptr && *binary != '\0' ? binary : binary_dir() + "/gateway/herdgate");
  cmd.insert(cmd.end(), herdgate_args.begin(), herdgate_args.end());
  return {cmd.front(), std::vector<std::string>(cmd.begin() + 1, cmd.end())};
}

}  // namespace herd::test_support
