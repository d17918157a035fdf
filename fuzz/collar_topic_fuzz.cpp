// libFuzzer: the collar topic parser. Whatever it accepts must be ids a Kafka key, a CloudEvents
// source and the registry can carry (core::is_valid_topic_id).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "herd/core/ids.hpp"
#include "herd/sensors/collar_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view topic(reinterpret_cast<const char*>(data), size);
  auto t = herd::sensors::parse_collar_topic(topic);
  if (t && (!herd::core::is_valid_topic_id(t->farm_id) || !herd::core::is_valid_topic_id(t->collar_id))) {
    __builtin_trap();
  }
  (void)herd::core::animal_id_problem(topic);
  return 0;
}
