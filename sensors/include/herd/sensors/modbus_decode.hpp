#pragma once
// Pure decoding of register values and the read plan of a register map. No I/O; any thread.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/sensors/modbus_config.hpp"

namespace herd::sensors::modbus {

// The raw bits of a value from its registers (register_count(type) of them, in address order):
// word and byte order applied, sign not yet (see to_number).
std::uint64_t assemble(std::span<const std::uint16_t> regs, data_type type, order words, order bytes);
// The raw bits as a number of its type: i16/i32 sign-extended, f32 reinterpreted (IEEE 754).
double to_number(std::uint64_t raw, data_type type);

struct decoded {
  bool present = false;   // false: the raw value is the field's "absent" marker
  std::uint64_t raw = 0;
  double value = 0;       // raw as a number * scale + offset; flags: 1 or 0
};
decoded decode(const register_field& f, std::span<const std::uint16_t> regs);

// One read request.
struct block {
  table tab = table::holding;
  std::uint32_t address = 0;
  std::uint32_t count = 0;  // registers (or bits)
};
// The requests covering every field of every record: ranges per table merged when at most
// `merge_gap` unused registers apart, split at 125 registers / 2,000 bits (the protocol's limits,
// Modbus Application Protocol v1.1b3, 6.1-6.4).
std::vector<block> plan_reads(const device& d, int merge_gap);

// Values read, by table and absolute address.
class register_view {
 public:
  void put(const block& b, std::vector<std::uint16_t> values);
  // The registers of field f in record r; empty when not read.
  std::span<const std::uint16_t> at(const device& d, const register_field& f, std::uint32_t record) const;
  // The registers of record r as hex words "0001 002a ..." for dead letters.
  std::string hex_record(const device& d, std::uint32_t record) const;

 private:
  struct chunk {
    block b;
    std::vector<std::uint16_t> values;
  };
  std::vector<chunk> chunks_;
};

}  // namespace herd::sensors::modbus
