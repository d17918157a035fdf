// /metrics and /health of the real herdgate, scraped over HTTP while readings flow and while the
// MQTT broker is down.
#include <doctest/doctest.h>

#include <herd/test_support/wait_until.hpp>

#include "http_probe.hpp"
#include "rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

using test::http_get;
using test::sample;

TEST_CASE("metrics follow the readings and health follows the MQTT broker") {
  test::rig rig(20);
  rig.gateway->start();
  const std::string address = rig.gateway->metrics_address();
  INFO("metrics at " << address);
  REQUIRE(address.rfind("127.0.0.1:", 0) == 0);
  CHECK(rig.gateway->log_text().find("metrics and health on http://" + address) != std::string::npos);

  constexpr int n = 500;
  REQUIRE(rig.run_sim({"--collars", "20", "--count", std::to_string(n), "--rate", "0", "--seed", "5"}, 60s) == 0);

  std::string metrics;
  const bool drained = test_support::wait_until(
      [&] {
        auto r = http_get(address, "/metrics");
        if (!r || r->status != 200) return false;
        metrics = r->body;
        return sample(metrics, "herdgate_ingested_total") >= n &&
               sample(metrics, "herdgate_forwarded_total") >= n &&
               sample(metrics, "herdgate_outbox_depth") == 0.0;
      },
      60s, 50ms);
  INFO(metrics);
  INFO(rig.gateway->log_text());
  REQUIRE(drained);
  CHECK(sample(metrics, "herdgate_ingested_total") == n);
  CHECK(sample(metrics, "herdgate_forwarded_total") == n);
  CHECK(sample(metrics, "herdgate_mqtt_received_total") == n);
  CHECK(sample(metrics, "herdgate_mqtt_connected") == 1.0);
  CHECK(sample(metrics, "herdgate_outbox_oldest_unsent_age_seconds") == 0.0);
  CHECK(sample(metrics, "herdgate_dead_letters_total") == 0.0);
  CHECK(sample(metrics, "herdgate_duplicates_total") == 0.0);
  CHECK(sample(metrics, "herdgate_evicted_total") == 0.0);
  CHECK(sample(metrics, "herdgate_kafka_in_flight") == 0.0);
  CHECK(sample(metrics, "herdgate_outbox_bytes") > 0.0);
  CHECK(sample(metrics, "herdgate_producer_rebuilds_total").has_value());
  CHECK(metrics.find("# TYPE herdgate_forwarded_total counter\n") != std::string::npos);
  // Every forwarded event's arrival -> Kafka ack latency is in the histogram, within a minute here.
  CHECK(metrics.find("# TYPE herdgate_forward_ack_latency_seconds histogram\n") != std::string::npos);
  CHECK(sample(metrics, "herdgate_forward_ack_latency_seconds_count") == n);
  CHECK(sample(metrics, "herdgate_forward_ack_latency_seconds_bucket{le=\"+Inf\"}") == n);
  CHECK(sample(metrics, "herdgate_forward_ack_latency_seconds_bucket{le=\"60\"}") == n);
  CHECK(sample(metrics, "herdgate_forward_ack_latency_seconds_bucket{le=\"0.001\"}") <=
        sample(metrics, "herdgate_forward_ack_latency_seconds_bucket{le=\"0.025\"}"));
  CHECK(sample(metrics, "herdgate_forward_ack_latency_seconds_sum") > 0.0);
  CHECK(metrics.find("# TYPE herdgate_outbox_depth gauge\n") != std::string::npos);
  CHECK(http_get(address, "/metrics")->content_type.find("text/plain; version=0.0.4") == 0);

  auto health = http_get(address, "/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body.find("\"status\":\"ok\"") != std::string::npos);

  // The broker goes away: health fails and says it is the MQTT source.
  rig.broker.stop();
  const bool failing = test_support::wait_until(
      [&] {
        health = http_get(address, "/health");
        return health && health->status == 503;
      },
      30s, 50ms);
  REQUIRE(failing);
  CHECK(health->body.find("mqtt: not connected to " + rig.broker.uri()) != std::string::npos);
  CHECK(sample(http_get(address, "/metrics")->body, "herdgate_mqtt_connected") == 0.0);

  // It comes back: the gateway reconnects (backoff up to 1 s in the test config), health recovers.
  rig.broker.restart();
  const bool recovered = test_support::wait_until(
      [&] {
        health = http_get(address, "/health");
        return health && health->status == 200;
      },
      30s, 50ms);
  CHECK(recovered);
  CHECK(sample(http_get(address, "/metrics")->body, "herdgate_mqtt_reconnects_total") >= 1.0);

  CHECK(rig.gateway->stop() == 0);
}

TEST_CASE("a metrics address another process listens on fails the start, naming it") {
  // httplib's default SO_REUSEPORT would let both gateways bind and split the scrapes silently.
  test::rig rig(5);
  rig.gateway->start();
  test_support::temp_dir dir2;
  test::gateway_settings s;
  s.mqtt_uri = rig.broker.uri();
  s.kafka_bootstrap = rig.kafka->bootstrap();
  s.dir = dir2.path();
  s.registry_path = rig.registry_path;
  s.client_id = "herdgate-it-second";
  s.metrics_listen = rig.gateway->metrics_address();
  test::gateway_process second(s);
  std::string error;
  try {
    second.start(20s);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  INFO(error);
  CHECK(error.find("metrics.listen " + s.metrics_listen + ": cannot listen there") != std::string::npos);
  CHECK_FALSE(second.running());
  CHECK(rig.gateway->stop() == 0);
}
