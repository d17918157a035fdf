// libFuzzer: Modbus register decoding (sensors/modbus: plan_reads, register_view, decode,
// convert_record), the path every poll's answer takes. A device on the bus may answer with any
// register values, and a farm's own profile may give a field another data type of the same width
// or another word / byte order than the shipped profiles: every combination gives a reading, a
// dead letter with its reason or nothing (an empty slot), never a crash, a hang or undefined
// behaviour, and a reading passes the checks the MQTT path applies to a collar reading.
//
// Input: byte 0 picks the device (even: the walk-over scale, odd: the base station, both from the
// profiles in config/modbus/); then one byte per register field (0: as shipped; else another data
// type of its width, word or byte order swapped, "absent" marker dropped); the rest fills the
// answers' registers in the order of the read plan (big-endian pairs; missing bytes read as 0).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "herd/gateway/config.hpp"
#include "herd/sensors/collar_format.hpp"
#include "herd/sensors/modbus_decode.hpp"
#include "minimal_config.hpp"  // tests/unit/gateway: every required key of a gateway config
#include "records.hpp"  // sensors/src/modbus: convert_record, the poller's own step

namespace mb = herd::sensors::modbus;

namespace {

mb::options load_devices() {
  const std::string toml = herd::test::k_minimal_config + R"(
[[modbus.device]]
name = "scale"
profile = "modbus/herd-walkover-scale.toml"
transport = "tcp"
host = "127.0.0.1"
[[modbus.device]]
name = "station"
profile = "modbus/herd-base-station.toml"
transport = "tcp"
host = "127.0.0.1"
port = 503
farm_id = "f1"
)";
  auto c = herd::gateway::parse_config(toml, HERD_SOURCE_DIR "/config/fuzz.toml");
  if (!c) std::abort();  // the shipped profiles must load
  return c->modbus;
}

// Another type of the same width: what a farm's profile may say instead.
mb::data_type same_width(mb::data_type t, unsigned pick) {
  switch (t) {
    case mb::data_type::u16:
    case mb::data_type::i16: return pick % 2 ? mb::data_type::i16 : mb::data_type::u16;
    case mb::data_type::u32:
    case mb::data_type::i32:
    case mb::data_type::f32: {
      constexpr mb::data_type w32[] = {mb::data_type::u32, mb::data_type::i32, mb::data_type::f32};
      return w32[pick % 3];
    }
    case mb::data_type::u48: return t;
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const mb::options shipped = load_devices();
  if (size == 0) return 0;
  mb::device d = shipped.devices[data[0] % 2 == 0 ? 0 : 1];
  std::size_t at = 1;
  for (auto& f : d.registers) {
    if (at >= size) break;
    const unsigned b = data[at++];  // 0: the field as shipped
    if ((b & 3) != 0 && (f.tab == mb::table::holding || f.tab == mb::table::input)) f.type = same_width(f.type, b & 3);
    const auto flip = [](mb::order o) { return o == mb::order::big ? mb::order::little : mb::order::big; };
    if (b & 4) f.words = flip(f.words);
    if (b & 8) f.bytes = flip(f.bytes);
    if (b & 16) f.absent.reset();
  }
  mb::register_view view;
  for (const mb::block& blk : mb::plan_reads(d, shipped.merge_gap)) {
    std::vector<std::uint16_t> values(blk.count, 0);
    for (auto& v : values) {
      if (at + 1 < size) v = static_cast<std::uint16_t>(data[at] << 8 | data[at + 1]);
      at += 2;
    }
    view.put(blk, std::move(values));
  }
  for (std::uint32_t r = 0; r < d.records.count; ++r) {
    const mb::record_result first = mb::convert_record(d, view, r, 1'780'000'000'000, std::nullopt);
    using kind = mb::record_result::kind;
    if (first.what == kind::rejected && first.reason.empty()) __builtin_trap();
    if (first.what == kind::reading) {
      if (const auto* c = std::get_if<herd::sensors::collar_reading>(&first.value.payload)) {
        if (!herd::sensors::validate_collar_reading(*c)) __builtin_trap();
      } else if (const auto* w = std::get_if<herd::sensors::scale_weighing>(&first.value.payload)) {
        if (!(w->weight_kg > 0 && w->weight_kg <= 2000) || w->country_code == 0) __builtin_trap();
      }
    }
    // The same answer polled again: nothing new (the poller's "unchanged" rule).
    if (first.what == kind::reading || first.what == kind::rejected) {
      const mb::record_result again = mb::convert_record(d, view, r, 1'780'000'000'000, first.key);
      if (again.what != kind::unchanged) __builtin_trap();
    }
  }
  return 0;
}
