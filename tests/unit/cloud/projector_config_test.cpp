#include <doctest/doctest.h>

#include "herd/projector/config.hpp"

using herd::projector::load_config;
using herd::projector::parse_config;

TEST_CASE("projector config: the sample config loads with its documented defaults") {
  auto c = load_config(std::string(HERD_SOURCE_DIR) + "/config/herd-projector.sample.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK(c->kafka.bootstrap == "127.0.0.1:9092");
  CHECK(c->kafka.topic == "herd.events");
  CHECK(c->kafka.group_id == "herd-projector");
  CHECK(c->kafka.dlq_topic == "herd.events.projector.dlq");
  CHECK(c->kafka.batch_max == 5000);
  CHECK(c->kafka.linger.count() == 50);
  CHECK(c->read_model.backend == "sqlite");
  CHECK(c->read_model.path == "/var/lib/herd-projector/read_model.db");
  CHECK(!c->read_model.synchronous_full);
  CHECK(c->metrics_listen == "127.0.0.1:9465");
  CHECK(c->max_stall.count() == 30);
}

TEST_CASE("projector config: every problem is reported with its key path") {
  auto c = parse_config(R"(
[kafka]
bootstrap = "b:1"
batch_max = 0
linger_ms = "soon"
backoff_min_ms = 500
backoff_max_ms = 100
typo = 1
[kafka.properties]
"enable.auto.commit" = true
"statistics.interval.ms" = 0
"fetch.min.bytes" = 1
[read_model]
synchronous = "sometimes"
[metrics]
listen = "nowhere"
[extra]
)",
                        "t.toml");
  REQUIRE(!c.ok());
  const auto& m = c.err().message;
  CHECK(m.find("kafka.batch_max: must be between 1 and 1000000, got 0") != std::string::npos);
  CHECK(m.find("kafka.linger_ms: must be an integer") != std::string::npos);
  CHECK(m.find("kafka.backoff_max_ms: must not be below backoff_min_ms") != std::string::npos);
  CHECK(m.find("kafka.typo: unknown key") != std::string::npos);
  CHECK(m.find("kafka.properties.enable.auto.commit: is set by herd-projector") != std::string::npos);
  // /health reads the consumer group's state from the statistics every second.
  CHECK(m.find("kafka.properties.statistics.interval.ms: is set by herd-projector") != std::string::npos);
  CHECK(m.find("fetch.min.bytes") == std::string::npos);
  CHECK(m.find("read_model.path: is required") != std::string::npos);
  CHECK(m.find("read_model.synchronous: must be one of normal, full") != std::string::npos);
  CHECK(m.find("metrics.listen:") != std::string::npos);
  CHECK(m.find("extra: unknown key") != std::string::npos);
}

TEST_CASE("projector config: postgresql needs a conninfo, not a path") {
  auto c = parse_config("[kafka]\nbootstrap = \"b:1\"\n[read_model]\nbackend = \"postgresql\"\npath = \"x\"\n", "t");
  REQUIRE(!c.ok());
  CHECK(c.err().message.find("read_model.conninfo: is required") != std::string::npos);
  CHECK(c.err().message.find("read_model.path: unknown key") != std::string::npos);
  auto ok = parse_config("[kafka]\nbootstrap = \"b:1\"\n[read_model]\nbackend = \"postgresql\"\nconninfo = \"host=x\"\n", "t");
  CHECK(ok.ok());
}

TEST_CASE("projector config: the producers leave out consumer-only librdkafka properties") {
  using herd::projector::is_consumer_only_property;
  for (const char* k : {"fetch.min.bytes", "session.timeout.ms", "max.poll.interval.ms",
                        "partition.assignment.strategy", "heartbeat.interval.ms"}) {
    CHECK_MESSAGE(is_consumer_only_property(k), k);
  }
  for (const char* k : {"security.protocol", "linger.ms", "client.id", "message.max.bytes"}) {
    CHECK_MESSAGE(!is_consumer_only_property(k), k);
  }
}
