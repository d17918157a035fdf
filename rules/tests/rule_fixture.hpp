#pragma once
// Test helper: an animal wearing an hourly collar, with a steady daily rhythm, fed through the
// fold; each helper returns the alert changes it caused.
#include <functional>
#include <vector>

#include "envelope_builder.hpp"
#include "herd/rules/fold.hpp"
#include "herd/rules/thresholds.hpp"

namespace herd::rules::test {

struct hour_values {
  double temp_c;
  std::uint32_t steps;
  double rum_min;
};

// A healthy day: more steps in daytime, rumination mostly at night, temperature highest in the
// evening (HERD.md daily patterns), with a small deterministic wobble.
inline hour_values normal_hour(int hour_of_day, int day) {
  const bool night = hour_of_day < 5 || hour_of_day >= 21;
  const double wobble = ((day * 7 + hour_of_day * 3) % 5 - 2) * 0.01;
  return {38.5 + (hour_of_day >= 15 && hour_of_day < 21 ? 0.3 : 0.0) + wobble,
          static_cast<std::uint32_t>((night ? 30 : 150) + (day * 13 + hour_of_day) % 7),
          night ? 30.0 : 14.0 + (day % 3)};
}

// A healthy cow whose rumination and steps vary from day to day (HERD.md: within a cow
// rumination SD 30-50 min/day [guess], ~8 % here; steps ~6 %), for the edges that depend on that
// variation.
inline hour_values varied_hour(int h, int d) {
  static constexpr double rum_f[8] = {1.0, 1.1, 0.9, 1.05, 0.95, 1.1, 0.9, 1.0};
  static constexpr double act_f[8] = {1.0, 1.08, 0.92, 1.04, 0.96, 1.08, 0.92, 1.0};
  auto v = normal_hour(h, d);
  v.rum_min *= rum_f[d % 8];
  v.steps = static_cast<std::uint32_t>(v.steps * act_f[d % 8]);
  return v;
}

// normal_hour with rumination scaled by `rum` and steps by `act` (an illness, a lameness).
inline std::function<hour_values(int, int)> scaled_hour(double rum, double act) {
  return [rum, act](int h, int d) {
    auto v = normal_hour(h, d);
    v.rum_min *= rum;
    v.steps = static_cast<std::uint32_t>(v.steps * act);
    return v;
  };
}

struct animal_sim {
  animal_state state;
  std::uint32_t seq = 0;
  std::int64_t t = k_t0;  // time of the last reading
  std::string collar = "C-00001";
  std::vector<alert_change> changes;

  // One hourly reading ending at t + 1 h, values from `f`; advance() every 10 minutes before it.
  std::vector<alert_change> hour(const std::function<hour_values(int hod, int day)>& f, const herd_context& ctx = {}) {
    std::vector<alert_change> out = advance_every_10_min(60, ctx);
    t += k_hour;
    const int hod = static_cast<int>((t - k_hour - k_t0) / k_hour % 24);
    const int day = static_cast<int>((t - k_hour - k_t0) / k_day);
    const hour_values v = f(hod, day);
    reading_spec r;
    r.collar = collar;
    r.seq = seq++;
    r.at_ms = t;
    r.temp_c = v.temp_c;
    r.steps = v.steps;
    r.rum_min = v.rum_min;
    r.interval_s = 3600;
    r.batt_pct = 90;
    auto res = apply(state, reading_event(r));
    out.insert(out.end(), res.alert_changes.begin(), res.alert_changes.end());
    changes.insert(changes.end(), out.begin(), out.end());
    return out;
  }
  std::vector<alert_change> hours(int n, const std::function<hour_values(int, int)>& f, const herd_context& ctx = {}) {
    std::vector<alert_change> out;
    for (int i = 0; i < n; ++i) {
      auto a = hour(f, ctx);
      out.insert(out.end(), a.begin(), a.end());
    }
    return out;
  }
  std::vector<alert_change> normal_days(int days) { return hours(days * 24, normal_hour); }
  // advance() at t + 10, 20, ... `minutes` min (t itself does not move).
  std::vector<alert_change> advance_every_10_min(int minutes, const herd_context& ctx) {
    std::vector<alert_change> out;
    for (int m = 10; m <= minutes; m += 10) {
      herd_context c = ctx;
      if (c.at_ms != 0) c.at_ms = t + m * k_min;  // a context given is computed for each call
      auto a = advance(state, t + m * k_min, c);
      out.insert(out.end(), a.begin(), a.end());
    }
    return out;
  }
  // `n` hours with no reading (a collar out of range): advance() every 10 minutes, as the
  // partition's time moves on without her.
  std::vector<alert_change> gap(int n) {
    std::vector<alert_change> out = advance_every_10_min(60 * n, {});
    t += n * k_hour;
    changes.insert(changes.end(), out.begin(), out.end());
    return out;
  }
};

// A calving alert as the calving rule leaves it: raised `ago_ms` before the animal's newest
// reading, timed out 30 h later (thresholds::calving_timeout_ms). Days in milk count from it.
inline void calved(animal_sim& a, std::int64_t ago_ms) {
  alert calv;
  calv.kind = alert_kind::calving;
  calv.alert_id = "calving";
  calv.started_at_ms = a.t - ago_ms;
  calv.resolved_at_ms = calv.started_at_ms + thresholds::calving_timeout_ms;
  calv.resolution = "timed_out";
  a.state.alerts.push_back(calv);
}

inline int count(const std::vector<alert_change>& v, alert_kind k, alert_change_kind c) {
  int n = 0;
  for (const auto& x : v) n += x.alert.kind == k && x.change == c;
  return n;
}
// rumination_drop alerts raised / resolved among `v`.
inline int rumination_raised(const std::vector<alert_change>& v) {
  return count(v, alert_kind::rumination_drop, alert_change_kind::raised);
}
inline int rumination_resolved(const std::vector<alert_change>& v) {
  return count(v, alert_kind::rumination_drop, alert_change_kind::resolved);
}

}  // namespace herd::rules::test
