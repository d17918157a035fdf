#pragma once
// Private: how one decoded reading changes the state's windows (fold.cpp validates first).
#include <cstdint>
#include <optional>
#include <string>

#include "herd/rules/animal_state.hpp"

namespace herd::rules::detail {

// A validated collar.reading.v1 in the state's fixed-point units.
struct reading {
  std::string collar_id;
  std::uint32_t seq = 0;
  std::int64_t at_ms = 0;                  // occurred_at: the end of the interval
  std::optional<std::int32_t> temp_centi;  // 0.01 °C
  std::optional<std::uint32_t> steps;
  std::optional<std::uint32_t> rum_deci;   // 0.1 min
  std::optional<std::int32_t> interval_s;
  std::optional<std::int32_t> battery_pct;
  std::optional<std::int32_t> rssi_dbm;
};

// Drinking-dip marking (HERD.md: dips 2.3 ± 1.8 °C, recovery 30-103 min, masked ~2 h).
inline constexpr std::int32_t k_dip_drop_centi = 50;      // 0.5 °C below the level: a dip [guess:
                                                           // healthy change within 3 h < 0.3 °C]
inline constexpr std::int32_t k_recovering_centi = 20;    // still 0.2 °C below: masked
inline constexpr std::int64_t k_dip_ref_ms = 3 * k_hour_ms;   // level: median of clean readings
inline constexpr std::int64_t k_dip_mask_ms = 2 * k_hour_ms;  // HERD.md: masked ~2 h
inline constexpr std::int32_t k_no_ref_dip_centi = 3650;  // below 36.5 °C with no level: a dip
// A collar lying in the bedding: no steps, no rumination, temperature absent (outside the
// sensor's 25-45 °C) or below this [guess: a living cow's core is > 35 °C outside a bolus's
// drinking dips; ambient in a barn is far below].
inline constexpr std::int32_t k_lifeless_temp_centi = 3200;

// Updates latest values, the collar, the windows and evicts what fell out of them. Returns the
// flags given to the reading's temperature point (0 when it had none or it was too old).
std::uint8_t add_reading(animal_state& s, const reading& r);

// No sign of a living animal in the reading (a fallen collar).
bool is_lifeless(const reading& r);

// The collar's entry, created when absent (kept sorted by id).
collar_state& collar_entry(animal_state& s, const std::string& collar_id);

}  // namespace herd::rules::detail
