// libFuzzer: the collar registry loader (gateway/registry). Whatever it accepts holds only ids
// that pass the documented rule, and every lookup answers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "herd/core/ids.hpp"
#include "herd/gateway/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto reg = herd::gateway::collar_registry::parse_csv(text, "fuzz.csv");
  if (!reg) return 0;
  for (const char* collar : {"C-1", "C-2", "x"}) {
    for (const std::int64_t at : {std::int64_t{0}, std::int64_t{1'780'000'000'000}, INT64_MAX}) {
      auto animal = reg->animal_at(collar, at);
      if (animal && herd::core::animal_id_problem(*animal)) __builtin_trap();
    }
  }
  return 0;
}
