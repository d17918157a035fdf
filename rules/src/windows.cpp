#include "herd/rules/windows.hpp"

#include <algorithm>

namespace herd::rules {

const hour_bucket* find_hour(const animal_state& s, std::int64_t hour) {
  // Hours are nearly always contiguous: try the direct index first.
  if (s.hours.empty() || hour < s.hours.front().hour || hour > s.hours.back().hour) return nullptr;
  const auto idx = static_cast<std::size_t>(hour - s.hours.front().hour);
  if (idx < s.hours.size() && s.hours[idx].hour == hour) return &s.hours[idx];
  auto it = std::lower_bound(s.hours.begin(), s.hours.end(), hour,
                             [](const hour_bucket& b, std::int64_t x) { return b.hour < x; });
  return it != s.hours.end() && it->hour == hour ? &*it : nullptr;
}

const day_summary* find_day(const animal_state& s, std::int64_t day) {
  auto it = std::lower_bound(s.days.begin(), s.days.end(), day,
                             [](const day_summary& b, std::int64_t x) { return b.day < x; });
  return it != s.days.end() && it->day == day ? &*it : nullptr;
}

std::optional<day_figures> figures_of_day(const animal_state& s, std::int64_t day,
                                          std::uint32_t min_covered_s) {
  const day_summary* d = find_day(s, day);
  if (d == nullptr || d->covered_s < min_covered_s || d->covered_s == 0) return std::nullopt;
  day_figures f;
  f.day = day;
  f.covered_s = d->covered_s;
  const std::uint64_t cov = std::min<std::uint64_t>(d->covered_s, 86'400);
  f.steps = static_cast<std::int32_t>(std::uint64_t{d->steps} * 86'400 / cov);
  f.rum_min = static_cast<std::int32_t>(std::uint64_t{d->rum_deci_min} * 86'400 / cov / 10);
  f.temp_n = d->temp_n;
  f.temp_mean_centi = d->temp_n ? static_cast<std::int32_t>(d->temp_sum_centi / d->temp_n) : 0;
  return f;
}

namespace {

template <class F>
std::optional<baseline> mean_over(const animal_state& s, std::int64_t day, int n, int min_days, F value) {
  std::int64_t sum = 0;
  int used = 0;
  for (std::int64_t d = day - n; d < day; ++d) {
    const auto f = figures_of_day(s, d);
    if (!f) continue;
    const auto v = value(*f);
    if (!v) continue;
    sum += *v;
    ++used;
  }
  if (used < min_days || used == 0) return std::nullopt;
  return baseline{static_cast<std::int32_t>(sum / used), used};
}

}  // namespace

std::optional<baseline> rumination_baseline(const animal_state& s, std::int64_t day, int n, int min_days) {
  return mean_over(s, day, n, min_days, [](const day_figures& f) { return std::optional<std::int32_t>(f.rum_min); });
}

std::optional<baseline> activity_baseline(const animal_state& s, std::int64_t day, int n, int min_days) {
  return mean_over(s, day, n, min_days, [](const day_figures& f) { return std::optional<std::int32_t>(f.steps); });
}

std::optional<baseline> temperature_baseline(const animal_state& s, std::int64_t day, int n, int min_days) {
  return mean_over(s, day, n, min_days, [](const day_figures& f) {
    // A day with only a few clean readings (a bolus masked by drinking most of the day) is not a
    // baseline day [guess: 12 readings].
    return f.temp_n >= 12 ? std::optional<std::int32_t>(f.temp_mean_centi) : std::nullopt;
  });
}

}  // namespace herd::rules
