#include <doctest/doctest.h>

#include "herd/gateway/config.hpp"
#include "herd/gateway/observability.hpp"
#include "minimal_config.hpp"

using namespace herd::gateway;

TEST_CASE("listen addresses: host:port, [v6]:port, port 0, anything else is refused") {
  auto a = parse_listen_address("127.0.0.1:9464");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9464);
  CHECK(parse_listen_address("0.0.0.0:0")->port == 0);
  CHECK(parse_listen_address("[::1]:9464")->host == "::1");
  for (const char* bad : {"9464", ":9464", "host:", "host:65536", "host:-1", "host:12ab", "::1:9464", "[]:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_listen_address(bad).ok());
  }
}

TEST_CASE("the exposition has HELP and TYPE for every metric, in base units") {
  observability_snapshot s;
  s.now_ms = 10'000;
  s.outbox_depth = 3;
  s.oldest_unsent_created_ms = 7'500;
  s.ingested = 12;
  s.forwarded = 9;
  s.mqtt_connected = true;
  const std::string text = render_prometheus(s);
  for (const char* name :
       {"herdgate_outbox_depth", "herdgate_outbox_bytes", "herdgate_outbox_oldest_unsent_age_seconds",
        "herdgate_ingested_total", "herdgate_forwarded_total", "herdgate_dead_letters_total",
        "herdgate_duplicates_total", "herdgate_mqtt_received_total", "herdgate_mqtt_reconnects_total",
        "herdgate_mqtt_connected", "herdgate_kafka_in_flight", "herdgate_kafka_partitions_stalled",
        "herdgate_producer_rebuilds_total",
        "herdgate_evicted_total"}) {
    CAPTURE(name);
    CHECK(text.find(std::string("# HELP ") + name + " ") != std::string::npos);
    CHECK(text.find(std::string("# TYPE ") + name + " ") != std::string::npos);
  }
  CHECK(text.find("# TYPE herdgate_ingested_total counter\nherdgate_ingested_total 12\n") != std::string::npos);
  CHECK(text.find("herdgate_outbox_oldest_unsent_age_seconds 2.500\n") != std::string::npos);
  CHECK(text.find("herdgate_mqtt_connected 1\n") != std::string::npos);

  // An unreadable outbox: its gauges are absent rather than a made-up 0.
  s.outbox_depth.reset();
  CHECK(render_prometheus(s).find("herdgate_outbox_depth") == std::string::npos);
}

TEST_CASE("health fails on a disconnected MQTT source or an old unsent event, and says which") {
  observability_options o;
  o.max_oldest_unsent = std::chrono::seconds(60);
  observability_snapshot s;
  s.now_ms = 1'000'000;
  s.outbox_depth = 0;
  s.mqtt_connected = true;
  s.mqtt_broker = "tcp://b:1883";
  auto h = evaluate_health(s, o);
  CHECK(h.healthy);
  CHECK(h.json.find("\"status\":\"ok\"") != std::string::npos);

  s.oldest_unsent_created_ms = s.now_ms - 59'000;
  CHECK(evaluate_health(s, o).healthy);
  s.oldest_unsent_created_ms = s.now_ms - 61'000;
  h = evaluate_health(s, o);
  CHECK_FALSE(h.healthy);
  REQUIRE(h.reasons.size() == 1);
  CHECK(h.reasons[0].find("outbox: oldest unsent event is 61 s old (limit 60 s)") == 0);

  s.mqtt_connected = false;
  h = evaluate_health(s, o);
  CHECK(h.reasons.size() == 2);
  CHECK(h.json.find("mqtt: not connected to tcp://b:1883") != std::string::npos);
  CHECK(h.json.find("\"status\":\"unhealthy\"") != std::string::npos);

  // A wall clock stepped back (no RTC) never yields a negative age.
  s.oldest_unsent_created_ms = s.now_ms + 5'000;
  CHECK(s.oldest_unsent_age_s() == 0.0);
}

TEST_CASE("[metrics] and [health]: defaults, disabling, strict validation") {
  const std::string& base = herd::test::k_minimal_config;  auto c = parse_config(base, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->observability.listen == "127.0.0.1:9464");
  CHECK(c->observability.max_oldest_unsent.count() == 3600);

  c = parse_config(base + "[metrics]\nlisten = \"\"\n[health]\nmax_oldest_unsent_s = 600\n", "t.toml");
  REQUIRE(c.ok());
  CHECK(c->observability.listen.empty());
  CHECK(c->observability.max_oldest_unsent.count() == 600);

  c = parse_config(base + "[metrics]\nlisten = \"localhost\"\nport = 1\n[health]\nmax_oldest_unsent_s = 0\n",
                   "t.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.err().message.find("metrics.listen: must be host:port") != std::string::npos);
  CHECK(c.err().message.find("metrics.port: unknown key") != std::string::npos);
  CHECK(c.err().message.find("health.max_oldest_unsent_s: must be between 1 and") != std::string::npos);
}

TEST_CASE("the sample config documents the metrics listener and the health limit") {
  auto c = load_config(HERD_SOURCE_DIR "/config/herdgate.sample.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK(c->observability.listen == "127.0.0.1:9464");
  CHECK(c->observability.max_oldest_unsent.count() == 3600);
}

// Issue 13, case 3: a WAL pinned by another process's read transaction was unseen by /health.
TEST_CASE("health fails while another process pins the outbox's WAL, after a short grace") {
  observability_options o;
  observability_snapshot s;
  s.now_ms = 1'000'000;
  s.outbox_depth = 0;
  s.mqtt_connected = true;
  s.outbox_wal_bytes = 9'000'000;
  s.outbox_wal_limit_bytes = 4 << 20;
  CHECK(evaluate_health(s, o).healthy);  // large but resettable: not pinned
  s.outbox_wal_pinned_since_ms = s.now_ms - 1'000;
  CHECK(evaluate_health(s, o).healthy);  // one failed reset may be the gateway's own short read
  s.outbox_wal_pinned_since_ms = s.now_ms - 6'000;
  const auto h = evaluate_health(s, o);
  CHECK_FALSE(h.healthy);
  REQUIRE(h.reasons.size() == 1);
  CHECK(h.reasons[0].find("outbox: the WAL is 9000000 bytes (limit 4194304) and cannot be reset since") == 0);
  const auto text = render_prometheus(s);
  CHECK(text.find("herdgate_outbox_wal_pinned 1\n") != std::string::npos);
  CHECK(text.find("herdgate_outbox_wal_bytes 9000000\n") != std::string::npos);
}
