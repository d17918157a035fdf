#include "herd/projector/state_rows.hpp"

#include <nlohmann/json.hpp>

namespace herd::projector {

read_model::animal_row to_row(const rules::animal_state& s, const std::string& topic, std::int32_t partition) {
  read_model::animal_row r;
  r.animal_id = s.animal_id;
  r.topic = topic;
  r.partition = partition;
  r.state = rules::encode(s);
  r.events_applied = s.events;
  r.last_occurred_at_us = s.newest_ms * 1000;
  if (s.latest.temp_centi_c.at_ms != 0) r.body_temp_c = s.latest.temp_centi_c.value / 100.0;
  if (s.latest.steps.at_ms != 0) r.activity_steps = s.latest.steps.value;
  if (s.latest.rum_deci_min.at_ms != 0) r.rumination_min = s.latest.rum_deci_min.value / 10.0;
  for (const auto& c : s.collars) {
    read_model::collar_row cr;
    cr.collar_id = c.collar_id;
    cr.last_seq = c.last_seq;
    if (c.battery_pct >= 0) cr.battery_pct = c.battery_pct;
    if (c.has_rssi) cr.rssi_dbm = c.rssi_dbm;
    cr.last_seen_us = c.last_seen_ms * 1000;
    r.collars.push_back(std::move(cr));
  }
  return r;
}

read_model::alert_row to_row(const std::string& animal_id, const rules::alert& a) {
  read_model::alert_row r;
  r.alert_id = a.alert_id;
  r.animal_id = animal_id;
  r.kind = std::string(rules::to_string(a.kind));
  r.status = a.open() ? "active" : "resolved";
  r.severity = static_cast<std::int32_t>(a.severity);
  r.raised_at_us = a.started_at_ms * 1000;
  r.updated_at_us = a.updated_at_ms * 1000;
  if (!a.open()) r.resolved_at_us = a.resolved_at_ms * 1000;
  if (a.acknowledged) r.acknowledged_at_us = a.acknowledged_at_ms * 1000;
  nlohmann::ordered_json body = {
      {"severity", std::string(rules::to_string(a.severity))},
      {"evidence", a.evidence},
      {"value", a.value},
  };
  if (!a.device_id.empty()) body["device_id"] = a.device_id;
  if (!a.resolution.empty()) body["resolution"] = a.resolution;
  if (a.window_from_ms != 0 || a.window_to_ms != 0) {
    body["window_from_ms"] = a.window_from_ms;
    body["window_to_ms"] = a.window_to_ms;
  }
  if (a.acknowledged) body["acknowledged_by"] = a.acknowledged_by;
  r.body = body.dump();
  return r;
}

}  // namespace herd::projector
