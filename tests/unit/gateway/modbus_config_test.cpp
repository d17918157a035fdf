// [modbus] config: the sample profiles load; every problem is reported with its key path.
#include <doctest/doctest.h>

#include "herd/gateway/config.hpp"
#include "minimal_config.hpp"

using herd::gateway::parse_config;
namespace mb = herd::sensors::modbus;

namespace {
using herd::test::k_minimal_config;
// Profiles resolve against the config file's folder: pretend the config is in config/.
const std::string k_origin = HERD_SOURCE_DIR "/config/t.toml";

std::string modbus_errors_of(const std::string& text) {
  auto c = parse_config(k_minimal_config + text, k_origin);
  REQUIRE_FALSE(c.ok());
  return c.err().message;
}

const std::string k_station = R"(
[[modbus.device]]
name = "station-1"
profile = "modbus/herd-base-station.toml"
transport = "tcp"
host = "127.0.0.1"
port = 1502
farm_id = "farm-01"
[modbus.device.records]
count = 120
)";

const std::string k_scale_rtu = R"(
[[modbus.device]]
name = "scale-1"
profile = "modbus/herd-walkover-scale.toml"
transport = "rtu"
serial = "/dev/ttyUSB0"
unit_id = 3
)";
}  // namespace

TEST_CASE("the sample profiles load, device keys override the profile's") {
  auto c = parse_config(k_minimal_config + k_station + k_scale_rtu, k_origin);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  REQUIRE(c->modbus.devices.size() == 2);
  const auto& s = c->modbus.devices[0];
  CHECK(s.kind == mb::device_kind::collar_base_station);
  CHECK(s.records.first == 100);
  CHECK(s.records.stride == 20);
  CHECK(s.records.count == 120);
  CHECK(s.registers.size() == 10);
  CHECK(s.farm_id == "farm-01");
  const auto& w = c->modbus.devices[1];
  CHECK(w.kind == mb::device_kind::walkover_scale);
  CHECK(w.via == mb::transport::rtu);
  CHECK(w.line.baud == 19200);
  CHECK(w.line.parity == 'E');
  CHECK(w.unit_id == 3);
  CHECK(c->observability.max_device_failing.count() == 300);
}

TEST_CASE("the sample config's [modbus] section loads") {
  auto c = herd::gateway::load_config(HERD_SOURCE_DIR "/config/herdgate.sample.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK(c->modbus.devices.empty());
  CHECK(c->modbus.backoff_max.count() == 30000);
}

const char* const k_inline_head = R"(
[[modbus.device]]
name = "s"
kind = "walkover_scale"
transport = "tcp"
host = "h"
)";

TEST_CASE("register map problems carry their key path") {
  const std::string seq = "[[modbus.device.register]]\nfield = \"weighing_seq\"\naddress = 8\ntype = \"u32\"\n";
  const std::string rest =
      "[[modbus.device.register]]\nfield = \"rfid_country\"\naddress = 12\n"
      "[[modbus.device.register]]\nfield = \"rfid_national\"\naddress = 13\ntype = \"u48\"\n"
      "[[modbus.device.register]]\nfield = \"weight_kg\"\naddress = 16\ntype = \"u32\"\nscale = 0.1\nunit = \"kg\"\n";
  // A complete map is valid.
  REQUIRE(parse_config(k_minimal_config + k_inline_head + seq + rest, k_origin).ok());

  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"x\"\naddress = 1\ntype = \"f64\"\n")
            .find("modbus.device[0].register[4].type: unknown value 'f64'") != std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"colour\"\naddress = 30\n")
            .find("modbus.device[0].register[4].field: unknown field 'colour'") != std::string::npos);
  // weighing_seq is a u32 at 8-9; a u16 at 9 overlaps it.
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"weighed_at_s\"\naddress = 9\n")
            .find("modbus.device[0].register[4].address: 9 (1 register(s)) overlaps register[0]") != std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"weighed_at_s\"\naddress = 65535\ntype = \"u32\"\n")
            .find("register[4].address: 65535 + 2 register(s) goes past 65535") != std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"weighed_at_s\"\naddress = 70000\n")
            .find("register[4].address: must be between 0 and 65535") != std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq).find("modbus.device[0]: modbus.device[0]: the required field 'rfid_country'") !=
        std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"stable\"\naddress = 7\n")
            .find("register[4].mask: is required") != std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"weighed_at_s\"\naddress = 20\nunit = \"ms\"\n")
            .find("register[4].unit: 'weighed_at_s' is in 's'") != std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"weighed_at_s\"\naddress = 20\nword_order = \"middle\"\n")
            .find("register[4].word_order: unknown value 'middle'") != std::string::npos);
  CHECK(modbus_errors_of(k_inline_head + seq + rest + "[[modbus.device.register]]\nfield = \"weighed_at_s\"\naddress = 20\ncolor = 1\n")
            .find("register[4].color: unknown key") != std::string::npos);
}

TEST_CASE("errors from a profile's map name the profile") {
  const auto e = modbus_errors_of(R"(
[[modbus.device]]
name = "s"
profile = "modbus/herd-walkover-scale.toml"
transport = "tcp"
host = "h"
kind = "collar_base_station"
farm_id = "f"
)");
  CHECK(e.find("modbus.device[0].profile(" HERD_SOURCE_DIR "/config/modbus/herd-walkover-scale.toml).register[0].field: "
               "unknown field 'shown' for a collar_base_station") != std::string::npos);
  CHECK(modbus_errors_of("[[modbus.device]]\nname = \"s\"\nprofile = \"modbus/nope.toml\"\n").find("modbus.device[0].profile: ") !=
        std::string::npos);
}

TEST_CASE("devices on one serial line: same line settings, distinct unit ids, distinct names") {
  const std::string second = R"(
[[modbus.device]]
name = "scale-2"
profile = "modbus/herd-walkover-scale.toml"
transport = "rtu"
serial = "/dev/ttyUSB0"
baud = 9600
parity = "N"
unit_id = 3
)";
  const auto e = modbus_errors_of(k_scale_rtu + second);
  CHECK(e.find("modbus.device[1].baud: 9600 differs from modbus.device[0] ('scale-1': 19200) on the same serial line /dev/ttyUSB0") !=
        std::string::npos);
  CHECK(e.find("modbus.device[1].parity: N differs") != std::string::npos);
  CHECK(e.find("modbus.device[1].unit_id: 3 is already modbus.device[0] ('scale-1') on /dev/ttyUSB0") != std::string::npos);
  CHECK(modbus_errors_of(k_scale_rtu + k_scale_rtu).find("modbus.device[1].name: 'scale-1' is already modbus.device[0]") !=
        std::string::npos);
  // Another serial line may use other settings and the same unit id.
  std::string other = second;
  other.replace(other.find("/dev/ttyUSB0"), 12, "/dev/ttyUSB1");
  CHECK(parse_config(k_minimal_config + k_scale_rtu + other, k_origin).ok());
}

TEST_CASE("transport settings are checked") {
  CHECK(modbus_errors_of(k_scale_rtu + "parity = \"X\"\n").find("modbus.device[0].parity: must be N, E or O") != std::string::npos);
  CHECK(modbus_errors_of(R"(
[[modbus.device]]
name = "scale-1"
profile = "modbus/herd-walkover-scale.toml"
transport = "rtu"
serial = "/dev/ttyUSB0"
unit_id = 0
)").find("modbus.device[0].unit_id: must be between 1 and 247") != std::string::npos);
  CHECK(modbus_errors_of(k_station + "transport = \"udp\"\n").find("transport") != std::string::npos);
  CHECK(modbus_errors_of(R"(
[[modbus.device]]
name = "st"
profile = "modbus/herd-base-station.toml"
transport = "tcp"
host = "h"
)").find("modbus.device[0].farm_id: is required") != std::string::npos);
}
