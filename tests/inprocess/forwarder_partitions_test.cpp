// The forwarder against a three-broker dev Kafka (librdkafka's mock cluster over loopback) whose
// broker 1 leads partition 0 of herd.events and stays down (rd_kafka_mock_broker_set_down: no
// connection, no leader move, as a broker of a topic without other in-sync replicas). Issue 15,
// goal 4: no partition waits for another's broker. The animals of partition 0 wait; every other
// animal's events arrive, in the plain path and in a backlog drain after an outage; when broker 1
// comes back, everything arrives in order per animal.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include <fmt/format.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/buffer/outbox.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/forwarder/forwarder.hpp"
#include "herd/forwarder/kafka_producer.hpp"
#include "herd/gateway/failure_policy.hpp"

#include "envelopes.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

constexpr int k_partitions = 6;
constexpr int k_animals = 30;

struct three_brokers {
  test_support::temp_dir dir;
  std::unique_ptr<cloud::dev_kafka> kafka;
  std::unique_ptr<buffer::outbox> outbox;
  three_brokers() {
    auto k = cloud::dev_kafka::start({.brokers = 3, .topics = {{"herd.events", k_partitions}, {"herd.events.dlq", 1}}});
    REQUIRE(k.ok());
    kafka = std::move(*k);
    // Partition 0 on broker 1 alone; the others on brokers 2 and 3.
    for (int p = 0; p < k_partitions; ++p) {
      REQUIRE(rd_kafka_mock_partition_set_leader(kafka->mock(), "herd.events", p, p == 0 ? 1 : 2 + p % 2) == 0);
    }
    auto ob = buffer::outbox::open({.path = (dir / "outbox.db").string(), .synchronous = buffer::sync_mode::normal});
    REQUIRE(ob.ok());
    outbox = std::move(*ob);
  }
  void broker(int id, bool up) {
    REQUIRE((up ? rd_kafka_mock_broker_set_up(kafka->mock(), id) : rd_kafka_mock_broker_set_down(kafka->mock(), id)) == 0);
  }
};

// Events of the animals whose key lands in partition 0, of `n` appended by append_envelopes.
std::uint64_t events_in_partition0(int n) {
  std::uint64_t count = 0;
  for (int i = 0; i < n; ++i) {
    const auto animal = fmt::format("276{:012d}", 1 + i % k_animals);
    if (forwarder::kafka_producer::partition_for(animal, k_partitions) == 0) ++count;
  }
  return count;
}

// Every event once at least, first copies in gateway_seq order per animal, each in its key's
// partition by the Java client's partitioner.
void check_topic(const std::string& bootstrap, std::size_t events) {
  test_support::kafka_reader reader(bootstrap, "herd.events");
  reader.read_until([&](const auto& r) { return r.size() >= events; }, 10s);
  std::set<std::string> ids;
  std::map<std::string, std::uint64_t> last_seq;
  bool ordered = true, partitioned = true;
  for (const auto& r : reader.records()) {
    events::v1::EventEnvelope env;
    REQUIRE(env.ParseFromString(r.value));
    if (forwarder::kafka_producer::partition_for(r.key, k_partitions) != r.partition) partitioned = false;
    if (!ids.insert(env.event_id()).second) continue;
    auto& last = last_seq[r.key];
    if (env.gateway_seq() <= last) ordered = false;
    last = env.gateway_seq();
  }
  CHECK(ids.size() == events);
  CHECK(ordered);
  CHECK(partitioned);
}

forwarder::forwarder_options small_window(const std::string& bootstrap) {
  forwarder::forwarder_options o;
  o.bootstrap = bootstrap;
  o.max_in_flight = 60;  // a share of 10 per partition
  o.batch = 20;
  o.drain_max_queued = 60;
  return o;
}

}  // namespace

// Before partition_window, partition 0's events filled the 60-event window within the first ~360
// events and nothing else was produced until broker 1 came back.
TEST_CASE("forwarder: a broker that stays down holds its own partition's animals, not the others") {
  three_brokers rig;
  constexpr int n = 900;
  const std::uint64_t stuck = events_in_partition0(n);
  REQUIRE(stuck > 60);  // more than the whole window
  REQUIRE(stuck < n);
  rig.broker(1, false);
  test::append_envelopes(*rig.outbox, n, k_animals);
  auto o = small_window(rig.kafka->bootstrap());
  o.backlog_threshold = 100000;  // the plain path here; the drain below
  forwarder::forwarder fwd(o, *rig.outbox, {}, gateway::decide_kafka);
  REQUIRE(fwd.start().ok());
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == stuck; }, 20s));
  CHECK(fwd.stats().in_flight == stuck);
  CHECK(fwd.stats().partitions_stalled == 1);
  // Beyond partition 0's share of 10, except the few produced before the partition count was known.
  CHECK(fwd.stats().in_flight_beyond_share > stuck - 10 - 20);
  CHECK(fwd.stats().in_flight_beyond_share <= stuck - 10);
  // Nothing appended meanwhile: the forwarder does not read the outbox again at every turn of its
  // loop (every 5 ms while events are in flight; 200 reads a second before).
  const std::uint64_t reads = fwd.stats().outbox_reads;
  CHECK_FALSE(test_support::wait_until([&] { return fwd.stats().outbox_reads > reads + 10; }, 1s));
  // The herd goes quiet until no acknowledgement is recent enough to excuse partition 0
  // (partition_window::k_answer_ms): its 90 events count in full again and fill the 60-event
  // window. Readings that come then still go for the other animals (the window asks the cluster,
  // whose answer excuses partition 0 again).
  CHECK(test_support::wait_until([&] { return fwd.stats().partitions_stalled == 0; }, 20s));
  for (int i = 0; i < 2; ++i) {
    test::append_envelopes(*rig.outbox, k_animals, k_animals);
    fwd.notify();
  }
  const std::uint64_t stuck_after = stuck + 2 * events_in_partition0(k_animals);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == stuck_after; }, 20s));
  rig.broker(1, true);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == 0; }, 20s));
  CHECK(fwd.stats().partitions_stalled == 0);
  fwd.stop(1s);
  check_topic(rig.kafka->bootstrap(), n + 2 * k_animals);
}

// Before, the split of a backlog waited until every event in flight was reported: partition 0's
// events never were while broker 1 stayed down, so the other partitions' backlog waited too.
TEST_CASE("forwarder: after an outage, a backlog drains without waiting for a broker that stays down") {
  three_brokers rig;
  for (int b = 1; b <= 3; ++b) rig.broker(b, false);
  test::append_envelopes(*rig.outbox, 100, k_animals);
  auto o = small_window(rig.kafka->bootstrap());
  o.backlog_threshold = 200;
  forwarder::forwarder fwd(o, *rig.outbox, {}, gateway::decide_kafka);
  REQUIRE(fwd.start().ok());
  // Kafka away: the window fills; then the outage's readings wait in the outbox, a backlog.
  REQUIRE(test_support::wait_until([&] { return fwd.stats().in_flight == 60; }, 10s));
  test::append_envelopes(*rig.outbox, 3000, k_animals);
  const std::uint64_t stuck = events_in_partition0(100) + events_in_partition0(3000);
  rig.broker(2, true);
  rig.broker(3, true);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == stuck; }, 30s));
  CHECK(fwd.stats().drains >= 1);
  rig.broker(1, true);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == 0; }, 30s));
  fwd.stop(1s);
  check_topic(rig.kafka->bootstrap(), 3100);
}

// Review of the change above: after a restart during a partial outage the outbox's oldest rows are
// the stalled partition's; they filled the new window before any other partition was tried, and
// without an acknowledgement of another partition nothing was excused: every animal waited.
TEST_CASE("forwarder: restarted while a broker stays down, the other partitions' animals still go") {
  three_brokers rig;
  constexpr int n = 900;
  const std::uint64_t stuck = events_in_partition0(n);
  rig.broker(1, false);
  test::append_envelopes(*rig.outbox, n, k_animals);
  auto o = small_window(rig.kafka->bootstrap());
  o.backlog_threshold = 100000;
  {
    forwarder::forwarder fwd(o, *rig.outbox, {}, gateway::decide_kafka);
    REQUIRE(fwd.start().ok());
    REQUIRE(test_support::wait_until([&] { return rig.outbox->depth().value() == stuck; }, 20s));
    fwd.stop(0ms);
  }
  forwarder::forwarder fwd(o, *rig.outbox, {}, gateway::decide_kafka);
  REQUIRE(fwd.start().ok());
  test::append_envelopes(*rig.outbox, 300, k_animals);
  fwd.notify();
  const std::uint64_t stuck_after = stuck + events_in_partition0(300);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == stuck_after; }, 20s));
  rig.broker(1, true);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == 0; }, 20s));
  fwd.stop(1s);
  check_topic(rig.kafka->bootstrap(), n + 300);
}

// Review: a burst above backlog_threshold while a partition was stalled waited for the split, and
// the split waited for an acknowledgement that only the stalled partition's broker could give.
TEST_CASE("forwarder: a burst above the backlog threshold while a broker stays down drains for the others") {
  three_brokers rig;
  rig.broker(1, false);
  auto o = small_window(rig.kafka->bootstrap());
  o.backlog_threshold = 200;
  forwarder::forwarder fwd(o, *rig.outbox, {}, gateway::decide_kafka);
  REQUIRE(fwd.start().ok());
  test::append_envelopes(*rig.outbox, 150, k_animals);
  fwd.notify();
  const std::uint64_t stuck = events_in_partition0(150);
  REQUIRE(test_support::wait_until(
      [&] { return rig.outbox->depth().value() == stuck && fwd.stats().partitions_stalled == 1; }, 20s));
  test::append_envelopes(*rig.outbox, 3000, k_animals);
  fwd.notify();
  const std::uint64_t stuck_after = stuck + events_in_partition0(3000);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == stuck_after; }, 30s));
  rig.broker(1, true);
  CHECK(test_support::wait_until([&] { return rig.outbox->depth().value() == 0; }, 30s));
  fwd.stop(1s);
  check_topic(rig.kafka->bootstrap(), 3150);
}
