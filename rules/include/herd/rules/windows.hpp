#pragma once
// Read-only views over an animal_state's windows: daily figures normalised for coverage and
// the baselines the rules compare against. Pure functions; units in the names.
#include <cstdint>
#include <optional>

#include "herd/rules/animal_state.hpp"

namespace herd::rules {

// A day counts for a baseline when its readings cover at least this share of it [guess: a day
// with most of its data missing would bias a daily total].
inline constexpr std::uint32_t k_min_day_coverage_s = 18 * 3600;

struct day_figures {
  std::int64_t day = 0;
  std::int32_t steps = 0;            // scaled to 24 h of coverage
  std::int32_t rum_min = 0;          // minutes, scaled to 24 h of coverage
  std::int32_t temp_mean_centi = 0;  // clean readings; 0 when temp_n == 0
  std::uint32_t temp_n = 0;
  std::uint32_t covered_s = 0;
};

// The day's figures, or nullopt when the day is not in the window or covered < min_covered_s.
std::optional<day_figures> figures_of_day(const animal_state& s, std::int64_t day,
                                          std::uint32_t min_covered_s = k_min_day_coverage_s);

struct baseline {
  std::int32_t value = 0;  // mean over the days used, unit as the figure
  int days = 0;            // days that had enough data
};

// Mean daily rumination (min/day) over the `n` days before `day` (HERD.md: 7-day rolling mean).
std::optional<baseline> rumination_baseline(const animal_state& s, std::int64_t day, int n = 7,
                                            int min_days = 5);
// Mean daily steps over the `n` days before `day`.
std::optional<baseline> activity_baseline(const animal_state& s, std::int64_t day, int n = 7,
                                          int min_days = 5);
// Mean clean temperature (0.01 °C) over the `n` days before `day` (HERD.md: previous 10 days).
std::optional<baseline> temperature_baseline(const animal_state& s, std::int64_t day, int n = 10,
                                             int min_days = 4);

// The hour bucket, or null.
const hour_bucket* find_hour(const animal_state& s, std::int64_t hour);
const day_summary* find_day(const animal_state& s, std::int64_t day);

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}
constexpr std::int64_t hour_of(std::int64_t ms) { return floor_div(ms, k_hour_ms); }
constexpr std::int64_t day_of(std::int64_t ms) { return floor_div(ms, k_day_ms); }

}  // namespace herd::rules
