// End to end with real parts: firmware-sim's Modbus base station (TCP) and walk-over scale (RTU over
// a socat pty pair) as separate herd-sim-modbus processes, and herd-sim over mosquitto, all polled
// or received by the herdgate binary, through the outbox to Kafka (the dev cluster over TCP).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>

#include <filesystem>
#include <set>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/net.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/wait_until.hpp>

#include "event_checks.hpp"
#include "herd/events/v1/scale_weight.pb.h"
#include "http_probe.hpp"
#include "rig.hpp"

using namespace herd;
using namespace std::chrono_literals;
namespace ts = herd::test_support;

namespace {

std::unique_ptr<ts::child_process> sim_modbus(const ts::temp_dir& dir, const std::vector<std::string>& args,
                                              const std::string& log) {
  return std::make_unique<ts::child_process>(ts::binary_dir() + "/firmware-sim/modbus/herd-sim-modbus", args,
                                             dir.path(), std::map<std::string, std::string>{}, log);
}

std::string profile(const char* name) { return ts::source_dir() + "/config/modbus/" + name; }

}  // namespace

TEST_CASE("base station (TCP) and scale (RTU on a pty) events reach Kafka keyed by animal, and a collar heard "
          "over MQTT and the base station is stored once") {
  constexpr int collars = 10;
  test::rig rig(collars);
  // The pty pair for the scale's RS-485 line.
  const std::string scale_end = (rig.dir / "tty-scale").string(), gateway_end = (rig.dir / "tty-gw").string();
  ts::child_process socat("socat", {"pty,raw,echo=0,link=" + scale_end, "pty,raw,echo=0,link=" + gateway_end},
                          rig.dir.path(), {}, "socat.log");
  REQUIRE(ts::wait_until([&] { return std::filesystem::exists(scale_end) && std::filesystem::exists(gateway_end); }, 5s));
  // The station shows the fleet (same seed, collars and start as herd-sim's defaults) at 20 virtual
  // minutes: slots hold each collar's third reading (interval 2), which herd-sim also publishes.
  const auto station_port = ts::free_port();
  auto station = sim_modbus(rig.dir, {"--device", "station", "--collars", std::to_string(collars), "--tcp",
                                      "127.0.0.1:" + std::to_string(station_port), "--elapsed", "1200", "--speed", "1"},
                            "station.log");
  // The scale 30 s into the 05:00 milking, at 20x: 10 animals cross 8-20 s apart.
  auto scale = sim_modbus(rig.dir, {"--device", "scale", "--collars", std::to_string(collars), "--rtu", scale_end,
                                    "--slave-id", "3", "--elapsed", "18030", "--speed", "20"},
                          "scale.log");
  REQUIRE(ts::wait_port_accepts(station_port, 10s));

  auto s = rig.gateway->settings();
  s.extra_sections = fmt::format(R"(
[modbus]
max_failing_s = 1

[[modbus.device]]
name = "station-1"
profile = "{}"
transport = "tcp"
host = "127.0.0.1"
port = {}
poll_interval_ms = 200
farm_id = "farm-01"
[modbus.device.records]
count = {}

[[modbus.device]]
name = "scale-1"
profile = "{}"
transport = "rtu"
serial = "{}"
unit_id = 3
poll_interval_ms = 200
)", profile("herd-base-station.toml"), station_port, collars, profile("herd-walkover-scale.toml"), gateway_end);
  rig.gateway = std::make_unique<test::gateway_process>(s);
  rig.gateway->start();

  // The same fleet over MQTT: intervals 0..2, so interval 2 arrives on both paths.
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", std::to_string(3 * collars)}, 60s) == 0);

  ts::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  std::set<std::string> scale_events;
  const auto count_types = [&](const std::vector<ts::kafka_record>& recs, std::size_t& collar, std::size_t& weights) {
    collar = weights = 0;
    for (const auto& r : recs) {
      const auto t = r.header("ce_type");
      if (t == "collar.reading.v1") ++collar;
      if (t == "scale.weight.v1") ++weights;
    }
  };
  std::size_t n_collar = 0, n_weight = 0;
  const bool got = reader.read_until([&](const auto& recs) {
    count_types(recs, n_collar, n_weight);
    return n_collar >= 3 * collars && n_weight >= 3;
  }, 60s);
  INFO(rig.gateway->log_text());
  REQUIRE(got);
  // The station's slots were polled many times by now; its readings were duplicates of MQTT's.
  const auto metrics = test::http_get(rig.gateway->metrics_address(), "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("herdgate_modbus_readings_total{device=\"station-1\"} " + std::to_string(collars) + "\n") !=
        std::string::npos);
  CHECK(metrics->body.find("herdgate_modbus_polls_ok_total{device=\"scale-1\"}") != std::string::npos);
  // More polls (10 in 2 s): nothing new may appear for the collars.
  reader.read_until([](const auto&) { return false; }, 2s);
  count_types(reader.records(), n_collar, n_weight);
  CHECK(n_collar == 3 * collars);  // each collar reading once, whichever path came first

  std::set<std::pair<std::string, std::uint32_t>> readings;
  std::set<std::uint64_t> weighings;
  for (const auto& r : reader.records()) {
    events::v1::EventEnvelope e;
    REQUIRE(e.ParseFromString(r.value));
    CHECK(r.key == e.aggregate_id());
    CHECK(r.header("ce_subject") == e.aggregate_id());
    if (e.event_type() == "collar.reading.v1") {
      events::v1::CollarReading c;
      REQUIRE(e.payload().UnpackTo(&c));
      CHECK(readings.emplace(c.collar_id(), c.collar_seq()).second);
      const int index = std::stoi(c.collar_id().substr(2)) - 1;
      CHECK(e.aggregate_id() == fmt::format("276{:012}", index + 1));  // herd-sim's registry
    } else {
      REQUIRE(e.event_type() == "scale.weight.v1");
      events::v1::ScaleWeight w;
      REQUIRE(e.payload().UnpackTo(&w));
      CHECK(e.aggregate_id() == w.animal_id());
      CHECK(w.animal_id().size() == 15);
      CHECK(w.rfid_country_code() == 276);
      CHECK(fmt::format("{:03}{:012}", w.rfid_country_code(), w.rfid_national_id()) == w.animal_id());
      CHECK(w.weight_kg() > 400);
      CHECK(w.weight_kg() < 900);
      CHECK(e.actor().device_kind() == "scale");
      CHECK(e.actor().device_id() == "scale-1");
      CHECK(r.header("ce_source") == "/herdgate/it-gw/scale/scale-1");
      CHECK(weighings.insert(w.weighing_seq()).second);  // each weighing once
    }
  }
  CHECK(readings.size() == 3 * collars);

  // The station stops answering: after max_failing_s, /health names it.
  station->signal(SIGTERM);
  REQUIRE(station->wait_exit(10s).has_value());
  std::optional<test::http_reply> health;
  CHECK(ts::wait_until([&] {
    health = test::http_get(rig.gateway->metrics_address(), "/health");
    return health && health->body.find("modbus: device 'station-1'") != std::string::npos;
  }, 20s));
  if (health) MESSAGE(health->body);
  CHECK(rig.gateway->stop() == 0);
}
