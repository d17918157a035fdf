#include "signals.hpp"

#include <algorithm>
#include <vector>

#include "herd/rules/thresholds.hpp"
#include "herd/rules/windows.hpp"

namespace herd::rules::detail {

std::optional<std::int32_t> hour_temp_mean(const animal_state& s, std::int64_t hour) {
  const hour_bucket* b = find_hour(s, hour);
  if (b == nullptr || b->temp_n == 0) return std::nullopt;
  return b->temp_sum_centi / b->temp_n;
}

std::optional<temp_ref> same_hour_temp_baseline(const animal_state& s, std::int64_t hour, int days, int min_days) {
  std::int64_t sum = 0;
  int used = 0;
  for (int d = 1; d <= days; ++d) {
    std::int64_t dsum = 0, dn = 0;
    for (std::int64_t h = hour - 24 * d - 1; h <= hour - 24 * d + 1; ++h) {
      if (const hour_bucket* b = find_hour(s, h); b && b->temp_n) {
        dsum += b->temp_sum_centi;
        dn += b->temp_n;
      }
    }
    if (dn == 0) continue;
    sum += dsum / dn;
    ++used;
  }
  if (used < min_days || used == 0) return std::nullopt;
  return temp_ref{static_cast<std::int32_t>(sum / used), used};
}

std::optional<std::int32_t> temp_excess(const animal_state& s, std::int64_t from_hour, std::int64_t to_hour,
                                        int days, int min_days) {
  std::int64_t sum = 0, n = 0;
  for (std::int64_t h = from_hour; h <= to_hour; ++h) {
    const hour_bucket* b = find_hour(s, h);
    if (b == nullptr || b->temp_n == 0) continue;
    const auto ref = same_hour_temp_baseline(s, h, days, min_days);
    if (!ref) continue;
    sum += (b->temp_sum_centi / b->temp_n - ref->value) * b->temp_n;
    n += b->temp_n;
  }
  if (n == 0) return std::nullopt;
  return static_cast<std::int32_t>(sum / n);
}

day_mask depressed_days(const animal_state& s, std::int64_t today, bool with_illness) {
  day_mask m;
  m.first_day = today - 31;
  std::vector<std::int32_t> rum;
  for (std::int64_t d = today - k_day_window; d < today; ++d) {
    if (const auto f = figures_of_day(s, d)) rum.push_back(f->rum_min);
  }
  if (rum.size() >= static_cast<std::size_t>(thresholds::baseline_depressed_min_days)) {
    std::vector<std::int32_t> sorted = rum;
    std::sort(sorted.begin(), sorted.end());
    const std::int64_t ref = sorted[sorted.size() / 2];
    for (std::int64_t d = today - k_day_window; d < today; ++d) {
      const auto f = figures_of_day(s, d);
      if (f && std::int64_t{f->rum_min} * 100 < ref * (100 - thresholds::baseline_depressed_pct)) m.set(d);
    }
  }
  const std::int64_t now = std::max(s.newest_ms, s.advanced_ms);
  for (const alert& a : s.alerts) {
    if (with_illness && a.kind == alert_kind::rumination_drop &&
        (a.open() ? now : a.resolved_at_ms) - a.started_at_ms >= thresholds::baseline_illness_min_ms) {
      const std::int64_t last = a.open() ? today : day_of(a.resolved_at_ms + thresholds::baseline_illness_after_ms);
      for (std::int64_t d = day_of(a.started_at_ms - thresholds::baseline_illness_before_ms); d <= last; ++d) {
        if (d < today) m.set(d);
      }
    }
    if (a.kind != alert_kind::calving) continue;
    for (std::int64_t d = day_of(a.started_at_ms - thresholds::baseline_calving_before_ms);
         d <= day_of(a.started_at_ms + thresholds::baseline_calving_after_ms); ++d) {
      if (d < today) m.set(d);
    }
  }
  return m;
}

flow vs_baseline(const animal_state& s, signal sig, std::int64_t from_hour, std::int64_t to_hour, int days,
                 int min_days, const day_mask* skip) {
  const auto value = [&](const hour_bucket& b) -> std::int64_t {
    return sig == signal::steps ? b.steps : b.rum_deci_min;
  };
  flow f;
  for (std::int64_t h = from_hour; h <= to_hour; ++h) {
    const hour_bucket* b = find_hour(s, h);
    if (b == nullptr || b->covered_s == 0) continue;
    std::int64_t ref_v = 0, ref_cov = 0;
    int used = 0;
    for (int d = 1; d <= days; ++d) {
      const hour_bucket* p = find_hour(s, h - 24 * d);
      if (p == nullptr || p->covered_s < 1800) continue;
      if (skip != nullptr && skip->has(day_of(p->hour * k_hour_ms))) continue;
      ref_v += value(*p);
      ref_cov += p->covered_s;
      ++used;
    }
    if (used < min_days) continue;
    f.actual += value(*b);
    f.expected += ref_v * b->covered_s / ref_cov;
    f.covered_s += b->covered_s;
  }
  return f;
}

flow vs_healthy_days(const animal_state& s, signal sig, std::int64_t from_hour, std::int64_t to_hour,
                     const day_mask& skip, int days, int min_days) {
  flow f;
  const std::int64_t first = day_of(from_hour * k_hour_ms);
  std::int64_t sum = 0;  // steps or 0.1 min, per day
  int used = 0;
  for (std::int64_t d = first - 1; d >= first - k_day_window && used < days; --d) {
    if (skip.has(d)) continue;
    const auto fig = figures_of_day(s, d);
    if (!fig) continue;
    sum += sig == signal::steps ? fig->steps : std::int64_t{fig->rum_min} * 10;
    ++used;
  }
  if (used < min_days) return f;
  for (std::int64_t h = from_hour; h <= to_hour; ++h) {
    const hour_bucket* b = find_hour(s, h);
    if (b == nullptr || b->covered_s == 0) continue;
    f.actual += sig == signal::steps ? b->steps : b->rum_deci_min;
    f.covered_s += b->covered_s;
  }
  f.expected = sum / used * f.covered_s / 86'400;
  return f;
}

healthy_comparison vs_healthy(const animal_state& s, std::int64_t hour, bool with_steps) {
  const std::int64_t today = day_of(hour * k_hour_ms);
  const auto enough = [](const flow& f) {
    return f.covered_s >= thresholds::rumination_min_covered_s && f.expected > 0;
  };
  healthy_comparison c;
  c.skip = depressed_days(s, today, true);
  c.rumination = vs_baseline(s, signal::rumination, hour - 23, hour, 7, 4, &c.skip);
  if (enough(c.rumination)) {
    if (with_steps) c.steps = vs_baseline(s, signal::steps, hour - 23, hour, 7, 4, &c.skip);
    return c;
  }
  c.rumination = vs_healthy_days(s, signal::rumination, hour - 23, hour, c.skip);
  if (enough(c.rumination)) {
    if (with_steps) c.steps = vs_healthy_days(s, signal::steps, hour - 23, hour, c.skip);
    return c;
  }
  c.skip = depressed_days(s, today, false);
  c.rumination = vs_baseline(s, signal::rumination, hour - 23, hour, 7, 4, &c.skip);
  if (with_steps) c.steps = vs_baseline(s, signal::steps, hour - 23, hour, 7, 4, &c.skip);
  return c;
}

std::optional<day_pair> matched_days(const animal_state& s, signal sig, std::int64_t to_hour, std::int64_t lag_h,
                                     int min_hours) {
  const auto per_hour = [sig](const hour_bucket& b) {  // a full hour's figure
    return (sig == signal::steps ? b.steps : b.rum_deci_min) * 3600 / b.covered_s;
  };
  day_pair p;
  int shared = 0;
  for (std::int64_t h = to_hour - 23; h <= to_hour; ++h) {
    const hour_bucket* later = find_hour(s, h);
    const hour_bucket* earlier = find_hour(s, h - lag_h);
    if (later == nullptr || earlier == nullptr || later->covered_s < 1800 || earlier->covered_s < 1800) continue;
    p.later += per_hour(*later);
    p.earlier += per_hour(*earlier);
    ++shared;
  }
  if (shared < min_hours || shared == 0) return std::nullopt;
  p.later = p.later * 24 / shared;
  p.earlier = p.earlier * 24 / shared;
  return p;
}

}  // namespace herd::rules::detail
