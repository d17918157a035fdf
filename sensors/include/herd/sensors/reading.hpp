#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace herd::sensors {

// A message as it arrived from a source, before any decoding. Kept whole for dead letters.
struct raw_message {
  std::string source;            // e.g. the MQTT topic
  std::string payload;           // the original bytes
  std::int64_t received_ms = 0;  // gateway wall time at receipt, ms since epoch
  // The transport marks it as a copy of an earlier publish: MQTT DUP (a resend) or RETAIN (the
  // broker's retained copy, handed over again at every subscribe). Never a new reading.
  bool redelivered = false;
};

// One decoded, range-checked collar reading (the collar MQTT format, README).
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

}  // namespace herd::sensors
