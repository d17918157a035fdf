// Storage faults at the process level: a corrupt outbox file when herdgate starts; the outbox
// quota reached while Kafka is unreachable.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../integration/event_checks.hpp"
#include "herd/buffer/outbox.hpp"
#include "herd/core/clock.hpp"
#include "herd/core/uuid.hpp"
#include "herd/gateway/event_factory.hpp"
#include "../integration/rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("a corrupt outbox at start is quarantined and the gateway runs on a fresh one") {
  constexpr int collars = 20;
  test::rig rig(collars);
  rig.gateway->start();
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", "1000", "--rate", "0", "--seed", "5",
                       "--first-seq", "1"}, 60s) == 0);
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  REQUIRE(test::read_distinct(reader, 1000, 60s));
  REQUIRE(rig.gateway->stop() == 0);

  // An SD card that returned garbage: the whole outbox file is overwritten.
  const auto path = rig.gateway->outbox_path();
  const auto size = std::filesystem::file_size(path);
  {
    std::mt19937 rng(11);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    for (std::uintmax_t i = 0; i < size; ++i) f.put(static_cast<char>(rng()));
  }

  rig.gateway->start();  // would fail (status 1) on every start without the quarantine
  const auto log = rig.gateway->log_text();
  INFO(log);
  CHECK(log.find("was corrupt") != std::string::npos);
  int quarantined = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    if (e.path().filename().string().find("outbox.db.corrupt-") == 0 &&
        e.path().string().find("-wal") == std::string::npos &&
        e.path().string().find("-shm") == std::string::npos) {
      ++quarantined;
      CHECK(std::filesystem::file_size(e.path()) == size);  // kept, never deleted
    }
  }
  CHECK(quarantined == 1);

  // The gateway ingests and forwards on the fresh outbox.
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", "1000", "--rate", "0", "--seed", "5",
                       "--first-seq", "51", "--start", "2026-01-01T12:00:00Z"}, 60s) == 0);
  REQUIRE(test::read_distinct(reader, 2000, 60s));
  const auto events = test::decode_all(reader.records());
  CHECK(test::distinct_readings(events) == 2000);
  CHECK(test::order_violations(events) == 0);

  // No crash loop: the next start finds a good file and quarantines nothing more.
  REQUIRE(rig.gateway->stop() == 0);
  rig.gateway->start();
  CHECK(rig.gateway->stop() == 0);
  int after = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    if (e.path().filename().string().find("outbox.db.corrupt-") == 0) ++after;
  }
  CHECK(after >= 1);
  CHECK(rig.gateway->log_text().find("was corrupt") == rig.gateway->log_text().rfind("was corrupt"));
}

TEST_CASE("the outbox quota reached while Kafka is down: backpressure, nothing lost, ingest resumes") {
  constexpr int collars = 20;
  constexpr int total = 6000;  // ~2 MiB of outbox: twice the quota
  test::rig rig(collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  auto settings = rig.gateway->settings();
  settings.outbox_extra = "max_bytes = 1048576\n";  // the smallest quota the config allows
  rig.gateway = std::make_unique<test::gateway_process>(settings);
  auto* mc = rig.kafka->mock();
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc, b);
  rig.gateway->start();
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", std::to_string(total), "--rate", "0",
                       "--seed", "8"}, 60s) == 0);
  // The quota fills: the gateway holds the next reading unacknowledged; the broker keeps the rest.
  const bool held = test_support::wait_until(
      [&] { return rig.gateway->log_text().find("outbox full") != std::string::npos; }, 60s, 50ms);
  INFO(rig.gateway->log_text());
  REQUIRE(held);
  CHECK(std::filesystem::file_size(rig.gateway->outbox_path()) <= 1048576);

  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(mc, b);
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  REQUIRE(test::read_distinct(reader, total, 180s));
  const auto events = test::decode_all(reader.records());
  CHECK(test::distinct_readings(events) == total);  // nothing lost, nothing evicted
  CHECK(test::order_violations(events) == 0);
  CHECK(rig.gateway->log_text().find("storage recovered") != std::string::npos);
  CHECK(rig.gateway->log_text().find("evicted") == std::string::npos);
  REQUIRE(rig.gateway->stop() == 0);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(rig.gateway->outbox_path().c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_CASE("unreadable rows in a backlog are dead-lettered and the drain goes on past them") {
  // A backlog (written while the gateway was down) of 3,000 events with 30 rows that are not
  // envelopes: each becomes a dead letter. The drain may queue only 10 events at a time, so any
  // dead letter counted as queued (no delivery report ever comes for it) would stall it for good.
  constexpr int collars = 20, total = 3000, every = 100;
  test::rig rig(collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  auto settings = rig.gateway->settings();
  settings.kafka_extra = "drain_max_queued = 10\n";
  rig.gateway = std::make_unique<test::gateway_process>(settings);
  {
    auto ob = buffer::outbox::open({.path = rig.gateway->outbox_path()});
    REQUIRE(ob.ok());
    const gateway::event_factory factory("it-gw");
    const auto now = core::system_clock().now_ms();
    for (int i = 0; i < total; ++i) {
      sensors::collar_reading r;
      r.farm_id = "farm-01";
      r.collar_id = fmt::format("C-{:05d}", 1 + i % collars);
      r.seq = static_cast<std::uint32_t>(1 + i / collars);
      r.ts_ms = now;
      r.temp_c = 38.6;
      const auto animal = fmt::format("276{:012d}", 1 + i % collars);
      REQUIRE((*ob)->append(animal, "", [&](std::uint64_t seq) {
        if (i % every == every - 1) return std::string("not an envelope");
        gateway::envelope_meta meta{core::new_uuid_v4(), animal, gateway::resolve_occurred_at(now, now), now, seq};
        return factory.collar_reading_event(r, meta).SerializeAsString();
      }).ok());
    }
  }
  rig.gateway->start();
  const std::size_t good = total - total / every;
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  const bool all = test::read_distinct(reader, good, 120s);
  INFO(rig.gateway->log_text());
  REQUIRE(all);
  const auto events = test::decode_all(reader.records());
  CHECK(test::distinct_readings(events) == good);
  CHECK(test::order_violations(events) == 0);
  test_support::kafka_reader dlq(rig.kafka->bootstrap(), "herd.events.dlq");
  CHECK(dlq.read_until([&](const auto& r) { return r.size() >= static_cast<std::size_t>(total / every); }, 60s));
  CHECK(rig.gateway->log_text().find("backlog drained") != std::string::npos);
  CHECK(rig.gateway->stop() == 0);
}
