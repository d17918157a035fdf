#include "herd/rules/herd_context.hpp"

#include <algorithm>

#include "herd/rules/thresholds.hpp"
#include "herd/rules/windows.hpp"
#include "signals.hpp"

namespace herd::rules {

namespace {
std::int32_t median(std::vector<std::int32_t>& v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

herd_context compute_herd_context(std::span<const animal_state* const> animals, std::int64_t now_ms) {
  herd_context c;
  c.at_ms = now_ms;
  const std::int64_t H = hour_of(now_ms);
  std::vector<std::int32_t> temps, rums, temps3, rums6;
  for (const animal_state* s : animals) {
    if (s == nullptr || s->newest_ms < now_ms - 3 * k_hour_ms) continue;
    if (const auto ex = detail::temp_excess(*s, H - 2, H)) temps.push_back(*ex);
    if (const auto ex = detail::temp_excess(*s, H - 2, H, 3, 1)) temps3.push_back(*ex);
    // The same baseline as the rumination rule's (its depressed days left out).
    const auto f = detail::vs_healthy(*s, H, false).rumination;
    if (f.covered_s >= thresholds::rumination_min_covered_s && f.expected > 0) rums.push_back(100 - f.pct());
    const auto f6 = detail::vs_baseline(*s, detail::signal::rumination, H - 5, H, 3, 2);
    if (f6.covered_s >= 4 * 3600 && f6.expected > 0) rums6.push_back(100 - f6.pct());
  }
  c.animals = static_cast<std::int32_t>(std::max({temps.size(), rums.size(), temps3.size(), rums6.size()}));
  const auto med = [](std::vector<std::int32_t>& v) {
    return static_cast<int>(v.size()) >= k_min_context_animals ? median(v) : 0;
  };
  c.temp_excess_centi = med(temps);
  c.rum_drop_pct = med(rums);
  c.temp_vs_recent_centi = med(temps3);
  c.rum6_drop_pct = med(rums6);
  return c;
}

std::vector<rule_readiness> readiness(const animal_state& s, std::int64_t now_ms) {
  const std::int64_t H = hour_of(now_ms), D = day_of(now_ms);
  std::vector<rule_readiness> out;
  const auto temp_ref = detail::same_hour_temp_baseline(s, H, 7, 1);
  const int temp_days = temp_ref ? temp_ref->days : 0;
  out.push_back({alert_kind::fever, true,
                 temp_days >= 3 ? "own baseline: " + std::to_string(temp_days) + " days at this hour"
                                : "absolute 39.7 °C only: own baseline needs 3 days at this hour, has " +
                                      std::to_string(temp_days)});
  // Steps / rumination: days with half of this hour covered among the previous 7.
  const auto days_with = [&](std::int64_t h) {
    int n = 0;
    for (int d = 1; d <= 7; ++d) {
      const hour_bucket* b = find_hour(s, h - 24 * d);
      n += b && b->covered_s >= 1800;
    }
    return n;
  };
  const int act_days = days_with(H);
  out.push_back({alert_kind::estrus, act_days >= 4, "activity baseline: " + std::to_string(act_days) + " of 4 days needed"});
  const int rum_days = std::min(days_with(H), days_with(H - 23));
  out.push_back({alert_kind::rumination_drop, rum_days >= 4,
                 "rumination baseline: " + std::to_string(rum_days) + " of 4 days needed"});
  const auto ab = activity_baseline(s, D - thresholds::lameness_recent_days - thresholds::lameness_baseline_lag_days + 1,
                                    thresholds::lameness_baseline_days, 1);
  const int lame_days = ab ? ab->days : 0;
  out.push_back({alert_kind::lameness, lame_days >= 4,
                 "lagged activity baseline: " + std::to_string(lame_days) + " of 4 whole days needed"});
  const int calv_days = std::min(temp_ref ? 1 : 0, days_with(H) >= 2 ? 1 : 0);
  out.push_back({alert_kind::calving, calv_days == 1,
                 calv_days ? "previous days' temperature and rumination at this hour"
                           : "needs temperature of a previous day and rumination of 2 at this hour"});
  return out;
}

}  // namespace herd::rules
