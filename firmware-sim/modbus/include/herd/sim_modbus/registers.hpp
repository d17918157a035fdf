#pragma once
// Register images of the simulated Modbus devices. The maps are documented in
// firmware-sim/README.md ("Modbus devices"); every constant here is a row of those tables.
// Word order: a 32- or 48-bit value puts its most significant register at the lowest address
// (big-endian, "ABCD"); each register travels big-endian as Modbus says.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace herd::sim_modbus {

using register_image = std::vector<std::uint16_t>;

inline void put_u16(register_image& r, std::size_t at, std::uint16_t v) { r.at(at) = v; }
inline void put_s16(register_image& r, std::size_t at, std::int16_t v) {
  r.at(at) = static_cast<std::uint16_t>(v);
}
inline void put_u32(register_image& r, std::size_t at, std::uint32_t v) {
  r.at(at) = static_cast<std::uint16_t>(v >> 16);
  r.at(at + 1) = static_cast<std::uint16_t>(v & 0xFFFFu);
}
inline void put_u48(register_image& r, std::size_t at, std::uint64_t v) {
  r.at(at) = static_cast<std::uint16_t>((v >> 32) & 0xFFFFu);
  r.at(at + 1) = static_cast<std::uint16_t>((v >> 16) & 0xFFFFu);
  r.at(at + 2) = static_cast<std::uint16_t>(v & 0xFFFFu);
}

// A device clock register: seconds since the Unix epoch, 0 before it, saturating at UINT32_MAX.
inline std::uint32_t epoch_s(std::int64_t ms) {
  return ms <= 0 ? 0 : static_cast<std::uint32_t>(std::min<std::int64_t>(ms / 1000, UINT32_MAX));
}

// "Value absent" markers: the collar format lets every field but seq and ts be missing.
inline constexpr std::int16_t k_absent_s16 = INT16_MIN;  // 0x8000
inline constexpr std::uint16_t k_absent_u16 = 0xFFFF;
inline constexpr std::uint32_t k_absent_u32 = 0xFFFFFFFF;

// Collar base station: a header, then one fixed block ("slot") per collar.
namespace station {
inline constexpr std::uint16_t k_device_type = 0x4253;  // "BS"
inline constexpr std::uint16_t k_map_version = 1;
inline constexpr std::uint16_t k_firmware = 0x0103;     // 1.3
inline constexpr std::size_t k_first_slot = 100;
inline constexpr std::size_t k_slot_size = 20;
inline constexpr int k_max_slots = 3200;                // 100 + 3200 * 20 = 64,100 registers

// Header
inline constexpr std::size_t device_type = 0, map_version = 1, firmware = 2, slot_count = 3,
                             slot_size = 4, first_slot = 5, uptime_s = 6 /*u32*/,
                             change_counter = 8 /*u32*/, clock_s = 10 /*u32*/, collars_heard = 12,
                             frames_received = 13 /*u32*/, frames_rejected = 15 /*u32*/;
// Offsets inside a slot
inline constexpr std::size_t collar_number = 0 /*u32*/, seq = 2 /*u32*/, ts_s = 4 /*u32*/,
                             ts_ms = 6, temp_centi_c = 7 /*s16*/, steps = 8 /*u32*/,
                             rum_deci_min = 10, interval_s = 11 /*u32*/, batt_pct = 13,
                             rssi_dbm = 14 /*s16*/, status = 15, readings = 16 /*u32*/,
                             missed = 18, duplicates = 19;
// Status bits of a slot
inline constexpr std::uint16_t st_in_use = 1u << 0, st_stale = 1u << 1, st_battery_low = 1u << 2,
                               st_high_temp = 1u << 3, st_seq_gap = 1u << 4,
                               st_duplicate = 1u << 5;
inline constexpr std::uint32_t k_battery_low_pct = 20;
inline constexpr std::int32_t k_high_temp_centi_c = 3950;  // HERD.md: readings >= 39.5 °C
inline constexpr int k_stale_intervals = 3;

constexpr std::size_t register_count(int slots) {
  return k_first_slot + k_slot_size * static_cast<std::size_t>(slots);
}
}  // namespace station

// Walk-over scale: the last weighing.
namespace scale {
inline constexpr std::uint16_t k_device_type = 0x5753;  // "WS"
inline constexpr std::uint16_t k_map_version = 1;
inline constexpr std::uint16_t k_firmware = 0x0201;     // 2.1
inline constexpr std::size_t device_type = 0, map_version = 1, firmware = 2, uptime_s = 3 /*u32*/,
                             clock_s = 5 /*u32*/, status = 7, weighings = 8 /*u32*/,
                             weighed_at_s = 10 /*u32*/, rfid_country = 12,
                             rfid_national = 13 /*u48*/, weight_deci_kg = 16 /*u32*/,
                             rfid_ascii = 18 /*8 registers*/;
inline constexpr std::size_t k_register_count = 26;
inline constexpr std::uint16_t st_has_weighing = 1u << 0, st_stable = 1u << 1,
                               st_tag_read = 1u << 2;
}  // namespace scale

}  // namespace herd::sim_modbus
