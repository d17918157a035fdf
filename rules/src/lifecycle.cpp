#include "lifecycle.hpp"

#include <algorithm>
#include <utility>

namespace herd::rules::detail {

const alert* find_open(const animal_state& s, alert_kind kind, const std::string& device) {
  for (const auto& a : s.alerts) {
    if (a.kind == kind && a.device_id == device && a.open()) return &a;
  }
  return nullptr;
}
alert* find_open(animal_state& s, alert_kind kind, const std::string& device) {
  return const_cast<alert*>(find_open(std::as_const(s), kind, device));
}

const alert* find_latest(const animal_state& s, alert_kind kind, const std::string& device) {
  const alert* best = nullptr;
  for (const auto& a : s.alerts) {
    if (a.kind == kind && a.device_id == device && (!best || a.started_at_ms >= best->started_at_ms)) best = &a;
  }
  return best;
}
alert* find_latest(animal_state& s, alert_kind kind, const std::string& device) {
  return const_cast<alert*>(find_latest(std::as_const(s), kind, device));
}

namespace {
void report(const animal_state& s, alert_change_kind c, const alert& a, std::vector<alert_change>& out) {
  out.push_back({c, s.animal_id, a});
}
}  // namespace

alert& raise(animal_state& s, alert_kind kind, const std::string& device, std::int64_t at_ms, const alert_fields& f,
             std::vector<alert_change>& out) {
  alert a;
  a.alert_id = s.animal_id + ":" + std::string(to_string(kind)) + ":" + (device.empty() ? "" : device + ":") +
               compact_utc(at_ms);
  a.kind = kind;
  a.device_id = device;
  a.started_at_ms = at_ms;
  a.updated_at_ms = at_ms;
  a.severity = f.severity;
  a.evidence = f.evidence;
  a.value = f.value;
  a.reference = f.reference;
  a.window_from_ms = f.window_from_ms;
  a.window_to_ms = f.window_to_ms;
  // Kept in start order; an alert started earlier than the newest (a late batch) goes before.
  auto it = std::upper_bound(s.alerts.begin(), s.alerts.end(), at_ms,
                             [](std::int64_t t, const alert& x) { return t < x.started_at_ms; });
  it = s.alerts.insert(it, std::move(a));
  report(s, alert_change_kind::raised, *it, out);
  return *it;
}

bool update(animal_state& s, alert& a, std::int64_t at_ms, const alert_fields& f, std::int32_t min_value_step,
            std::vector<alert_change>& out) {
  const bool changed = f.severity != a.severity || f.value >= a.value + min_value_step ||
                       f.window_from_ms != a.window_from_ms || f.window_to_ms != a.window_to_ms;
  if (!changed) return false;
  a.severity = f.severity;
  a.evidence = f.evidence;
  a.value = std::max(a.value, f.value);
  a.window_from_ms = f.window_from_ms;
  a.window_to_ms = f.window_to_ms;
  a.updated_at_ms = std::max(a.updated_at_ms, at_ms);
  report(s, alert_change_kind::updated, a, out);
  return true;
}

void reopen(animal_state& s, alert& a, std::int64_t at_ms, std::vector<alert_change>& out) {
  a.resolved_at_ms = 0;
  a.resolution.clear();
  a.updated_at_ms = std::max(a.updated_at_ms, at_ms);
  report(s, alert_change_kind::updated, a, out);
}

void resolve(animal_state& s, alert& a, std::int64_t at_ms, const std::string& resolution,
             std::vector<alert_change>& out) {
  a.resolved_at_ms = std::max(at_ms, a.started_at_ms);
  a.updated_at_ms = std::max(a.updated_at_ms, a.resolved_at_ms);
  a.resolution = resolution;
  report(s, alert_change_kind::resolved, a, out);
}

void prune(animal_state& s) {
  const std::int64_t now = std::max(s.newest_ms, s.advanced_ms);
  std::erase_if(s.alerts, [&](const alert& a) {
    const std::int64_t keep = a.kind == alert_kind::calving ? k_keep_calving_ms : k_keep_resolved_ms;
    return !a.open() && a.resolved_at_ms < now - keep;
  });
  while (s.alerts.size() > k_max_kept_alerts) {
    auto it = std::find_if(s.alerts.begin(), s.alerts.end(),
                           [](const alert& a) { return !a.open() && a.kind != alert_kind::calving; });
    if (it == s.alerts.end()) {
      it = std::find_if(s.alerts.begin(), s.alerts.end(), [](const alert& a) { return !a.open(); });
    }
    if (it == s.alerts.end()) break;
    s.alerts.erase(it);
  }
}

}  // namespace herd::rules::detail
