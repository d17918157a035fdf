#pragma once
// The reading contract shared by every source (MQTT collars, Modbus devices): a typed reading
// (event type + payload + who measured it + the source's own sequence and time), so ingest,
// registry, dedup and the outbox have one path whatever the transport.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace herd::sensors {

// Event type names (DESIGN.md, the event contract); the payload message is in proto/.
inline constexpr std::string_view k_collar_reading_type = "collar.reading.v1";
inline constexpr std::string_view k_scale_weight_type = "scale.weight.v1";

// A message as it arrived from a source, before any decoding. Kept whole for dead letters.
struct raw_message {
  std::string source;            // e.g. the MQTT topic, or "modbus/<device>/slot/<n>"
  std::string payload;           // the original bytes (Modbus: the registers, as hex words)
  std::int64_t received_ms = 0;  // gateway wall time at receipt, ms since epoch
  // The transport marks it as a copy of an earlier publish: MQTT DUP (a resend) or RETAIN (the
  // broker's retained copy, handed over again at every subscribe). Never a new reading.
  bool redelivered = false;
};

// One decoded, range-checked collar reading (the collar MQTT format, README), whether it came
// over MQTT or from a base station's slot.
struct collar_reading {
  std::string farm_id;
  std::string collar_id;
  std::uint32_t seq = 0;                   // the collar's own counter
  std::int64_t ts_ms = 0;                  // measured at, ms since epoch UTC; 0 = collar has no time
  std::optional<double> temp_c;            // °C
  std::optional<std::uint32_t> steps;      // steps in the interval
  std::optional<double> rum_min;           // rumination minutes in the interval
  std::optional<std::uint32_t> interval_s; // interval length, s
  std::optional<std::uint32_t> batt_pct;   // %
  std::optional<std::int32_t> rssi_dbm;    // dBm
};

// One weighing of a walk-over scale. The animal is its ISO 11784 identity: a 3-digit country
// code (ISO 3166 numeric; 999 = test tags, 900-998 = manufacturer codes) and a 12-digit national
// id (38 bits in the FDX-B telegram), written as 15 digits like the collar registry's animal ids.
struct scale_weighing {
  std::string scale_id;             // the device name in the gateway config
  std::uint64_t weighing_seq = 0;   // the scale's weighing counter
  std::int64_t ts_ms = 0;           // when weighed, ms since epoch UTC; 0 = unknown
  std::uint32_t country_code = 0;   // 1..999
  std::uint64_t national_id = 0;    // 0..999,999,999,999
  double weight_kg = 0;             // kg
  bool stable = true;               // false: the animal moved, the figure is less reliable

  std::string animal_id() const;    // 15 digits, e.g. "276000000000042"
};

// Who measured it, and over which path it arrived (for logs and dead letters; the event's actor
// is the measuring device whatever the path, so a collar heard twice makes one event).
struct source_identity {
  std::string kind;  // "collar", "scale"
  std::string id;    // collar id, or the scale's device name
  std::string via;   // "mqtt" or "modbus:<device>"
};

struct reading {
  std::string_view event_type;      // one of the k_*_type names above
  source_identity source;
  std::uint64_t source_seq = 0;     // the source's own counter (collar seq, weighing counter)
  std::int64_t source_ts_ms = 0;    // the source's measurement time, ms since epoch; 0 = none
  std::variant<collar_reading, scale_weighing> payload;
};

reading make_reading(collar_reading r, std::string via = "mqtt");
reading make_reading(scale_weighing w, std::string via);

}  // namespace herd::sensors
