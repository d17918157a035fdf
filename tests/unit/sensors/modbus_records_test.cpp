// A register map's record -> a reading or a dead letter (sensors/src/modbus/records.hpp, the
// poller's step after each answer), for values a hostile or broken device can send.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "herd/sensors/modbus_decode.hpp"
#include "records.hpp"

namespace mb = herd::sensors::modbus;

namespace {
mb::register_field input(const char* name, std::uint16_t address, mb::data_type t) {
  mb::register_field f;
  f.field = std::string(name);
  f.address = address;
  f.tab = mb::table::input;
  f.type = t;
  return f;
}

// A one-slot base station whose profile types the collar sequence as f32 (a farm's own profile may).
mb::device station_with_f32_seq() {
  mb::device d;
  d.name = "st";
  d.kind = mb::device_kind::collar_base_station;
  d.farm_id = "f1";
  d.records = {0, 8, 1};
  d.registers = {input("collar_number", 0, mb::data_type::u32), input("seq", 2, mb::data_type::f32),
                 input("ts_s", 4, mb::data_type::u32)};
  return d;
}

mb::record_result convert(const mb::device& d, std::vector<std::uint16_t> regs) {
  mb::register_view v;
  const mb::block b{mb::table::input, 0, static_cast<std::uint32_t>(regs.size())};
  v.put(b, std::move(regs));
  return mb::convert_record(d, v, 0, 1'780'000'000'000, std::nullopt);
}

std::vector<std::uint16_t> slot(float seq) {
  const auto bits = std::bit_cast<std::uint32_t>(seq);
  // collar 42, seq, ts 1,780,000,000 s (0x6A18_2E80)
  return {0, 42, static_cast<std::uint16_t>(bits >> 16), static_cast<std::uint16_t>(bits), 0x6A18, 0x2E80, 0, 0};
}
}  // namespace

TEST_CASE("a slot whose f32 sequence is 7 is a reading with seq 7") {
  const auto r = convert(station_with_f32_seq(), slot(7.0f));
  REQUIRE(r.what == mb::record_result::kind::reading);
  CHECK(std::get<herd::sensors::collar_reading>(r.value.payload).seq == 7);
}

// Regression (fuzz_modbus_registers): a NaN was converted to an integer (undefined behaviour;
// on x86 the slot became a reading with seq 0).
TEST_CASE("a slot whose f32 sequence is NaN or infinite is a dead letter naming the field") {
  for (const float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    CAPTURE(bad);
    const auto r = convert(station_with_f32_seq(), slot(bad));
    REQUIRE(r.what == mb::record_result::kind::rejected);
    CHECK(r.reason.find("'seq'") != std::string::npos);
  }
}
