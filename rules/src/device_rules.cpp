#include "device_rules.hpp"

#include <cstdio>

#include "herd/rules/thresholds.hpp"
#include "lifecycle.hpp"

namespace herd::rules::detail {

namespace th = thresholds;

namespace {

const collar_state* find_collar(const animal_state& s, const std::string& id) {
  for (const auto& c : s.collars) {
    if (c.collar_id == id) return &c;
  }
  return nullptr;
}

// Another device first heard after this one fell silent: this one was taken off or moved.
bool replaced(const animal_state& s, const collar_state& c) {
  for (const auto& o : s.collars) {
    if (o.collar_id != c.collar_id && o.first_seen_ms > c.last_seen_ms) return true;
  }
  return false;
}

std::int64_t offline_after_ms(const collar_state& c) {
  return std::max<std::int64_t>(std::int64_t{c.interval_s} * 100 * th::offline_intervals_x10, th::offline_min_ms);
}

}  // namespace

void device_rules_on_reading(animal_state& s, const reading& r, std::vector<alert_change>& out) {
  const collar_state* c = find_collar(s, r.collar_id);
  if (c == nullptr) return;
  // Any reading of the device, even a late one from its buffer, shows it is back.
  if (alert* off = find_open(s, alert_kind::device_offline, r.collar_id)) {
    resolve(s, *off, std::max(off->started_at_ms, c->last_seen_ms), "cleared", out);
  }
  // Fallen off / low battery follow the device's newest reading only.
  if (r.at_ms != c->last_seen_ms) return;
  alert* fallen = find_open(s, alert_kind::collar_fallen_off, r.collar_id);
  if (c->lifeless_count == 0) {
    if (fallen) resolve(s, *fallen, r.at_ms, "cleared", out);
  } else if (!fallen && c->lifeless_count >= th::fallen_min_readings &&
             c->last_seen_ms - c->lifeless_since_ms >= th::fallen_min_ms) {
    alert_fields f;
    f.severity = alert_severity::warning;
    f.value = c->lifeless_count;
    char b[200];
    std::snprintf(b, sizeof b, "%d readings without steps, rumination or body temperature since %s", c->lifeless_count,
                  compact_utc(c->lifeless_since_ms).c_str());
    f.evidence = b;
    raise(s, alert_kind::collar_fallen_off, r.collar_id, r.at_ms, f, out);
  }
  if (c->battery_pct >= 0) {
    alert* low = find_open(s, alert_kind::low_battery, r.collar_id);
    if (!low && c->battery_pct <= th::low_battery_pct) {
      alert_fields f;
      f.severity = alert_severity::info;
      f.value = c->battery_pct;
      f.reference = th::low_battery_pct;
      f.evidence = "battery " + std::to_string(c->battery_pct) + " % (service at " + std::to_string(th::low_battery_pct) + " %)";
      raise(s, alert_kind::low_battery, r.collar_id, r.at_ms, f, out);
    } else if (low && c->battery_pct >= th::battery_ok_pct) {
      resolve(s, *low, r.at_ms, "cleared", out);
    }
  }
}

void offline_rule(animal_state& s, std::int64_t now, std::vector<alert_change>& out) {
  // Open offline alerts of devices that are gone (forgotten) or replaced end here.
  for (std::size_t i = 0; i < s.alerts.size(); ++i) {
    alert& a = s.alerts[i];
    if (a.kind != alert_kind::device_offline || !a.open()) continue;
    const collar_state* c = find_collar(s, a.device_id);
    if (c == nullptr || replaced(s, *c)) resolve(s, a, now, c ? "superseded" : "timed_out", out);
  }
  for (std::size_t i = 0; i < s.collars.size(); ++i) {
    const collar_state& c = s.collars[i];
    if (c.interval_s <= 0 || replaced(s, c)) continue;
    const std::int64_t silent = now - c.last_seen_ms;
    if (silent <= offline_after_ms(c)) continue;
    if (find_open(s, alert_kind::device_offline, c.collar_id)) continue;
    alert_fields f;
    f.severity = alert_severity::warning;
    f.value = static_cast<std::int32_t>(silent / (std::int64_t{c.interval_s} * 1000));
    f.reference = c.interval_s;
    f.evidence = "no reading since " + compact_utc(c.last_seen_ms) + " (expected every " + std::to_string(c.interval_s) + " s)";
    const std::string id = c.collar_id;  // raise() may reallocate nothing in collars, but be safe
    raise(s, alert_kind::device_offline, id, now, f, out);
  }
}

}  // namespace herd::rules::detail
