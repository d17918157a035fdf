// Bad input never stops the pipeline: each bad message lands in the dead-letter table (and on
// herd.events.dlq) with its reason, and every valid reading around it reaches herd.events.
#include <doctest/doctest.h>

#include <mqtt/async_client.h>

#include <herd/test_support/kafka_reader.hpp>

#include "event_checks.hpp"
#include "herd/buffer/outbox.hpp"
#include "rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

struct bad_case {
  std::string topic;
  std::string payload;
  std::string reason_contains;
};

std::string valid(int seq) {
  return R"({"seq": )" + std::to_string(seq) +
         R"(, "ts": 1780000000000, "temp_c": 38.6, "steps": 120, "rum_min": 4, "interval_s": 600, "batt_pct": 90, "rssi_dbm": -70})";
}

}  // namespace

TEST_CASE("malformed, mistyped, absurd, oversized, misaddressed and unknown-collar input is dead-lettered") {
  // Subscribe wider than the collar pattern so a topic that does not parse reaches the gateway.
  test::rig rig(5, {"farm/#"});
  rig.gateway->start();

  const std::string good_topic = "farm/farm-01/collar/C-00001/telemetry";
  const std::vector<bad_case> bad = {
      {good_topic, "{\"seq\": 1, \"ts\": ", "not valid JSON"},
      {good_topic, "[]", "not a JSON object"},
      {good_topic, R"({"ts": 1780000000000})", "'seq' is required"},
      {good_topic, R"({"seq": "7", "ts": 1780000000000})", "'seq' must be an integer"},
      {good_topic, R"({"seq": 7, "ts": 1780000000000, "temp_c": 80})", "'temp_c' out of range"},
      {good_topic, R"({"seq": 7, "ts": 1780000000000, "steps": -5})", "'steps' out of range"},
      {good_topic, R"({"seq": 7, "ts": 1780000000000, "pad": ")" + std::string(8000, 'x') + "\"}",
       "exceeds the 4096-byte limit"},
      // A 70 KiB payload no longer reaches the gateway: the broker drops it for us (MQTT 5 Maximum
      // Packet Size, 8 KiB by default; security_mqtt_test.cpp). The 64 KiB dead-letter truncation
      // remains for gateways configured with a larger mqtt.max_packet_bytes.
      {"farm/farm-01/collar/C-00001/status", valid(7), "is not farm/<farm_id>/collar/<collar_id>/telemetry"},
      {"farm/farm-01/collar/C-99999/telemetry", valid(7), "unknown collar 'C-99999'"},
  };

  mqtt::async_client pub(rig.broker.uri(), "bad-input-publisher");
  pub.connect(mqtt::connect_options_builder().clean_session(true).finalize())->wait();
  int next_seq = 1000;
  int valid_sent = 0;
  for (const auto& b : bad) {
    pub.publish(good_topic, valid(next_seq++), 1, false)->wait();
    ++valid_sent;
    pub.publish(b.topic, b.payload, 1, false)->wait();
  }
  pub.publish(good_topic, valid(next_seq++), 1, false)->wait();
  ++valid_sent;
  pub.disconnect()->wait();

  test_support::kafka_reader events(rig.kafka->bootstrap(), "herd.events");
  REQUIRE(events.read_until([&](const auto& r) { return r.size() >= static_cast<std::size_t>(valid_sent); }, 60s));
  test_support::kafka_reader dlq(rig.kafka->bootstrap(), "herd.events.dlq");
  REQUIRE(dlq.read_until([&](const auto& r) { return r.size() >= bad.size(); }, 60s));
  INFO(rig.gateway->log_text());

  CHECK(rig.gateway->running());  // never crashed
  const auto decoded = test::decode_all(events.records());
  CHECK(decoded.size() == static_cast<std::size_t>(valid_sent));
  CHECK(test::order_violations(decoded) == 0);

  // The Kafka dead-letter topic: original bytes, reason in a header, in arrival order.
  REQUIRE(dlq.records().size() == bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    const auto& rec = dlq.records()[i];
    CAPTURE(bad[i].reason_contains);
    CHECK(rec.value == bad[i].payload.substr(0, 64 * 1024));
    CHECK(rec.header("dlq_source") == bad[i].topic);
    REQUIRE(rec.header("dlq_reason").has_value());
    CHECK(rec.header("dlq_reason")->find(bad[i].reason_contains) != std::string::npos);
  }

  REQUIRE(rig.gateway->stop() == 0);
  // The dead-letter table in the outbox file says the same, and everything is marked forwarded.
  auto ob = buffer::outbox::open({rig.gateway->outbox_path()});
  REQUIRE(ob.ok());
  auto rows = (*ob)->dead_letters(false, 100);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    CAPTURE(bad[i].reason_contains);
    CHECK((*rows)[i].reason.find(bad[i].reason_contains) != std::string::npos);
    CHECK((*rows)[i].payload == bad[i].payload.substr(0, 64 * 1024));
    CHECK((*rows)[i].forwarded);
  }
  CHECK(*(*ob)->depth() == 0);
}
