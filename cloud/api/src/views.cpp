#include "views.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <type_traits>

#include "herd/core/time_format.hpp"
#include "herd/events/v1/alert.pb.h"
#include "herd/events/v1/collar_reading.pb.h"
#include "herd/events/v1/envelope.pb.h"
#include "herd/rules/alert.hpp"
#include "herd/rules/fold.hpp"
#include "herd/rules/herd_context.hpp"
#include "herd/rules/windows.hpp"

namespace herd::api {

std::string rfc3339_ms(std::int64_t ms) { return core::iso8601_utc_ms(ms); }
std::string rfc3339_us(std::int64_t us) { return core::iso8601_utc_ms(rules::floor_div(us, 1000)); }

std::string severity_name(std::int32_t s) {
  switch (s) {
    case 1: return "info";
    case 2: return "warning";
    case 3: return "critical";
    default: return "unknown";
  }
}

std::int32_t severity_from(const std::string& s) {
  if (s == "info" || s == "1") return 1;
  if (s == "warning" || s == "2") return 2;
  if (s == "critical" || s == "3") return 3;
  return 0;
}

json alert_json(const read_model::alert_row& a) {
  json j;
  j["alert_id"] = a.alert_id;
  j["animal_id"] = a.animal_id;
  j["kind"] = a.kind;
  j["status"] = a.status;
  j["severity"] = severity_name(a.severity);
  j["raised_at"] = rfc3339_us(a.raised_at_us);
  j["updated_at"] = rfc3339_us(a.updated_at_us);
  j["resolved_at"] = a.resolved_at_us ? json(rfc3339_us(*a.resolved_at_us)) : json(nullptr);
  j["acknowledged_at"] = a.acknowledged_at_us ? json(rfc3339_us(*a.acknowledged_at_us)) : json(nullptr);
  const json body = json::parse(a.body, nullptr, false);
  if (body.is_object()) {
    if (body.contains("acknowledged_by")) j["acknowledged_by"] = body["acknowledged_by"];
    if (body.contains("evidence")) j["evidence"] = body["evidence"];
    if (body.contains("value")) j["value"] = body["value"];
    if (body.contains("device_id")) j["device_id"] = body["device_id"];
    if (body.contains("resolution")) j["resolution"] = body["resolution"];
    if (body.contains("window_from_ms") && body["window_from_ms"].is_number_integer()) {
      j["window"] = {{"from", rfc3339_ms(body["window_from_ms"].get<std::int64_t>())},
                     {"to", rfc3339_ms(body.value("window_to_ms", std::int64_t{0}))}};
    }
  }
  return j;
}

namespace {

json latest(const rules::latest_value& v, double scale) {
  if (v.at_ms == 0) return nullptr;
  return json{{"value", v.value / scale}, {"at", rfc3339_ms(v.at_ms)}};
}

json baseline(const std::optional<rules::baseline>& b, double scale) {
  if (!b) return nullptr;
  return json{{"value", b->value / scale}, {"days", b->days}};
}

json state_alert(const rules::alert& a) {
  json j{{"alert_id", a.alert_id},
         {"kind", std::string(rules::to_string(a.kind))},
         {"severity", std::string(rules::to_string(a.severity))},
         {"started_at", rfc3339_ms(a.started_at_ms)},
         {"updated_at", rfc3339_ms(a.updated_at_ms)},
         {"evidence", a.evidence},
         {"value", a.value},
         {"reference", a.reference},
         {"acknowledged", a.acknowledged}};
  if (!a.device_id.empty()) j["device_id"] = a.device_id;
  if (!a.open()) {
    j["resolved_at"] = rfc3339_ms(a.resolved_at_ms);
    j["resolution"] = a.resolution;
  }
  if (a.window_from_ms != 0) j["window"] = {{"from", rfc3339_ms(a.window_from_ms)}, {"to", rfc3339_ms(a.window_to_ms)}};
  if (a.acknowledged) {
    j["acknowledged_at"] = rfc3339_ms(a.acknowledged_at_ms);
    j["acknowledged_by"] = a.acknowledged_by;
  }
  return j;
}

}  // namespace

json state_json(const read_model::animal_row* row, const rules::animal_state& s, std::int64_t now_ms) {
  json j;
  j["animal_id"] = s.animal_id;
  j["newest_event_at"] = s.newest_ms ? json(rfc3339_ms(s.newest_ms)) : json(nullptr);
  j["advanced_to"] = s.advanced_ms ? json(rfc3339_ms(s.advanced_ms)) : json(nullptr);
  j["events_applied"] = s.events;
  if (row != nullptr) j["partition"] = {{"topic", row->topic}, {"partition", row->partition}};
  j["latest"] = {{"body_temp_c", latest(s.latest.temp_centi_c, 100.0)},
                 {"activity_steps", latest(s.latest.steps, 1.0)},
                 {"rumination_min", latest(s.latest.rum_deci_min, 10.0)},
                 {"battery_pct", latest(s.latest.battery_pct, 1.0)},
                 {"rssi_dbm", latest(s.latest.rssi_dbm, 1.0)}};
  const std::int64_t today = rules::day_of(s.newest_ms);
  j["baselines"] = {{"rumination_min_per_day_7d", baseline(rules::rumination_baseline(s, today), 1.0)},
                    {"activity_steps_per_day_7d", baseline(rules::activity_baseline(s, today), 1.0)},
                    {"body_temp_c_10d", baseline(rules::temperature_baseline(s, today), 100.0)}};
  json collars = json::array();
  for (const auto& c : s.collars) {
    json cj{{"collar_id", c.collar_id},
            {"last_seq", c.last_seq},
            {"first_seen", rfc3339_ms(c.first_seen_ms)},
            {"last_seen", rfc3339_ms(c.last_seen_ms)},
            {"interval_s", c.interval_s},
            {"battery_pct", c.battery_pct >= 0 ? json(c.battery_pct) : json(nullptr)},
            {"rssi_dbm", c.has_rssi ? json(c.rssi_dbm) : json(nullptr)},
            {"readings", c.readings}};
    collars.push_back(std::move(cj));
  }
  j["collars"] = std::move(collars);
  json open = json::array(), recent = json::array();
  for (const auto& a : s.alerts) (a.open() ? open : recent).push_back(state_alert(a));
  j["active_alerts"] = std::move(open);
  j["recently_resolved_alerts"] = std::move(recent);
  json ready = json::array();
  for (const auto& r : rules::readiness(s, now_ms > 0 ? now_ms : s.newest_ms)) {
    ready.push_back({{"rule", std::string(rules::to_string(r.rule))}, {"ready", r.ready}, {"reason", r.reason}});
  }
  j["rules_ready"] = std::move(ready);
  return j;
}

json event_json(const read_model::stored_event& e) {
  json j{{"store_seq", e.store_seq},
         {"event_id", e.event_id},
         {"event_type", e.event_type},
         {"occurred_at", rfc3339_us(e.occurred_at_us)},
         {"ingested_at", rfc3339_us(e.ingested_at_us)},
         {"gateway_id", e.gateway_id},
         {"gateway_seq", e.gateway_seq}};
  events::v1::EventEnvelope env;
  if (!env.ParseFromString(e.envelope)) {
    j["payload"] = nullptr;
    j["undecodable"] = true;
    return j;
  }
  if (e.event_type == rules::k_collar_reading_v1) {
    events::v1::CollarReading r;
    if (env.payload().UnpackTo(&r)) {
      json p{{"collar_id", r.collar_id()}, {"collar_seq", r.collar_seq()}};
      if (r.has_body_temp_c()) p["body_temp_c"] = r.body_temp_c();
      if (r.has_activity_steps()) p["activity_steps"] = r.activity_steps();
      if (r.has_rumination_min()) p["rumination_min"] = r.rumination_min();
      if (r.has_interval_s()) p["interval_s"] = r.interval_s();
      if (r.has_battery_pct()) p["battery_pct"] = r.battery_pct();
      if (r.has_rssi_dbm()) p["rssi_dbm"] = r.rssi_dbm();
      j["payload"] = std::move(p);
      return j;
    }
  } else if (e.event_type == rules::k_alert_acknowledged_v1) {
    events::v1::AlertAcknowledged a;
    if (env.payload().UnpackTo(&a)) {
      j["payload"] = {{"alert_id", a.alert_id()}, {"acknowledged_by", a.acknowledged_by()}, {"note", a.note()}};
      return j;
    }
  }
  j["payload"] = nullptr;  // a type this build does not decode (kept in the event store)
  return j;
}

namespace {

void append_str(std::string& out, std::string_view v) {
  // Ids are printable ASCII: copied as they are. Anything else (quotes, control bytes, UTF-8,
  // invalid bytes) goes through nlohmann's escaping (invalid UTF-8 becomes U+FFFD).
  const bool plain = std::all_of(v.begin(), v.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += json(v).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += v;
  out += '"';
}

template <class N>
void append_num(std::string& out, const char* key, N v) {
  out += ",\"";
  out += key;
  out += "\":";
  if constexpr (std::is_floating_point_v<N>) {
    out += json(v).dump();
  } else {
    out += std::to_string(v);
  }
}

void append_key_str(std::string& out, const char* key, std::string_view v) {
  out += ",\"";
  out += key;
  out += "\":";
  append_str(out, v);
}

}  // namespace

void append_event_json(std::string& out, const read_model::stored_event& e) {
  out += "{\"store_seq\":";
  out += std::to_string(e.store_seq);
  append_key_str(out, "event_id", e.event_id);
  append_key_str(out, "event_type", e.event_type);
  append_key_str(out, "occurred_at", rfc3339_us(e.occurred_at_us));
  append_key_str(out, "ingested_at", rfc3339_us(e.ingested_at_us));
  append_key_str(out, "gateway_id", e.gateway_id);
  append_num(out, "gateway_seq", e.gateway_seq);
  events::v1::EventEnvelope env;
  events::v1::CollarReading r;
  if (e.event_type == rules::k_collar_reading_v1 && env.ParseFromString(e.envelope) && env.payload().UnpackTo(&r)) {
    out += ",\"payload\":{\"collar_id\":";
    append_str(out, r.collar_id());
    out += ",\"collar_seq\":" + std::to_string(r.collar_seq());
    if (r.has_body_temp_c()) append_num(out, "body_temp_c", r.body_temp_c());
    if (r.has_activity_steps()) append_num(out, "activity_steps", r.activity_steps());
    if (r.has_rumination_min()) append_num(out, "rumination_min", r.rumination_min());
    if (r.has_interval_s()) append_num(out, "interval_s", r.interval_s());
    if (r.has_battery_pct()) append_num(out, "battery_pct", r.battery_pct());
    if (r.has_rssi_dbm()) append_num(out, "rssi_dbm", r.rssi_dbm());
    out += "}}";
    return;
  }
  // Other types (and undecodable bytes): the general path.
  json j = event_json(e);
  std::string whole = j.dump(-1, ' ', false, json::error_handler_t::replace);
  out += whole.substr(whole.find(",\"payload\""));
}

json series_json(const rules::animal_state& s, int hours) {
  json t = json::array(), temp = json::array(), steps = json::array(), rum = json::array();
  if (s.newest_ms > 0) {
    const std::int64_t last = rules::hour_of(s.newest_ms);
    for (std::int64_t h = last - hours + 1; h <= last; ++h) {
      const rules::hour_bucket* b = rules::find_hour(s, h);
      t.push_back(h * 3600);
      if (b == nullptr || b->covered_s == 0) {
        temp.push_back(nullptr);
        steps.push_back(nullptr);
        rum.push_back(nullptr);
        continue;
      }
      temp.push_back(b->temp_n > 0 ? json(b->temp_sum_centi / 100.0 / b->temp_n) : json(nullptr));
      // Per hour of coverage: an hour half covered by readings counts double.
      const double scale = 3600.0 / b->covered_s;
      steps.push_back(std::round(b->steps * scale));
      rum.push_back(std::round(b->rum_deci_min * scale) / 10.0);
    }
  }
  return json{{"time_s", std::move(t)}, {"body_temp_c", std::move(temp)}, {"activity_steps_per_h", std::move(steps)},
              {"rumination_min_per_h", std::move(rum)}};
}

}  // namespace herd::api
