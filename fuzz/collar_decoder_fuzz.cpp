// libFuzzer: the collar payload decoder (sensors/collar_format). Any bytes from any publisher
// must give a reading or a dead-letter reason, never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "herd/sensors/collar_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  auto r = herd::sensors::decode_collar_message("farm/f1/collar/C-1/telemetry", payload);
  if (r) {
    // What a successful decode promises (README, the collar MQTT format).
    if (r->temp_c && (*r->temp_c < 25 || *r->temp_c > 45)) __builtin_trap();
    if (r->batt_pct && *r->batt_pct > 100) __builtin_trap();
    if (size > herd::sensors::k_max_collar_payload) __builtin_trap();
  }
  return 0;
}
