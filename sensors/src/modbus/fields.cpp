#include "herd/sensors/modbus_config.hpp"

namespace herd::sensors::modbus {

namespace {
// collar.reading.v1 from a base station slot: the collar format's fields (README).
constexpr field_spec k_station[] = {
    {"collar_number", true, "", false},  // collar id = prefix + number; 0 = empty slot
    {"seq", true, "", false},
    {"ts_s", true, "s", false},          // epoch seconds
    {"ts_ms", false, "ms", false},       // millisecond part of ts
    {"temp_c", false, "°C", false},
    {"steps", false, "steps", false},
    {"rum_min", false, "min", false},
    {"interval_s", false, "s", false},
    {"batt_pct", false, "%", false},
    {"rssi_dbm", false, "dBm", false},
};
// scale.weight.v1 from a walk-over scale's last weighing.
constexpr field_spec k_scale[] = {
    {"weighing_seq", true, "", false},   // changes with every weighing
    {"weighed_at_s", false, "s", false}, // epoch seconds; absent: the gateway's time
    {"rfid_country", true, "", false},   // ISO 11784 country code; 0 = no tag read
    {"rfid_national", true, "", false},  // ISO 11784 national id
    {"weight_kg", true, "kg", false},
    {"stable", false, "", true},         // a status bit
    {"shown", false, "", true},          // a status bit: a weighing is shown at all
};
}  // namespace

std::span<const field_spec> fields_of(device_kind kind) {
  return kind == device_kind::collar_base_station ? std::span<const field_spec>(k_station)
                                                  : std::span<const field_spec>(k_scale);
}

const char* to_string(device_kind kind) {
  return kind == device_kind::collar_base_station ? "collar_base_station" : "walkover_scale";
}

}  // namespace herd::sensors::modbus
