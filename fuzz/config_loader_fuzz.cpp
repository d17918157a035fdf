// libFuzzer: the TOML config loader (gateway/config), from bytes to a validated config or a list
// of problems with key paths.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "herd/gateway/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > herd::gateway::k_max_config_bytes) return 0;  // load_config refuses larger files
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)herd::gateway::parse_config(text, "fuzz.toml");
  return 0;
}
