// The read endpoints of herd-api (README, "Query API").
#include <algorithm>
#include <limits>

#include "endpoints.hpp"
#include "herd/api/icar.hpp"
#include "herd/api/time_travel.hpp"
#include "herd/core/ids.hpp"
#include "herd/core/logging.hpp"
#include "herd/core/time_format.hpp"
#include "herd/rules/alert.hpp"

namespace herd::api::detail {

namespace {
constexpr std::int64_t k_day_ms = 86'400'000;
constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
}  // namespace

response json_response(int status, const json& body) {
  response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

void fail(const core::error& e) {
  if (e.kind == core::error_kind::retriable) throw http_error{503, "read model unavailable: " + e.message};
  core::module_logger("api")->error("read model: {}", e.message);
  throw http_error{500, "read model error"};
}

void allow(const request& r, std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : r.query) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; })) {
      throw http_error{400, "unknown query parameter: " + k.substr(0, 64)};
    }
  }
}

std::optional<std::string> param(const request& r, const std::string& name) {
  auto [b, e] = r.query.equal_range(name);
  if (b == e) return std::nullopt;
  if (std::next(b) != e) throw http_error{400, name + ": given more than once"};
  if (b->second.size() > 256) throw http_error{400, name + ": too long"};
  return b->second;
}

std::optional<std::int64_t> time_param(const request& r, const std::string& name) {
  auto v = param(r, name);
  if (!v) return std::nullopt;
  auto t = core::parse_iso8601_utc(*v);
  if (!t) throw http_error{400, name + ": not an RFC 3339 UTC time (e.g. 2026-06-03T06:00:00Z): " + v->substr(0, 64)};
  if (*t < 0 || *t > 253402300799000) throw http_error{400, name + ": out of range"};
  return t;
}

std::optional<std::int64_t> int_param(const request& r, const std::string& name, std::int64_t lo, std::int64_t hi) {
  auto v = param(r, name);
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  std::size_t used = 0;
  try {
    n = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size()) throw http_error{400, name + ": not an integer"};
  if (n < lo || n > hi) {
    throw http_error{400, name + ": must be between " + std::to_string(lo) + " and " + std::to_string(hi)};
  }
  return n;
}

std::string checked_animal(const std::string& id) {
  if (auto problem = core::animal_id_problem(id)) throw http_error{400, "animal id: " + *problem};
  return id;
}

namespace {

read_model::alert_filter alert_filter_of(context& c, const char* default_status) {
  read_model::alert_filter f;
  if (auto kind = param(c.req, "kind")) {
    if (!rules::alert_kind_from(*kind)) throw http_error{400, "kind: unknown alert kind: " + kind->substr(0, 64)};
    f.kind = *kind;
  }
  if (auto p = param(c.req, "priority")) {
    f.min_severity = severity_from_priority(*p);
    if (f.min_severity == 0) {
      throw http_error{400, "priority: one of info, warning, critical (or Informational, Urgent, Critical, 1-3)"};
    }
  }
  if (auto since = time_param(c.req, "since")) f.updated_since_us = *since * 1000;
  if (auto a = param(c.req, "animal")) f.animal_id = checked_animal(*a);
  const std::string status = param(c.req, "status").value_or(default_status);
  if (status == "active") {
    f.active_only = true;
  } else if (status == "recent") {
    f.from_us = (c.now_ms - static_cast<std::int64_t>(c.config.recent_days) * k_day_ms) * 1000;
  } else if (status != "all") {
    throw http_error{400, "status: one of active, recent, all"};
  }
  f.limit = static_cast<std::size_t>(int_param(c.req, "limit", 1, c.config.max_page).value_or(500));
  return f;
}

}  // namespace

response get_alerts(context& c) {
  allow(c.req, {"kind", "priority", "since", "status", "animal", "limit"});
  const auto f = alert_filter_of(c, "active");
  auto rows = must(c.db->alerts(f));
  json list = json::array();
  for (const auto& a : rows) list.push_back(alert_json(a));
  return json_response(200, {{"count", rows.size()}, {"alerts", std::move(list)}});
}

response get_icar_attention(context& c) {
  allow(c.req, {"kind", "priority", "since", "status", "animal", "limit"});
  const auto f = alert_filter_of(c, "recent");
  auto rows = must(c.db->alerts(f));
  json list = json::array();
  for (const auto& a : rows) list.push_back(icar_attention_event(a, c.config.animal_scheme));
  return json_response(200, {{"member", std::move(list)}});
}

response get_icar_heats(context& c) {
  allow(c.req, {"since", "status", "animal", "limit"});
  auto f = alert_filter_of(c, "recent");
  f.kind = "estrus";
  auto rows = must(c.db->alerts(f));
  json list = json::array();
  for (const auto& a : rows) list.push_back(icar_heat_event(a, c.config.animal_scheme));
  return json_response(200, {{"member", std::move(list)}});
}

namespace {

std::pair<read_model::animal_row, rules::animal_state> load_animal(context& c, const std::string& raw_id) {
  const std::string id = checked_animal(raw_id);
  auto row = must(c.db->animal(id));
  if (!row) throw http_error{404, "unknown animal: " + id};
  auto st = rules::decode(row->state);
  if (!st) {
    core::module_logger("api")->error("animal {}: stored state does not decode: {}", id, st.err().message);
    throw http_error{500, "stored state of " + id + " does not decode"};
  }
  return {std::move(*row), std::move(*st)};
}

}  // namespace

response get_animal(context& c, const std::string& id) {
  allow(c.req, {});
  auto [row, st] = load_animal(c, id);
  return json_response(200, state_json(&row, st, 0));
}

response get_history(context& c, const std::string& raw_id) {
  allow(c.req, {"from", "to", "after", "limit"});
  const std::string id = checked_animal(raw_id);
  const auto from = time_param(c.req, "from");
  const auto to = time_param(c.req, "to");
  if (!from || !to) throw http_error{400, "from and to are required (RFC 3339 UTC)"};
  if (*to <= *from) throw http_error{400, "to must be after from"};
  if (*to - *from > static_cast<std::int64_t>(c.config.max_range_days) * k_day_ms) {
    throw http_error{400, "range too large: at most " + std::to_string(c.config.max_range_days) + " days"};
  }
  const std::int64_t after = int_param(c.req, "after", 0, k_max).value_or(0);
  const auto limit = static_cast<std::size_t>(int_param(c.req, "limit", 1, c.config.max_page).value_or(1000));
  auto row = must(c.db->animal(id));
  if (!row) throw http_error{404, "unknown animal: " + id};
  auto events = must(c.db->animal_events(id, *from * 1000, *to * 1000, after, limit));
  json j{{"animal_id", id}, {"from", rfc3339_ms(*from)}, {"to", rfc3339_ms(*to)}};
  j["next_after"] = events.size() == limit ? json(events.back().store_seq) : json(nullptr);
  if (after == 0) {  // alerts on the first page only
    read_model::alert_filter f;
    f.animal_id = id;
    f.from_us = *from * 1000;
    f.to_us = *to * 1000;
    f.limit = 10'000;
    auto alerts = must(c.db->alerts(f));
    json al = json::array();
    for (const auto& a : alerts) al.push_back(alert_json(a));
    j["alerts"] = std::move(al);
  }
  // The events are appended as text (thousands per page): {..., "events": [...]}.
  response r = json_response(200, j);
  r.body.pop_back();
  r.body += ",\"events\":[";
  r.body.reserve(r.body.size() + events.size() * 260);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i) r.body += ',';
    append_event_json(r.body, events[i]);
  }
  r.body += "]}";
  return r;
}

response get_state_at(context& c, const std::string& raw_id) {
  allow(c.req, {"at"});
  const std::string id = checked_animal(raw_id);
  const auto at = time_param(c.req, "at");
  if (!at) throw http_error{400, "at is required (RFC 3339 UTC)"};
  if (*at > c.now_ms + 60'000) throw http_error{400, "at is in the future"};
  auto row = must(c.db->animal(id));
  if (!row) throw http_error{404, "unknown animal: " + id};
  // Advance no further than the animal's partition had got (its watermark now), nor past T.
  std::int64_t final_advance = 0;
  for (const auto& p : must(c.db->progress())) {
    if (p.topic == row->topic && p.partition == row->partition) final_advance = std::min(*at, p.watermark_us / 1000);
  }
  auto r = state_at(*c.db, id, *at, final_advance);
  if (!r) {
    if (r.err().kind == core::error_kind::permanent) throw http_error{422, r.err().message};
    fail(r.err());
  }
  if (r->state.events == 0) throw http_error{404, "animal " + id + " had no events by " + rfc3339_ms(*at)};
  return json_response(200, {{"at", rfc3339_ms(*at)},
                             {"replayed_events", r->events},
                             {"exact", r->exact},
                             {"skipped_events", r->rejected},
                             {"state", state_json(nullptr, r->state, 0)}});
}

response get_series(context& c, const std::string& id) {
  allow(c.req, {"hours"});
  const int hours = static_cast<int>(int_param(c.req, "hours", 1, 192).value_or(168));
  auto [row, st] = load_animal(c, id);
  read_model::alert_filter f;
  f.animal_id = row.animal_id;
  f.from_us = (st.newest_ms - hours * 3'600'000LL) * 1000;
  f.limit = 1000;
  auto alerts = must(c.db->alerts(f));
  json al = json::array();
  for (const auto& a : alerts) al.push_back(alert_json(a));
  return json_response(200, {{"animal_id", row.animal_id}, {"series", series_json(st, hours)}, {"alerts", std::move(al)}});
}

response get_summary(context& c) {
  allow(c.req, {});
  const auto animals = must(c.db->count_animals());
  const auto counts = must(c.db->count_active_alerts());
  json by_kind = json::object();
  std::uint64_t total = 0;
  for (const auto& k : counts) {
    json& e = by_kind[k.kind];
    if (e.is_null()) e = {{"total", 0}, {"info", 0}, {"warning", 0}, {"critical", 0}};
    e["total"] = e["total"].get<std::uint64_t>() + k.count;
    const std::string sev = severity_name(k.severity);
    if (e.contains(sev)) e[sev] = e[sev].get<std::uint64_t>() + k.count;
    total += k.count;
  }
  // Devices needing service: the open device alerts (offline, fallen off, low battery).
  json devices = json::array();
  std::uint64_t offline = 0, low_battery = 0, fallen_off = 0;
  for (const char* kind : {"device_offline", "collar_fallen_off", "low_battery"}) {
    read_model::alert_filter f;
    f.active_only = true;
    f.kind = kind;
    f.limit = 1000;
    for (const auto& a : must(c.db->alerts(f))) {
      json j = alert_json(a);
      devices.push_back({{"animal_id", a.animal_id},
                         {"device_id", j.value("device_id", std::string())},
                         {"problem", a.kind},
                         {"since", rfc3339_us(a.raised_at_us)},
                         {"evidence", j.value("evidence", std::string())}});
      (std::string(kind) == "device_offline" ? offline : std::string(kind) == "low_battery" ? low_battery : fallen_off)++;
    }
  }
  json parts = json::array();
  std::int64_t min_wm = k_max;
  for (const auto& p : must(c.db->progress())) {
    parts.push_back({{"topic", p.topic},
                     {"partition", p.partition},
                     {"next_offset", p.next_offset},
                     {"watermark", p.watermark_us ? json(rfc3339_us(p.watermark_us)) : json(nullptr)},
                     {"applied", p.applied},
                     {"duplicates", p.duplicates},
                     {"dead_lettered", p.dead_lettered}});
    if (p.watermark_us > 0) min_wm = std::min(min_wm, p.watermark_us / 1000);
  }
  json lag = nullptr;
  if (min_wm != k_max) lag = static_cast<double>(c.now_ms - min_wm) / 1000.0;
  return json_response(200, {{"generated_at", rfc3339_ms(c.now_ms)},
                             {"read_model", c.db->backend()},
                             {"animals", animals},
                             {"active_alerts", {{"total", total}, {"by_kind", std::move(by_kind)}}},
                             {"devices", {{"offline", offline},
                                          {"fallen_off", fallen_off},
                                          {"low_battery", low_battery},
                                          {"needing_service", std::move(devices)}}},
                             {"projector", {{"event_time_lag_s", lag}, {"partitions", std::move(parts)}}}});
}

}  // namespace herd::api::detail
