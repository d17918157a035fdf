#pragma once
// Helpers shared by the herd simulator's tests (herd_test.cpp, herd_month_test.cpp).
#include <cstdint>
#include <string>

#include "herd/sim/herd.hpp"

namespace herd::sim::testing {

inline constexpr std::int64_t k_day = 86'400'000;
inline constexpr std::int64_t k_hour = 3'600'000;

// The device index (0-based) of a collar or bolus topic ".../collar/C-00042/..." -> 41.
inline int device_of(const std::string& topic) {
  const auto at = topic.find("/collar/C-");
  return std::stoi(topic.substr(at + 10, 5)) - 1;
}

// `o` with every device fault off: offline gaps, duplicates, malformed frames, fallen or moved collars.
inline herd_options no_faults(herd_options o) {
  o.faults.offline_per_device_day = o.faults.duplicate_pct = o.faults.malformed_pct = 0;
  o.faults.fall_off_per_collar_year = o.faults.move_per_collar_year = 0;
  return o;
}

}  // namespace herd::sim::testing
