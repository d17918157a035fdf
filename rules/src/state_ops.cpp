#include "state_ops.hpp"

#include <algorithm>

#include "herd/rules/windows.hpp"

namespace herd::rules::detail {

namespace {

template <class T, class Key>
T& bucket(std::vector<T>& v, Key T::*key, std::int64_t k) {
  auto it = std::lower_bound(v.begin(), v.end(), k, [&](const T& b, std::int64_t x) { return b.*key < x; });
  if (it == v.end() || (*it).*key != k) {
    it = v.insert(it, T{});
    (*it).*key = k;
  }
  return *it;
}

// The level before `t`: median of the clean readings in [t - k_dip_ref_ms, t).
std::optional<std::int32_t> level_before(const animal_state& s, std::int64_t t) {
  std::vector<std::int32_t> v;
  for (const auto& p : s.temps) {
    if (p.at_ms >= t) break;
    if (p.at_ms >= t - k_dip_ref_ms && p.clean()) v.push_back(p.centi_c);
  }
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::uint8_t mark(const animal_state& s, std::int64_t t, std::int32_t centi, bool in_series) {
  const auto level = in_series ? level_before(s, t) : std::nullopt;
  if (!level) return centi < k_no_ref_dip_centi ? temp_point::dip : 0;
  if (centi < *level - k_dip_drop_centi) return temp_point::dip;
  if (centi < *level - k_recovering_centi) {
    for (const auto& p : s.temps) {
      if (p.at_ms >= t) break;
      if (p.at_ms >= t - k_dip_mask_ms && (p.flags & temp_point::dip)) return temp_point::masked;
    }
  }
  return 0;
}

void set_latest(latest_value& v, std::int64_t at, std::int32_t value) {
  if (at >= v.at_ms) v = {at, value};
}

void evict(animal_state& s) {
  const std::int64_t h0 = hour_of(s.newest_ms) - k_hour_window + 1;
  const std::int64_t d0 = day_of(s.newest_ms) - k_day_window + 1;
  const std::int64_t t0 = s.newest_ms - k_temp_series_ms;
  const std::int64_t c0 = s.newest_ms - k_collar_forget_ms;
  std::erase_if(s.hours, [&](const hour_bucket& b) { return b.hour < h0; });
  std::erase_if(s.days, [&](const day_summary& b) { return b.day < d0; });
  std::erase_if(s.temps, [&](const temp_point& p) { return p.at_ms < t0; });
  std::erase_if(s.collars, [&](const collar_state& c) { return c.last_seen_ms < c0; });
}

}  // namespace

bool is_lifeless(const reading& r) {
  return r.steps && *r.steps == 0 && r.rum_deci.value_or(0) == 0 &&
         (!r.temp_centi || *r.temp_centi < k_lifeless_temp_centi);
}

collar_state& collar_entry(animal_state& s, const std::string& id) {
  auto it = std::lower_bound(s.collars.begin(), s.collars.end(), id,
                             [](const collar_state& c, const std::string& x) { return c.collar_id < x; });
  if (it == s.collars.end() || it->collar_id != id) {
    it = s.collars.insert(it, collar_state{});
    it->collar_id = id;
  }
  return *it;
}

std::uint8_t add_reading(animal_state& s, const reading& r) {
  const std::int64_t t = r.at_ms;
  s.newest_ms = std::max(s.newest_ms, t);
  ++s.events;
  if (r.temp_centi) set_latest(s.latest.temp_centi_c, t, *r.temp_centi);
  if (r.steps) set_latest(s.latest.steps, t, static_cast<std::int32_t>(*r.steps));
  if (r.rum_deci) set_latest(s.latest.rum_deci_min, t, static_cast<std::int32_t>(*r.rum_deci));
  if (r.battery_pct) set_latest(s.latest.battery_pct, t, *r.battery_pct);
  if (r.rssi_dbm) set_latest(s.latest.rssi_dbm, t, *r.rssi_dbm);

  const bool lifeless = is_lifeless(r);
  collar_state& c = collar_entry(s, r.collar_id);
  if (c.readings == 0 || t < c.first_seen_ms) c.first_seen_ms = t;
  if (c.readings == 0 || t >= c.last_seen_ms) {
    c.last_seen_ms = t;
    c.last_seq = r.seq;
    c.interval_s = r.interval_s.value_or(0);
    if (r.battery_pct) c.battery_pct = *r.battery_pct;
    if (r.rssi_dbm) {
      c.rssi_dbm = *r.rssi_dbm;
      c.has_rssi = true;
    }
    if (!lifeless) {
      c.lifeless_since_ms = 0;
      c.lifeless_count = 0;
    } else {
      if (c.lifeless_count == 0) c.lifeless_since_ms = t - std::int64_t{r.interval_s.value_or(0)} * 1000;
      ++c.lifeless_count;
    }
  }
  ++c.readings;
  // A collar lying in the bedding measures no animal: its zeros must not pull the animal's
  // activity and rumination down (they would look like illness). The hours stay uncovered.
  if (lifeless) {
    evict(s);
    return 0;
  }

  const std::int64_t h_min = hour_of(s.newest_ms) - k_hour_window + 1;
  const std::int64_t d_min = day_of(s.newest_ms) - k_day_window + 1;
  // Interval figures, split over the hours [t - interval, t) overlaps.
  const std::int64_t iv_ms = std::int64_t{r.interval_s.value_or(0)} * 1000;
  const std::int64_t from = t - iv_ms;
  const std::uint64_t steps = r.steps.value_or(0), rum = r.rum_deci.value_or(0);
  if (iv_ms == 0) {
    const std::int64_t h = hour_of(t);
    if (h >= h_min) {
      auto& b = bucket(s.hours, &hour_bucket::hour, h);
      b.steps += static_cast<std::uint32_t>(steps);
      b.rum_deci_min += static_cast<std::uint32_t>(rum);
    }
    if (day_of(t) >= d_min) {
      auto& d = bucket(s.days, &day_summary::day, day_of(t));
      d.steps += static_cast<std::uint32_t>(steps);
      d.rum_deci_min += static_cast<std::uint32_t>(rum);
    }
  } else {
    std::int64_t done_ms = 0;
    std::uint64_t steps_done = 0, rum_done = 0;
    for (std::int64_t h = hour_of(from); h * k_hour_ms < t; ++h) {
      const std::int64_t a = std::max(from, h * k_hour_ms), e = std::min(t, (h + 1) * k_hour_ms);
      done_ms += e - a;
      const auto u_done = static_cast<std::uint64_t>(done_ms), u_iv = static_cast<std::uint64_t>(iv_ms);
      const std::uint64_t st = steps * u_done / u_iv - steps_done, ru = rum * u_done / u_iv - rum_done;
      steps_done += st;
      rum_done += ru;
      const auto cov = static_cast<std::uint32_t>((e - a) / 1000);
      if (h >= h_min) {
        auto& b = bucket(s.hours, &hour_bucket::hour, h);
        b.steps += static_cast<std::uint32_t>(st);
        b.rum_deci_min += static_cast<std::uint32_t>(ru);
        b.covered_s += cov;
      }
      const std::int64_t d = day_of(h * k_hour_ms);
      if (d >= d_min) {
        auto& ds = bucket(s.days, &day_summary::day, d);
        ds.steps += static_cast<std::uint32_t>(st);
        ds.rum_deci_min += static_cast<std::uint32_t>(ru);
        ds.covered_s += cov;
      }
    }
  }

  std::uint8_t flags = 0;
  if (r.temp_centi) {
    const std::int32_t v = *r.temp_centi;
    const bool in_series = t >= s.newest_ms - k_temp_series_ms;
    flags = mark(s, t, v, in_series);
    if (in_series) {
      auto it = std::upper_bound(s.temps.begin(), s.temps.end(), t,
                                 [](std::int64_t x, const temp_point& p) { return x < p.at_ms; });
      s.temps.insert(it, temp_point{t, static_cast<std::int16_t>(v), flags});
    }
    const std::int64_t h = hour_of(t), d = day_of(t);
    if (h >= h_min) {
      auto& b = bucket(s.hours, &hour_bucket::hour, h);
      if (flags) {
        ++b.dip_n;
      } else {
        b.temp_max_centi = b.temp_n == 0 ? static_cast<std::int16_t>(v) : std::max<std::int16_t>(b.temp_max_centi, static_cast<std::int16_t>(v));
        b.temp_sum_centi += v;
        ++b.temp_n;
      }
    }
    if (d >= d_min) {
      auto& b = bucket(s.days, &day_summary::day, d);
      if (flags) {
        ++b.dip_n;
      } else {
        b.temp_max_centi = b.temp_n == 0 ? static_cast<std::int16_t>(v) : std::max<std::int16_t>(b.temp_max_centi, static_cast<std::int16_t>(v));
        b.temp_sum_centi += v;
        ++b.temp_n;
      }
    }
  }
  evict(s);
  return flags;
}

}  // namespace herd::rules::detail
