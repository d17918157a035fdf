// The Modbus poller against firmware-sim's slaves (libmodbus servers) over loopback TCP and over a
// socat pty pair (RTU): exact decoding of every data type and order, base station slots and scale
// weighings as readings, unchanged records not emitted again.
#include <doctest/doctest.h>
#include <modbus.h>

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <set>

#include <herd/test_support/wait_until.hpp>

#include "herd/core/clock.hpp"
#include "herd/sensors/collar_format.hpp"
#include "herd/sensors/modbus_decode.hpp"
#include "herd/sim/fleet.hpp"
#include "herd/sim/ids.hpp"
#include "herd/sim_modbus/server.hpp"
#include "herd/sim_modbus/walkover_scale.hpp"
#include "modbus_rig.hpp"

using namespace herd;
using namespace std::chrono_literals;
namespace mb = herd::sensors::modbus;
namespace tmb = herd::test_modbus;
namespace ts = herd::test_support;

namespace {

constexpr std::int64_t k_start = 1780000000000;  // 2026-05-28T20:26:40Z

// One value in every type and order, and where it sits in the image.
struct typed_case {
  mb::data_type type;
  mb::order words, bytes;
  std::vector<std::uint16_t> regs;
  double expect;
  const char* what;
};

std::vector<typed_case> typed_cases() {
  const auto sw = [](std::uint16_t r) { return static_cast<std::uint16_t>((r >> 8) | (r << 8)); };
  const std::uint32_t f = std::bit_cast<std::uint32_t>(-273.15f);
  const std::uint16_t fh = static_cast<std::uint16_t>(f >> 16), fl = static_cast<std::uint16_t>(f);
  const double fv = static_cast<double>(-273.15f);
  using mb::data_type;
  using mb::order;
  return {
      {data_type::u16, order::big, order::big, {0xBEEF}, 48879, "u16 AB"},
      {data_type::u16, order::big, order::little, {0xEFBE}, 48879, "u16 BA"},
      {data_type::i16, order::big, order::big, {0xFF85}, -123, "i16 AB"},
      {data_type::i16, order::big, order::little, {0x85FF}, -123, "i16 BA"},
      {data_type::u32, order::big, order::big, {0xDEAD, 0xBEEF}, 3735928559.0, "u32 ABCD"},
      {data_type::u32, order::little, order::big, {0xBEEF, 0xDEAD}, 3735928559.0, "u32 CDAB"},
      {data_type::u32, order::big, order::little, {0xADDE, 0xEFBE}, 3735928559.0, "u32 BADC"},
      {data_type::u32, order::little, order::little, {0xEFBE, 0xADDE}, 3735928559.0, "u32 DCBA"},
      {data_type::i32, order::big, order::big, {0xFFFE, 0x1DC0}, -123456, "i32 ABCD"},
      {data_type::i32, order::little, order::big, {0x1DC0, 0xFFFE}, -123456, "i32 CDAB"},
      {data_type::i32, order::big, order::little, {0xFEFF, 0xC01D}, -123456, "i32 BADC"},
      {data_type::i32, order::little, order::little, {0xC01D, 0xFEFF}, -123456, "i32 DCBA"},
      {data_type::f32, order::big, order::big, {fh, fl}, fv, "f32 ABCD"},
      {data_type::f32, order::little, order::big, {fl, fh}, fv, "f32 CDAB"},
      {data_type::f32, order::big, order::little, {sw(fh), sw(fl)}, fv, "f32 BADC"},
      {data_type::f32, order::little, order::little, {sw(fl), sw(fh)}, fv, "f32 DCBA"},
      {data_type::u48, order::big, order::big, {0x00E8, 0xD4A5, 0x0FFF}, 999999999999.0, "u48 big"},
      {data_type::u48, order::little, order::big, {0x0FFF, 0xD4A5, 0x00E8}, 999999999999.0, "u48 little words"},
      {data_type::u48, order::big, order::little, {0xE800, 0xA5D4, 0xFF0F}, 999999999999.0, "u48 swapped bytes"},
  };
}

// Lays the cases out in one image, reads it back through a libmodbus client from firmware-sim's
// server and decodes every value.
void check_typed_cases(modbus_t* client) {
  const auto cases = typed_cases();
  std::vector<std::uint16_t> regs(128, 0);
  std::uint16_t at = 0;
  std::vector<std::uint16_t> where;
  for (const auto& c : cases) {
    where.push_back(at);
    for (auto r : c.regs) regs[at++] = r;
  }
  (void)regs;
  std::vector<std::uint16_t> got(at);
  REQUIRE(modbus_read_input_registers(client, 0, at, got.data()) == at);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    mb::register_field f;
    f.type = c.type;
    f.words = c.words;
    f.bytes = c.bytes;
    const auto d = mb::decode(f, std::span<const std::uint16_t>(got).subspan(where[i], c.regs.size()));
    INFO(c.what);
    CHECK(d.value == c.expect);
    if (c.type == mb::data_type::u48) CHECK(d.raw == 999'999'999'999ULL);
  }
}

std::vector<std::uint16_t> typed_image() {
  std::vector<std::uint16_t> regs(128, 0);
  std::size_t at = 0;
  for (const auto& c : typed_cases()) {
    for (auto r : c.regs) regs[at++] = r;
  }
  return regs;
}

}  // namespace

TEST_CASE("every data type and word/byte order decodes exactly from firmware-sim's slave over TCP and RTU") {
  auto bank = std::make_shared<sim_modbus::register_bank>(128);
  bank->publish(typed_image());
  SUBCASE("TCP") {
    sim_modbus::tcp_options o;
    o.port = 0;
    auto server = sim_modbus::modbus_server::start_tcp(bank, o);
    REQUIRE(server.ok());
    modbus_t* c = modbus_new_tcp("127.0.0.1", (*server)->port());
    REQUIRE(modbus_connect(c) == 0);
    check_typed_cases(c);
    modbus_close(c);
    modbus_free(c);
  }
  SUBCASE("RTU over a pty pair") {
    tmb::pty_pair pty;
    sim_modbus::rtu_options o;
    o.device = pty.device_end;
    o.slave_id = 7;
    auto server = sim_modbus::modbus_server::start_rtu(bank, o);
    REQUIRE(server.ok());
    modbus_t* c = modbus_new_rtu(pty.gateway_end.c_str(), 19200, 'E', 8, 1);
    REQUIRE(modbus_connect(c) == 0);
    modbus_set_slave(c, 7);
    check_typed_cases(c);
    modbus_close(c);
    modbus_free(c);
  }
}

TEST_CASE("base station over TCP: every slot becomes the collar's reading, unchanged slots are not emitted again") {
  constexpr int collars = 30;
  auto station = tmb::sim_station_tcp(5, collars, k_start);
  auto opts = tmb::devices_from(fmt::format(R"(
[[modbus.device]]
name = "station-1"
profile = "modbus/herd-base-station.toml"
transport = "tcp"
host = "127.0.0.1"
port = {}
poll_interval_ms = 50
farm_id = "farm-01"
[modbus.device.records]
count = {}
)", tmb::port_of(*station), collars));
  core::system_clock clock;
  tmb::poll_log polls;
  tmb::recording_sink sink;
  mb::poller p(opts, clock, polls.observer());
  REQUIRE(p.start(sink).ok());
  REQUIRE(ts::wait_until([&] { return sink.count() >= collars; }, 10s));
  // Several more polls with nothing new: nothing more is emitted.
  const auto ok_before = polls.ok_count("station-1");
  REQUIRE(ts::wait_until([&] { return polls.ok_count("station-1") >= ok_before + 5; }, 10s));
  CHECK(sink.count() == collars);

  // What the gateway's MQTT path would decode from the same fleet readings.
  sim::fleet_options fo;
  fo.seed = 5;
  fo.collars = collars;
  fo.start_ms = k_start;
  fo.interval_s = 600;
  sim::fleet fleet(fo);
  std::map<std::string, sensors::collar_reading> expected;
  for (int i = 0; i < 2 * collars; ++i) {
    const auto m = fleet.next();
    auto r = sensors::decode_collar_message(m.topic, m.payload);
    REQUIRE(r.ok());
    expected[r->collar_id + "/" + std::to_string(r->seq)] = *r;
  }
  std::set<std::string> seen;
  for (const auto& s : sink.readings()) {
    REQUIRE(s.reading.event_type == sensors::k_collar_reading_type);
    const auto& got = std::get<sensors::collar_reading>(s.reading.payload);
    const auto key = got.collar_id + "/" + std::to_string(got.seq);
    REQUIRE(expected.count(key) == 1);
    const auto& want = expected[key];
    CHECK(got.farm_id == "farm-01");
    CHECK(got.ts_ms == want.ts_ms);
    CHECK(got.temp_c == want.temp_c);  // exact: 0.01 °C registers give the double JSON gives
    CHECK(got.steps == want.steps);
    CHECK(got.rum_min == want.rum_min);
    CHECK(got.interval_s == want.interval_s);
    CHECK(got.batt_pct == want.batt_pct);
    CHECK(got.rssi_dbm == want.rssi_dbm);
    CHECK(s.reading.source_seq == want.seq);
    CHECK(s.reading.source.via == "modbus:station-1");
    seen.insert(key);
  }
  CHECK(seen.size() == collars);

  // One interval later every collar has a new reading: exactly one more per slot.
  tmb::advance(*station, 600);
  REQUIRE(ts::wait_until([&] { return sink.count() >= 2 * collars; }, 10s));
  const auto ok_after = polls.ok_count("station-1");
  REQUIRE(ts::wait_until([&] { return polls.ok_count("station-1") >= ok_after + 3; }, 10s));
  CHECK(sink.count() == 2 * collars);
  const auto st = p.stats();
  REQUIRE(st.size() == 1);
  CHECK(st[0].readings == 2 * collars);
  CHECK(st[0].unchanged > 0);
  CHECK(st[0].fail_timeout + st[0].fail_io + st[0].fail_connect == 0);
  p.stop();
}

TEST_CASE("walk-over scale over RTU on a pty pair: each weighing once, with the ISO 11784 animal") {
  tmb::pty_pair pty;
  constexpr std::uint64_t seed = 9;
  // Virtual time: 30 s into the first milking (05:00 UTC); 20 animals cross 8-20 s apart.
  const std::int64_t start = 1780012800000;  // 2026-05-29T00:00:00Z
  auto scale = tmb::sim_scale_rtu(pty.device_end, 3, seed, 20, start, 5 * 3600 + 30);
  auto opts = tmb::devices_from(fmt::format(R"(
[[modbus.device]]
name = "scale-1"
profile = "modbus/herd-walkover-scale.toml"
transport = "rtu"
serial = "{}"
unit_id = 3
poll_interval_ms = 50
)", pty.gateway_end));
  core::system_clock clock;
  tmb::recording_sink sink;
  tmb::poll_log polls;
  mb::poller p(opts, clock, polls.observer());
  REQUIRE(p.start(sink).ok());
  REQUIRE(ts::wait_until([&] { return sink.count() + sink.rejections().size() >= 1; }, 10s));
  sim_modbus::scale_model model(seed, 20, start);
  // Step through weighings: each new one is emitted once.
  std::uint64_t shown = 0;
  for (double t = 5 * 3600 + 30; t < 5 * 3600 + 400; t += 15) {
    tmb::advance(*scale, t);
    const auto ok = polls.ok_count("scale-1");
    REQUIRE(ts::wait_until([&] { return polls.ok_count("scale-1") >= ok + 2; }, 10s));
  }
  p.stop();
  const auto got = sink.readings();
  REQUIRE_FALSE(got.empty());
  std::set<std::uint64_t> seqs;
  for (const auto& s : got) {
    const auto& w = std::get<sensors::scale_weighing>(s.reading.payload);
    CHECK(seqs.insert(w.weighing_seq).second);  // never twice
    // The counter counts weighings since power-on (1-based); the model numbers them from 0.
    const auto want = model.at(w.weighing_seq - 1);
    REQUIRE(want.animal >= 0);
    CHECK(w.animal_id() == sim::animal_id(want.animal));
    CHECK(w.weight_kg == static_cast<double>(want.weight_deci_kg) / 10);
    CHECK(w.stable == want.stable);
    CHECK(w.ts_ms == want.ts_ms / 1000 * 1000);
    CHECK(s.reading.event_type == sensors::k_scale_weight_type);
    shown = std::max(shown, w.weighing_seq);
  }
  // Weighings without a tag read are dead-lettered, not dropped.
  CHECK(seqs.size() + sink.rejections().size() >= 5);
  MESSAGE("scale: " << seqs.size() << " weighings, " << sink.rejections().size() << " without a tag");
}
