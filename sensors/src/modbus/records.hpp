#pragma once
// A record of the register map (a base station slot, a scale's last weighing) -> a reading.
// Pure; any thread.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "herd/sensors/modbus_config.hpp"
#include "herd/sensors/modbus_decode.hpp"
#include "herd/sensors/reading.hpp"

namespace herd::sensors::modbus {

// What identifies the content of a record: unchanged key, nothing new to emit.
using record_key = std::array<std::uint64_t, 3>;

struct record_result {
  enum class kind { empty, unchanged, reading, rejected } what = kind::empty;
  record_key key{};
  reading value;
  raw_message raw;       // for the sink: where it came from and the registers
  std::string reason;    // rejected: the dead-letter reason
};

// `seen`: the key last handed to the sink for this record; when the record still has it, the
// result is `unchanged` and nothing else is built (the common case: polls are cheap).
record_result convert_record(const device& d, const register_view& v, std::uint32_t record,
                             std::int64_t received_ms, const std::optional<record_key>& seen);

}  // namespace herd::sensors::modbus
