// The forwarder in-process against the dev Kafka (librdkafka's mock cluster over loopback) and an
// outbox whose storage fails on demand (fault_vfs): the storage steps after a Kafka ack.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <fmt/format.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/fault_vfs.hpp>
#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/buffer/outbox.hpp"
#include "herd/core/clock.hpp"
#include "herd/core/uuid.hpp"
#include "herd/gateway/event_factory.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/failure_policy.hpp"

#include "envelopes.hpp"
#include "kafka_and_outbox.hpp"

using namespace herd;
using namespace std::chrono_literals;

// Regression (issue 13, case 1): deleting rows Kafka acknowledged failed with "database or disk is
// full" once and was never retried: the outbox depth stayed wrong for good, forwarded_total
// undercounted, and a restart produced those events again, behind newer ones. Every storage step
// after an ack (deleting events, marking dead letters forwarded) must be retried until it succeeds.
TEST_CASE("storage steps after a Kafka ack are retried through a full disk until they succeed") {
  constexpr int n = 100;
  test_support::temp_dir dir;
  test_support::fault_vfs vfs(dir.path().string());
  auto kafka = cloud::dev_kafka::start({.brokers = 1});
  REQUIRE(kafka.ok());
  auto* mc = (*kafka)->mock();
  auto ob = buffer::outbox::open({.path = (dir / "outbox.db").string(), .synchronous = buffer::sync_mode::normal});
  REQUIRE(ob.ok());
  auto& outbox = **ob;
  test::append_envelopes(outbox, n);
  REQUIRE(outbox.add_dead_letter("farm/f/collar/C-1/telemetry", "bad json", "{", 1).ok());

  // Acks take 300 ms to come back, so the disk is full by the time they arrive.
  rd_kafka_mock_broker_set_rtt(mc, 1, 300);
  forwarder::forwarder_options o;
  o.bootstrap = (*kafka)->bootstrap();
  forwarder::forwarder fwd(o, outbox, {}, gateway::decide_kafka);
  REQUIRE(fwd.start().ok());
  REQUIRE(test_support::wait_until([&] { return fwd.stats().in_flight == n; }, 5s));
  vfs.set(test_support::storage_fault::full);
  // The delete is refused, and tried again (not given up after the first refusal).
  CHECK(test_support::wait_until([&] { return vfs.refused() >= 3; }, 3s));
  CHECK(outbox.depth().value() == n);
  vfs.clear();  // space returns
  const bool deleted = test_support::wait_until(
      [&] { return outbox.depth().value() == 0 && fwd.stats().delivered == n; }, 3s);
  CHECK(deleted);
  CHECK(fwd.stats().delivered == n);
  CHECK(test_support::wait_until(
      [&] { return outbox.dead_letters(true, 10).value().empty(); }, 3s));  // marked forwarded
  fwd.stop(1s);

  // Kafka got each event once: none was produced again while its delete was pending.
  test_support::kafka_reader reader((*kafka)->bootstrap(), "herd.events");
  reader.read_until([&](const auto& r) { return r.size() >= static_cast<std::size_t>(n); }, 5s);
  reader.read_until([](const auto&) { return false; }, 200ms);
  CHECK(reader.records().size() == static_cast<std::size_t>(n));
}

// The common start (kafka_and_outbox.hpp), `backlog` events in the outbox and a started forwarder.
struct forwarding_rig : test::kafka_and_outbox {
  std::unique_ptr<forwarder::forwarder> fwd;
  explicit forwarding_rig(int backlog = 0) : kafka_and_outbox(1) {
    if (backlog > 0) test::append_envelopes(*outbox, backlog);
    forwarder::forwarder_options o;
    o.bootstrap = kafka->bootstrap();
    fwd = std::make_unique<forwarder::forwarder>(o, *outbox, forwarder::storage_reporter{}, gateway::decide_kafka);
    REQUIRE(fwd->start().ok());
  }
};

// Issue 15, goal 1: at a farm's pace each reading is acknowledged alone, and a delete transaction
// per ack doubled the synced writes per reading. The deletes are gathered for up to 1 s (or 1,000
// events); a stop deletes what waits at once, so an orderly restart resends nothing.
TEST_CASE("the deletes after Kafka acks are gathered for up to a second, and a stop deletes at once") {
  forwarding_rig rig;
  auto& outbox = *rig.outbox;
  auto& fwd = *rig.fwd;

  // Readings one at a time, each sent when the one before is acknowledged.
  std::chrono::steady_clock::time_point first_ack;
  for (std::uint64_t k = 1; k <= 4; ++k) {
    test::append_envelopes(outbox, 1);
    fwd.notify();
    REQUIRE(test_support::wait_until([&] { return fwd.stats().acknowledged == k; }, 10s, 1ms));
    if (k == 1) {
      first_ack = std::chrono::steady_clock::now();
      CHECK(fwd.stats().delivered == 0);  // acknowledged, its delete gathered
      CHECK(outbox.depth().value() == 1);
    }
  }
  // No delete before the gathering delay (1 s from the first ack; 100 ms kept for the polling).
  std::chrono::steady_clock::time_point first_delete;
  REQUIRE(test_support::wait_until([&] {
    if (fwd.stats().delivered == 0) return false;
    first_delete = std::chrono::steady_clock::now();
    return true;
  }, 10s, 1ms));
  CHECK(first_delete - first_ack >= 900ms);
  CHECK(test_support::wait_until([&] { return fwd.stats().delivered == 4 && outbox.depth().value() == 0; }, 5s));

  // A stop with no drain time still deletes what Kafka acknowledged.
  test::append_envelopes(outbox, 1);
  fwd.notify();
  REQUIRE(test_support::wait_until([&] { return fwd.stats().acknowledged == 5; }, 10s, 1ms));
  fwd.stop(0ms);
  CHECK(fwd.stats().delivered == 5);
  CHECK(outbox.depth().value() == 0);

  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  reader.read_until([&](const auto& r) { return r.size() >= 5; }, 5s);
  reader.read_until([](const auto&) { return false; }, 200ms);
  CHECK(reader.records().size() == 5);
}

// A drain's acks are not held back: 1,000 waiting deletes go at once.
TEST_CASE("a thousand acknowledged events are deleted without waiting for the gathering delay") {
  forwarding_rig rig(1500);
  auto& outbox = *rig.outbox;
  auto& fwd = *rig.fwd;
  REQUIRE(test_support::wait_until([&] { return fwd.stats().acknowledged >= 1000; }, 30s, 1ms));
  const auto acked_at = std::chrono::steady_clock::now();
  REQUIRE(test_support::wait_until([&] { return fwd.stats().delivered >= 1000; }, 10s, 1ms));
  CHECK(std::chrono::steady_clock::now() - acked_at < 800ms);
  CHECK(test_support::wait_until([&] { return outbox.depth().value() == 0; }, 10s));
  fwd.stop(1s);
}
