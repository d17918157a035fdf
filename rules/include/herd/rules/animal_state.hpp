#pragma once
// The per-animal state the projector keeps in its read model and the rules read: a value type
// built by the pure fold (fold.hpp) from the animal's events. Default-constructed = an animal
// never seen. All figures are fixed-point integers (no floating point in the state), so a state
// and its encoding are identical on every platform.
//
// Time: ms since the Unix epoch, UTC; hours and days are UTC hours / days since the epoch.
// Windows are bounded by the animal's newest event time (`newest_ms`): hourly buckets for
// k_hour_window hours, daily summaries for k_day_window days, the temperature series for
// k_temp_series_ms. Older data is dropped; a late reading older than a window still updates the
// windows it falls in (a reading older than all of them only updates its collar's counters).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/rules/alert.hpp"

namespace herd::rules {

inline constexpr std::int64_t k_hour_ms = 3'600'000;
inline constexpr std::int64_t k_day_ms = 86'400'000;
// 8 days of hours: 2-h activity blocks against the same blocks of the previous 7 days
// (HERD.md: activity vs own baseline over 2-h blocks), temperature vs the same hours of the
// previous 1-3 days (HERD.md: calving rule).
inline constexpr int k_hour_window = 8 * 24;
// 16 days of daily summaries: the 10-day temperature baseline (HERD.md: mean of the previous
// 10 days) and the 7-day rumination baseline of days up to a few days back, plus margin.
inline constexpr int k_day_window = 16;
// 26 h of individual temperature readings with drinking dips marked (a bolus: 144/day).
inline constexpr std::int64_t k_temp_series_ms = 26 * k_hour_ms;
// Collars not heard from for this long are forgotten (they now sit on another animal or are
// gone); offline alerts are raised long before.
inline constexpr std::int64_t k_collar_forget_ms = 14 * k_day_ms;

// What the animal's herd mates show at the same time (herd_context.hpp computes it): a
// herd-wide heat-stress day raises everyone's temperature and lowers everyone's rumination
// (HERD.md: heat stress), so individual rules compare against the herd as well as the animal.
struct herd_context {
  std::int64_t at_ms = 0;               // event time it was computed for; 0 = none given
  std::int32_t temp_excess_centi = 0;   // median temperature of the last 3 h over own 7-day
                                        // same-hour baseline
  std::int32_t rum_drop_pct = 0;        // median rumination drop of the last 24 h vs own 7-day
                                        // same-hour baseline, %
  std::int32_t temp_vs_recent_centi = 0;  // median temperature of the last 3 h vs the same hours
                                          // of the previous 1-3 days (calving rule)
  std::int32_t rum6_drop_pct = 0;       // median rumination drop of the last 6 h vs the same
                                        // hours of the previous 3 days (calving rule), %
  std::int32_t animals = 0;             // animals it was computed from
  bool operator==(const herd_context&) const = default;
};

// What rules remember between events beyond their alerts.
struct rule_memory {
  std::int64_t estrus_last_high_ms = 0;  // event time of the last 2-h block over the heat ratio
  std::int64_t estrus_onset_ms = 0;      // estimated onset of the current / last heat
  bool operator==(const rule_memory&) const = default;
};

// Newest value of one signal: the value of the reading with the newest occurred_at.
struct latest_value {
  std::int64_t at_ms = 0;  // 0 = never seen
  std::int32_t value = 0;
  bool operator==(const latest_value&) const = default;
};

struct latest_readings {
  latest_value temp_centi_c;   // body temperature, 0.01 °C
  latest_value steps;          // steps in that reading's interval
  latest_value rum_deci_min;   // rumination in that reading's interval, 0.1 min
  latest_value battery_pct;
  latest_value rssi_dbm;
  bool operator==(const latest_readings&) const = default;
};

// A device the animal wears (or wore): collar or bolus, both send collar.reading.v1.
struct collar_state {
  std::string collar_id;
  std::uint32_t last_seq = 0;         // collar_seq of the newest reading (by occurred_at)
  std::int64_t first_seen_ms = 0;     // oldest occurred_at seen
  std::int64_t last_seen_ms = 0;      // newest occurred_at seen
  std::int32_t interval_s = 0;        // of the newest reading; 0 = not sent
  std::int32_t battery_pct = -1;      // of the newest reading; -1 = not sent
  std::int32_t rssi_dbm = 0;          // of the newest reading
  bool has_rssi = false;
  std::uint64_t readings = 0;         // readings applied
  // Fallen-off detection: consecutive newest readings with no sign of life (steps 0,
  // rumination 0, temperature absent or ambient-like); 0 = the newest reading was alive.
  std::int64_t lifeless_since_ms = 0;
  std::int32_t lifeless_count = 0;
  bool operator==(const collar_state&) const = default;
};

// One UTC hour. Readings are split over the hours their interval [occurred_at - interval_s,
// occurred_at) overlaps, in proportion (totals are kept exactly). A 2-h block is two hours.
struct hour_bucket {
  std::int64_t hour = 0;              // hours since the epoch
  std::uint32_t steps = 0;
  std::uint32_t rum_deci_min = 0;     // 0.1 min
  std::uint32_t covered_s = 0;        // seconds of the hour the readings cover
  std::int32_t temp_sum_centi = 0;    // clean temperature readings (not a dip, not masked)
  std::uint16_t temp_n = 0;
  std::int16_t temp_max_centi = 0;    // of the clean readings; valid when temp_n > 0
  std::uint16_t dip_n = 0;            // readings marked drinking dip or masked after one
  bool operator==(const hour_bucket&) const = default;
};

// One UTC day, the same sums as the hours.
struct day_summary {
  std::int64_t day = 0;               // days since the epoch
  std::uint32_t steps = 0;
  std::uint32_t rum_deci_min = 0;
  std::uint32_t covered_s = 0;
  std::int64_t temp_sum_centi = 0;
  std::uint32_t temp_n = 0;
  std::int16_t temp_max_centi = 0;
  std::uint32_t dip_n = 0;
  bool operator==(const day_summary&) const = default;
};

// One temperature reading. A drinking dip (HERD.md: 2.3 ± 1.8 °C, recovery 30-103 min) is a
// reading well below the animal's level of the previous hours; readings still recovering within
// 2 h of a dip are masked (HERD.md: fever rules are masked ~2 h after a drinking dip).
struct temp_point {
  static constexpr std::uint8_t dip = 1;
  static constexpr std::uint8_t masked = 2;
  std::int64_t at_ms = 0;
  std::int16_t centi_c = 0;
  std::uint8_t flags = 0;
  bool clean() const { return flags == 0; }
  bool operator==(const temp_point&) const = default;
};

struct animal_state {
  std::string animal_id;              // the aggregate id; empty = never seen
  std::int64_t newest_ms = 0;         // newest occurred_at applied (the animal's event time)
  std::int64_t advanced_ms = 0;       // newest `now` given to advance()
  std::uint64_t events = 0;           // events applied
  latest_readings latest;
  std::vector<collar_state> collars;  // sorted by collar_id
  std::vector<hour_bucket> hours;     // sorted by hour, at most k_hour_window
  std::vector<day_summary> days;      // sorted by day, at most k_day_window
  std::vector<temp_point> temps;      // sorted by at_ms (ties: arrival order), k_temp_series_ms
  std::vector<alert> alerts;          // open alerts and recently resolved ones, by started_at
  herd_context herd;                  // the last herd context given to advance()
  rule_memory memory;
  bool operator==(const animal_state&) const = default;
};

// Deterministic bytes: equal states give equal bytes (digests compare them). A compact
// versioned binary format (rules/src/codec.cpp: magic "HRS", version, varints). Not thread-
// sensitive: pure functions.
std::string encode(const animal_state& s);
// Errors: permanent, on bytes that are not an encoded state (truncated, wrong magic or version,
// trailing bytes, values out of range).
core::result<animal_state> decode(std::string_view bytes);

}  // namespace herd::rules
