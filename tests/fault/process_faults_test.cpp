// Process faults: the gateway killed with SIGKILL again and again under load, and the MQTT broker
// restarted under load. Nothing acknowledged is lost; order per animal holds.
#include <doctest/doctest.h>

#include <random>
#include <thread>

#include <herd/test_support/kafka_reader.hpp>

#include "../integration/event_checks.hpp"
#include "../integration/rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {
// synchronous=normal: a process crash loses nothing committed in WAL mode either (only a power cut
// can), and it keeps these load tests quick on a sanitizer build. The pipeline tests use full.
const std::vector<std::string> k_topics = {"farm/+/collar/+/telemetry"};
}  // namespace

TEST_CASE("kill -9 at 20 random moments under load loses no acknowledged reading") {
  constexpr int collars = 50;
  constexpr int total = 12000;
  test::rig rig(collars, k_topics, {}, "normal");
  rig.gateway->start();
  auto sim = rig.start_sim({"--collars", std::to_string(collars), "--count", std::to_string(total), "--rate",
                            "1000", "--seed", "21"});
  std::mt19937 rng(20261126);
  std::uniform_int_distribution<int> pause_ms(20, 400);
  int kills = 0;
  for (; kills < 20; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));  // a random instant
    rig.gateway->kill9();
    rig.gateway->start();
  }
  REQUIRE(sim->wait_exit(120s) == 0);
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  const bool all = test::read_distinct(reader, total, 180s);
  INFO(rig.gateway->log_text());
  REQUIRE(all);
  const auto events = test::decode_all(reader.records());
  CHECK(test::distinct_readings(events) == total);
  CHECK(test::order_violations(events) == 0);
  const auto dups = test::duplicates_checked(events);
  MESSAGE("kill -9 x" << kills << ": " << events.size() << " records for " << total
                      << " readings, duplicates (all with their original event_id) " << dups);
  CHECK(rig.gateway->stop() == 0);
}

TEST_CASE("mosquitto restarted under load: the persistent session delivers the rest") {
  constexpr int collars = 40;
  test::rig rig(collars, k_topics, {}, "normal");
  rig.gateway->start();
  // Phase 1: readings published while the gateway is consuming; the broker restarts mid-way.
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", "3000", "--rate", "0", "--seed", "3",
                       "--first-seq", "1"}, 60s) == 0);
  rig.broker.restart();
  // Phase 2: more readings after the restart, continuing each collar's sequence.
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", "3000", "--rate", "0", "--seed", "3",
                       "--first-seq", "76", "--start", "2026-01-01T12:30:00Z"}, 60s) == 0);
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  const bool all = test::read_distinct(reader, 6000, 120s);
  INFO(rig.gateway->log_text());
  REQUIRE(all);
  const auto events = test::decode_all(reader.records());
  CHECK(test::distinct_readings(events) == 6000);
  CHECK(test::order_violations(events) == 0);
  CHECK(rig.gateway->log_text().find("reconnected") != std::string::npos);
  CHECK(rig.gateway->stop() == 0);
}
