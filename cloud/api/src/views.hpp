#pragma once
// JSON views of the read model for herd-api (formats: README, "Query API"). Pure functions.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "herd/read_model/rows.hpp"
#include "herd/rules/animal_state.hpp"

namespace herd::api {

using json = nlohmann::ordered_json;

// µs / ms since the epoch -> RFC 3339 UTC with ms ("2026-06-03T06:10:00.000Z").
std::string rfc3339_us(std::int64_t us);
std::string rfc3339_ms(std::int64_t ms);

// "info" / "warning" / "critical" for severities 1..3 (rules::alert_severity), else "unknown".
std::string severity_name(std::int32_t s);
// A severity from its name or number ("warning", "2"); 0 = not recognised.
std::int32_t severity_from(const std::string& s);

// An alert row in herd-api's own format (every field of the row, the body's evidence unpacked).
json alert_json(const read_model::alert_row& a);

// An animal's current state: the row's columns, the decoded fold state (latest readings,
// baselines, collars, open alerts, rule readiness) at event time `now_ms`.
json state_json(const read_model::animal_row* row, const rules::animal_state& s, std::int64_t now_ms);

// One stored event: its metadata and, for the types this build knows, the decoded payload.
json event_json(const read_model::stored_event& e);
// The same JSON text as event_json(e).dump(), appended to `out` without building a json value
// (the history endpoint serializes thousands of events per page).
void append_event_json(std::string& out, const read_model::stored_event& e);

// Hourly series of the last `hours` hours before the animal's newest event (temperature mean of
// clean readings, steps, rumination minutes), for the dashboard plots.
json series_json(const rules::animal_state& s, int hours);

}  // namespace herd::api
