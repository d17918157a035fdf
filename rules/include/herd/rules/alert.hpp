#pragma once
// Health and device alerts: what the rules decide, and their lifecycle (raised -> updated* ->
// resolved, acknowledged at any time). One alert per episode: an ongoing fever is one alert
// whose evidence is updated, not one alert per reading.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herd::rules {

// Values are part of the state encoding and of the alert events: never renumber.
enum class alert_kind : std::uint8_t {
  fever = 1,              // temperature over own baseline + delta, or over the absolute limit
  estrus = 2,             // heat: activity ratio to own baseline over 2-h blocks
  rumination_drop = 3,    // ketosis, displaced abomasum, illness
  lameness = 4,           // activity down over days
  calving = 5,            // calving expected within 24 h
  device_offline = 6,     // a collar or bolus missed its expected readings (advance())
  collar_fallen_off = 7,  // flat activity, no rumination, ambient-like temperature
  low_battery = 8,        // battery below the service threshold
};
inline constexpr int k_alert_kind_max = 8;

// "fever", "estrus", "rumination_drop", "lameness", "calving", "device_offline",
// "collar_fallen_off", "low_battery".
std::string_view to_string(alert_kind k);
std::optional<alert_kind> alert_kind_from(std::string_view s);

enum class alert_severity : std::uint8_t { info = 1, warning = 2, critical = 3 };
std::string_view to_string(alert_severity s);  // "info", "warning", "critical"

enum class alert_change_kind : std::uint8_t { raised = 1, updated = 2, resolved = 3, acknowledged = 4 };
std::string_view to_string(alert_change_kind c);  // "raised", "updated", "resolved", "acknowledged"

struct alert {
  // Stable and deterministic per episode: "<animal>:<kind>:<start, YYYYMMDDTHHMMSSZ>", with
  // ":<device>" before the time for device alerts. A rebuild from the same events gives the
  // same ids.
  std::string alert_id;
  alert_kind kind = alert_kind::fever;
  alert_severity severity = alert_severity::warning;
  std::string device_id;             // device alerts: the collar or bolus; else empty
  std::int64_t started_at_ms = 0;    // event time of the first evidence (ms since epoch, UTC)
  std::int64_t updated_at_ms = 0;    // event time of the last raise/update/resolve
  std::int64_t resolved_at_ms = 0;   // 0 while open
  std::string resolution;            // when resolved: "cleared", "timed_out", "superseded"
  std::string evidence;              // human-readable, e.g. "40.1 °C, own baseline 38.6 °C"
  std::int32_t value = 0;            // the rule's main figure, unit per kind (README, alerts)
  std::int32_t reference = 0;        // what `value` was compared with (the own baseline), same unit
  // estrus: the optimal insemination window; calving: the expected time span. 0 = none.
  std::int64_t window_from_ms = 0;
  std::int64_t window_to_ms = 0;
  bool acknowledged = false;
  std::int64_t acknowledged_at_ms = 0;
  std::string acknowledged_by;

  bool open() const { return resolved_at_ms == 0; }
  bool operator==(const alert&) const = default;
};

// One lifecycle change, as the fold reports it; `alert` is the alert after the change.
struct alert_change {
  alert_change_kind change = alert_change_kind::raised;
  std::string animal_id;
  rules::alert alert;
  bool operator==(const alert_change&) const = default;
};

// "20260603T061000Z": the time part of alert ids (UTC, seconds).
std::string compact_utc(std::int64_t ms);

}  // namespace herd::rules
