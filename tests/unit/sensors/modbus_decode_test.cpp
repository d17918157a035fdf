// Register decoding: every data type, word and byte order, scale/offset, absent markers, flags,
// and the read plan of a register map.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#include "herd/sensors/modbus_decode.hpp"

namespace mb = herd::sensors::modbus;

namespace {
mb::register_field field(mb::data_type t, mb::order w = mb::order::big, mb::order b = mb::order::big) {
  mb::register_field f;
  // Move-assigned: the aarch64 GCC 12 at -O2 flags assigning the literal (std::string::_M_replace)
  // with a false -Wrestrict (GCC bug 105329).
  f.field = std::string("x");
  f.type = t;
  f.words = w;
  f.bytes = b;
  return f;
}
double value(const mb::register_field& f, std::vector<std::uint16_t> regs) { return mb::decode(f, regs).value; }
}  // namespace

TEST_CASE("16-bit values: unsigned, signed, byte order") {
  CHECK(value(field(mb::data_type::u16), {0xFFFE}) == 65534);
  CHECK(value(field(mb::data_type::i16), {0xFFFE}) == -2);
  CHECK(value(field(mb::data_type::i16), {0x8000}) == -32768);
  CHECK(value(field(mb::data_type::u16, mb::order::big, mb::order::little), {0x3412}) == 0x1234);
}

TEST_CASE("32-bit values in all four orders (ABCD, CDAB, BADC, DCBA)") {
  const std::uint32_t v = 0x12345678;
  CHECK(value(field(mb::data_type::u32), {0x1234, 0x5678}) == v);
  CHECK(value(field(mb::data_type::u32, mb::order::little), {0x5678, 0x1234}) == v);
  CHECK(value(field(mb::data_type::u32, mb::order::big, mb::order::little), {0x3412, 0x7856}) == v);
  CHECK(value(field(mb::data_type::u32, mb::order::little, mb::order::little), {0x7856, 0x3412}) == v);
  CHECK(value(field(mb::data_type::i32), {0xFFFF, 0xFFFF}) == -1);
  CHECK(value(field(mb::data_type::i32, mb::order::little), {0x0000, 0x8000}) == -2147483648.0);
  CHECK(value(field(mb::data_type::u32), {0xFFFF, 0xFFFF}) == 4294967295.0);
}

TEST_CASE("f32: IEEE 754 in every order") {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(38.625f);
  const std::uint16_t hi = static_cast<std::uint16_t>(bits >> 16), lo = static_cast<std::uint16_t>(bits);
  const auto swap = [](std::uint16_t r) { return static_cast<std::uint16_t>((r >> 8) | (r << 8)); };
  CHECK(value(field(mb::data_type::f32), {hi, lo}) == 38.625);
  CHECK(value(field(mb::data_type::f32, mb::order::little), {lo, hi}) == 38.625);
  CHECK(value(field(mb::data_type::f32, mb::order::big, mb::order::little), {swap(hi), swap(lo)}) == 38.625);
  CHECK(value(field(mb::data_type::f32, mb::order::little, mb::order::little), {swap(lo), swap(hi)}) == 38.625);
  const std::uint32_t neg = std::bit_cast<std::uint32_t>(-1.5f);
  CHECK(value(field(mb::data_type::f32), {static_cast<std::uint16_t>(neg >> 16), static_cast<std::uint16_t>(neg)}) == -1.5);
}

TEST_CASE("u48 RFID national id: exact up to 12 digits, both word orders") {
  const std::uint64_t id = 999'999'999'999ULL;  // 0xE8_D4A5_0FFF
  CHECK(mb::decode(field(mb::data_type::u48), std::vector<std::uint16_t>{0x00E8, 0xD4A5, 0x0FFF}).raw == id);
  CHECK(value(field(mb::data_type::u48), {0x00E8, 0xD4A5, 0x0FFF}) == 999999999999.0);
  CHECK(mb::decode(field(mb::data_type::u48, mb::order::little), std::vector<std::uint16_t>{0x0FFF, 0xD4A5, 0x00E8}).raw == id);
  CHECK(mb::decode(field(mb::data_type::u48, mb::order::big, mb::order::little),
                   std::vector<std::uint16_t>{0xE800, 0xA5D4, 0xFF0F}).raw == id);
}

TEST_CASE("scale and offset: a decimal scale gives the double a JSON figure would") {
  auto f = field(mb::data_type::i16);
  f.scale = 0.01;
  CHECK(value(f, {3862}) == 38.62);
  CHECK(value(f, {static_cast<std::uint16_t>(-150)}) == -1.5);
  f.scale = 0.1;
  f.offset = -40;
  CHECK(value(f, {652}) == doctest::Approx(25.2));
  auto g = field(mb::data_type::u32);
  g.scale = 0.1;
  CHECK(value(g, {0x0000, 6543}) == 654.3);
}

TEST_CASE("absent markers and status bits") {
  auto f = field(mb::data_type::i16);
  f.absent = 0x8000;
  CHECK_FALSE(mb::decode(f, std::vector<std::uint16_t>{0x8000}).present);
  CHECK(mb::decode(f, std::vector<std::uint16_t>{0x7FFF}).present);
  auto s = field(mb::data_type::u16);
  s.mask = 0x0002;
  CHECK(value(s, {0x0007}) == 1);
  CHECK(value(s, {0x0005}) == 0);
}

TEST_CASE("read plan: merged within the gap, split at 125 registers, per table") {
  mb::device d;
  d.kind = mb::device_kind::collar_base_station;
  d.records = {100, 20, 50};
  auto a = field(mb::data_type::u32);
  a.tab = mb::table::input;
  a.address = 0;
  auto b = field(mb::data_type::i16);
  b.tab = mb::table::input;
  b.address = 14;
  d.registers = {a, b};
  const auto plan = mb::plan_reads(d, 12);
  // Gaps of 12 inside and 5 between records: merged up to 125 registers a request.
  CHECK(plan.size() == 8);
  CHECK(plan[0].address == 100);
  CHECK(plan[0].count == 122);
  for (const auto& p : plan) CHECK(p.count <= 125);
  // Every field of every record lies inside one request.
  for (std::uint32_t r = 0; r < 50; ++r) {
    for (std::uint32_t off : {0u, 1u, 14u}) {
      const std::uint32_t at = 100 + 20 * r + off;
      CHECK(std::count_if(plan.begin(), plan.end(), [&](const mb::block& blk) {
              return at >= blk.address && at < blk.address + blk.count;
            }) == 1);
    }
  }
  // A gap wider than merge_gap: separate requests (8 merges only across records).
  CHECK(mb::plan_reads(d, 8).size() == 51);
  CHECK(mb::plan_reads(d, 4).size() == 100);
  // Coils go in their own requests.
  auto c = field(mb::data_type::u16);
  c.tab = mb::table::coil;
  c.address = 3;
  d.registers.push_back(c);
  d.records.count = 1;
  const auto p2 = mb::plan_reads(d, 8);
  REQUIRE(p2.size() == 3);
  CHECK(p2[2].tab == mb::table::coil);
}

TEST_CASE("frame gap: 3.5 characters up to 19,200 baud, 1.75 ms above") {
  mb::serial_line l;
  l.baud = 19200;  // 8E1: 11 bits a character
  CHECK(mb::frame_gap(l).count() == 2006);
  l.baud = 9600;
  CHECK(mb::frame_gap(l).count() == 4011);
  l.baud = 115200;
  CHECK(mb::frame_gap(l).count() == 1750);
}
