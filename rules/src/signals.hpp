#pragma once
// Private: the animal's signals against its own baselines, from the hourly windows. A baseline
// for an hour is the same clock hour of previous days, so the daily rhythm (HERD.md: activity
// peaks at feeding and milking, rumination mostly at night, temperature highest in the evening)
// cancels out.
#include <cstdint>
#include <optional>

#include "herd/rules/animal_state.hpp"

namespace herd::rules::detail {

// Mean of the clean temperature readings in the hour, 0.01 °C.
std::optional<std::int32_t> hour_temp_mean(const animal_state& s, std::int64_t hour);

struct temp_ref {
  std::int32_t value = 0;  // 0.01 °C
  int days = 0;
};
// The clean mean of hours hour-1..hour+1 of each of the `days` previous days, averaged over the
// days that had readings there (at least `min_days`).
std::optional<temp_ref> same_hour_temp_baseline(const animal_state& s, std::int64_t hour, int days = 7,
                                                int min_days = 3);

// Mean over hours [from, to] of (hour mean - its same-hour baseline), weighted by readings.
std::optional<std::int32_t> temp_excess(const animal_state& s, std::int64_t from_hour, std::int64_t to_hour,
                                        int days = 7, int min_days = 3);

// Steps or rumination over hours [from, to] against what the same hours of previous days give
// for the same coverage. Hours without a baseline (fewer than min_days earlier days with at least
// half the hour covered) are left out of both.
struct flow {
  std::int64_t actual = 0;
  std::int64_t expected = 0;
  std::int64_t covered_s = 0;
  // Percent of the expected figure, 100 = as usual; nullopt-like 0 expected -> 100.
  std::int32_t pct() const { return expected > 0 ? static_cast<std::int32_t>(actual * 100 / expected) : 100; }
};
enum class signal { steps, rumination };

// Days (UTC, since the epoch) that must not be part of a rumination baseline: the animal's
// rumination was depressed then (a calving, an illness), so a baseline holding them is already
// low and a new drop against it looks small (a fresh cow's ketosis 5-20 days after calving,
// HERD.md, has its calving in the 7-day baseline). A day is left out when
// - its rumination is >= thresholds::baseline_depressed_pct below the median of the animal's
//   daily rumination over the days kept (k_day_window), or
// - it is within the calving hours of a calving alert (HERD.md: rumination -33 % over the
//   calving day, -27 % in its last 6 h; the alert comes hours before the birth).
// Bit i of `bits` = day first_day + i.
struct day_mask {
  std::int64_t first_day = 0;
  std::uint32_t bits = 0;
  bool has(std::int64_t day) const {
    const std::int64_t i = day - first_day;
    return i >= 0 && i < 32 && ((bits >> i) & 1U) != 0;
  }
  void set(std::int64_t day) {
    const std::int64_t i = day - first_day;
    if (i >= 0 && i < 32) bits |= 1U << i;
  }
};
// The mask for rules evaluated on `today` (days before it only). With `with_illness`, also the
// days of a rumination_drop alert that was open for >= thresholds::baseline_illness_min_ms,
// from a day before it to a day after it cleared (or to today while it is open): after a long
// illness the median is itself depressed.
day_mask depressed_days(const animal_state& s, std::int64_t today, bool with_illness = false);

// `skip`: baseline days left out (the hours of those UTC days), nullptr = none.
flow vs_baseline(const animal_state& s, signal sig, std::int64_t from_hour, std::int64_t to_hour,
                 int days = 7, int min_days = 4, const day_mask* skip = nullptr);

// Hours [from, to] (24 of them, so the daily rhythm cancels out) against the mean daily figure
// of the `days` newest days before from_hour's day that `skip` leaves in, within the 16-day
// daily window, for the same coverage. Expected 0 with fewer than `min_days` such days.
flow vs_healthy_days(const animal_state& s, signal sig, std::int64_t from_hour, std::int64_t to_hour,
                     const day_mask& skip, int days = 7, int min_days = 4);

// The 24 h ending with hour `hour` against the animal's healthy days (the rumination rule's and
// the herd context's baseline), the first of these that has enough healthy days:
// 1. the same hours of the previous 7 days, depressed and long-illness days left out;
// 2. the mean of those healthy days further back, in the 16-day daily window (an illness of
//    several days leaves too few in the 8 days of hours);
// 3. the same hours of the previous 7 days, only depressed days left out (an animal with no
//    healthy day kept, e.g. ill since her data began: her recent level, so that her alert can
//    clear and she is watched again).
// `steps` is filled only with `with_steps`; `skip` is the mask used.
struct healthy_comparison {
  flow rumination;
  flow steps;
  day_mask skip;
};
healthy_comparison vs_healthy(const animal_state& s, std::int64_t hour, bool with_steps);

// Steps or rumination (0.1 min per day) of the 24 h ending with hour `to_hour` (`later`) and of
// the 24 h ending `lag_h` hours before it (`earlier`), over the same clock hours only: those that
// readings cover for >= 30 min in both, each hour scaled to a full hour, the sums to a full day.
// So the daily rhythm (rumination is mostly at night) and a gap in either day cancel out.
// nullopt when fewer than `min_hours` hours are shared. Pure; any thread.
struct day_pair {
  std::int64_t later = 0, earlier = 0;
};
std::optional<day_pair> matched_days(const animal_state& s, signal sig, std::int64_t to_hour, std::int64_t lag_h,
                                     int min_hours);

}  // namespace herd::rules::detail
