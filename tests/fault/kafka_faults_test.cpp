// Kafka faults under load, injected into the dev cluster (librdkafka mock) while the real herdgate
// forwards to it over TCP: nothing acknowledged is lost and every animal's events stay in order.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <thread>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../integration/event_checks.hpp"
#include "../integration/rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

constexpr int k_collars = 40;
constexpr int k_produce_api = 0;  // Kafka protocol ApiKey of Produce
// The rigs below use synchronous=normal: these tests are about Kafka, not power loss.

// Publishes `total` readings at `rate`/s while `inject` runs in the middle of it, then checks that
// every reading arrived, in order per animal, duplicates only with their original event_id.
void run_under_fault(test::rig& rig, int total, int rate, const std::function<void()>& inject) {
  rig.gateway->start();
  auto sim = rig.start_sim({"--collars", std::to_string(k_collars), "--count", std::to_string(total),
                            "--rate", std::to_string(rate), "--seed", "5"});
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  REQUIRE(reader.read_until([](const auto& r) { return r.size() >= 200; }, 60s));  // load is on
  inject();
  REQUIRE(sim->wait_exit(120s) == 0);
  const bool all = test::read_distinct(reader, total, 120s);
  const auto events = test::decode_all(reader.records());
  INFO(rig.gateway->log_text());
  INFO("records " << events.size() << ", distinct readings " << test::distinct_readings(events));
  REQUIRE(all);
  CHECK(test::distinct_readings(events) == static_cast<std::size_t>(total));
  CHECK(test::order_violations(events) == 0);
  const auto dups = test::duplicates_checked(events);
  MESSAGE(events.size() << " records for " << total << " readings; duplicates " << dups);
  CHECK(rig.gateway->stop() == 0);
}

}  // namespace

TEST_CASE("all brokers down for a while under load: the outbox holds, then drains in order") {
  test::rig rig(k_collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  run_under_fault(rig, 6000, 1000, [&] {
    auto* mc = rig.kafka->mock();
    for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc, b);
    // Readings keep being acknowledged and stored while Kafka is unreachable.
    std::this_thread::sleep_for(3s);  // the outage itself: a duration, not a synchronisation
    for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(mc, b);
  });
}

TEST_CASE("partition leaders move under load") {
  test::rig rig(k_collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  run_under_fault(rig, 6000, 1000, [&] {
    auto* mc = rig.kafka->mock();
    for (int round = 0; round < 3; ++round) {
      for (int p = 0; p < 6; ++p) rd_kafka_mock_partition_set_leader(mc, "herd.events", p, 1 + (p + round + 1) % 3);
      std::this_thread::sleep_for(500ms);  // let traffic flow between moves
    }
  });
}

TEST_CASE("injected produce errors (NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT) under load") {
  test::rig rig(k_collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  run_under_fault(rig, 6000, 1000, [&] {
    auto* mc = rig.kafka->mock();
    for (int i = 0; i < 5; ++i) {
      rd_kafka_mock_push_request_errors(mc, k_produce_api, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
      std::this_thread::sleep_for(300ms);
    }
  });
}
