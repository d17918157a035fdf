#pragma once
// Modbus devices as the gateway config describes them (README, "Modbus devices"). Plain structs:
// the gateway parses and validates the TOML (gateway/src/modbus_config.cpp); the poller trusts them.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace herd::sensors::modbus {

// Modbus tables (Modbus Application Protocol v1.1b3, 4.3): functions 03, 04, 01, 02.
enum class table { holding, input, coil, discrete };
// Register data types. A u48 (an ISO 11784 national id) spans three registers.
enum class data_type { u16, i16, u32, i32, f32, u48 };
// word_order big: the most significant register at the lowest address ("ABCD"), the common
// default; little: least significant first ("CDAB"). byte_order big: each register high byte
// first, as Modbus sends it; little: bytes swapped inside each register ("BADC"/"DCBA").
enum class order { big, little };

// Registers a value takes: 1, 2 or 3 (coils and discrete inputs: 1 bit).
int register_count(data_type t);

// One value of the register map, filling one event field.
struct register_field {
  std::string field;              // event field (README: fields per device kind)
  std::uint16_t address = 0;      // 0-based PDU address; inside a record when records repeat
  table tab = table::holding;
  data_type type = data_type::u16;
  order words = order::big;
  order bytes = order::big;
  double scale = 1;               // value = raw * scale + offset
  double offset = 0;
  std::string unit;               // the unit of the scaled value, as the field expects it
  std::optional<std::uint64_t> absent;  // a raw value meaning "not sent" (e.g. 0x8000)
  std::uint64_t mask = 0;         // flags: the field is true when raw & mask != 0
};

// What the device is, so what its fields become.
enum class device_kind {
  collar_base_station,  // repeated records (slots), each a collar.reading.v1
  walkover_scale,       // one record, the last weighing: scale.weight.v1
};

// The event fields a device kind fills (README, "Modbus devices"), with the unit each expects.
struct field_spec {
  const char* name;
  bool required;
  const char* unit;  // the unit of the scaled value; "" for counts, ids and flags
  bool flag;         // a status bit: needs a mask
};
std::span<const field_spec> fields_of(device_kind kind);
const char* to_string(device_kind kind);

// The register map may describe one record that repeats (a base station's slots).
struct record_layout {
  std::uint32_t first = 0;   // address of record 0; field addresses are relative to it
  std::uint32_t stride = 0;  // registers from one record to the next
  std::uint32_t count = 1;   // records
};

// An RS-485 line. Devices naming the same serial device share one bus: one schedule, one request
// at a time, and they must agree on every line setting (validated at start).
struct serial_line {
  std::string device;        // e.g. /dev/ttyUSB0 (a pty in tests)
  int baud = 19200;
  char parity = 'E';         // 'N', 'E', 'O'; Modbus over serial line v1.02, 2.5.1: even default
  int data_bits = 8;
  int stop_bits = 1;         // 2 with no parity (same section)
};

enum class transport { tcp, rtu };

struct device {
  std::string name;          // unique; names the device in events' actor, metrics and /health
  device_kind kind = device_kind::walkover_scale;
  transport via = transport::tcp;
  std::string host;          // tcp
  int port = 502;            // tcp
  serial_line line;          // rtu
  int unit_id = 1;           // 1..247 (rtu); tcp: 0..255, 255 = "not used" by most servers
  std::chrono::milliseconds poll_interval{5000};
  std::chrono::milliseconds response_timeout{500};
  std::string farm_id;       // base station: the farm its collars belong to (collar format)
  std::string collar_id_prefix = "C-";  // base station: collar id = prefix + number, zero-padded
  int collar_id_digits = 5;
  record_layout records;
  std::vector<register_field> registers;
};

struct options {
  std::vector<device> devices;
  // After a failed connect, open or poll: wait min, doubling up to max, before the next attempt.
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
  // Silence before each request on a serial bus; 0: 3.5 character times at the line's baud, at
  // least 1.75 ms (Modbus over serial line v1.02, 2.5.1.1: fixed above 19,200 baud).
  std::chrono::microseconds inter_frame_gap{0};
  // Registers between two mapped ranges read in one request rather than two (a request costs
  // ~7 bytes of header plus the turnaround: cheaper than up to this many unused registers).
  int merge_gap = 8;
};

// The gap a line needs between frames, µs (see options::inter_frame_gap).
std::chrono::microseconds frame_gap(const serial_line& line);
// Bits per character on the line: start + data + parity + stop.
int bits_per_char(const serial_line& line);

}  // namespace herd::sensors::modbus
