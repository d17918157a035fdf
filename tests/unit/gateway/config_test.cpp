#include <doctest/doctest.h>

#include "herd/gateway/config.hpp"
#include "minimal_config.hpp"

using herd::gateway::parse_config;

namespace {
using herd::test::k_minimal_config;

std::string errors_of(const std::string& text) {
  auto c = parse_config(text, "t.toml");
  REQUIRE_FALSE(c.ok());
  return c.err().message;
}
}  // namespace

TEST_CASE("the commented sample config loads with its documented values") {
  auto c = herd::gateway::load_config(HERD_SOURCE_DIR "/config/herdgate.sample.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK(c->gateway_id == "farm-01-gw1");
  CHECK(c->mqtt.client_id == "herdgate-farm-01-gw1");
  CHECK(c->mqtt.topics == std::vector<std::string>{"farm/+/collar/+/telemetry"});
  CHECK(c->kafka.topic == "herd.events");
  CHECK(c->kafka.dlq_topic == "herd.events.dlq");
  CHECK(c->kafka.properties.at("client.id") == "herdgate-farm-01-gw1");
  CHECK(c->outbox.synchronous == herd::buffer::sync_mode::full);
  CHECK(c->registry_path == "/etc/herdgate/collars.csv");
}

TEST_CASE("a minimal config gets the defaults") {
  auto c = parse_config(k_minimal_config, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->log_level == "info");
  CHECK(c->kafka.max_in_flight == 2000);
  CHECK(c->mqtt.keep_alive.count() == 30);
}

TEST_CASE("unknown keys are errors, with their key path") {
  CHECK(errors_of(k_minimal_config + "[extra]\n").find("extra: unknown key") != std::string::npos);
  std::string typo = k_minimal_config;
  typo.replace(typo.find("[outbox]"), 8, "[outbox]\nsynchronus = \"full\"");
  CHECK(errors_of(typo).find("outbox.synchronus: unknown key") != std::string::npos);
}

TEST_CASE("every problem is reported, each with its key") {
  const std::string text = R"(
[gateway]
id = ""
log_level = "loud"
[mqtt]
broker_uri = "localhost"
client_id = 7
keep_alive_s = 1
[kafka]
bootstrap = "k:9092"
max_in_flight = 0
[kafka.properties]
acks = "1"
"linger.ms" = 20
"no.such.property" = "x"
"compression.type" = "zstd-ish"
[outbox]
path = "/o.db"
synchronous = "sometimes"
)";
  const auto e = errors_of(text);
  for (const char* expected :
       {"gateway.id: must not be empty", "gateway.log_level: must be one of",
        "mqtt.broker_uri: must be a URI", "mqtt.client_id: must be a string",
        "mqtt.keep_alive_s: must be between 5 and 3600, got 1", "kafka.max_in_flight: must be between",
        "kafka.properties.acks: is set by herdgate", "kafka.properties.no.such.property: No such configuration property",
        "kafka.properties.compression.type: Invalid value", "outbox.synchronous: must be one of",
        "registry: section is required"}) {
    CAPTURE(expected);
    CHECK(e.find(expected) != std::string::npos);
  }
  CHECK(e.find("linger.ms") == std::string::npos);  // a pass-through property is fine
}

TEST_CASE("TOML syntax errors name the file and line") {
  CHECK(errors_of("[gateway\nid = 1").find("t.toml:1") != std::string::npos);
  CHECK_FALSE(herd::gateway::load_config("/nonexistent/herdgate.toml").ok());
}

TEST_CASE("the outbox quota: 1 GiB and backpressure by default, bounds and policy checked") {
  auto c = parse_config(k_minimal_config, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->outbox.max_bytes == std::uint64_t{1} << 30);
  CHECK(c->outbox.when_full == herd::buffer::full_policy::backpressure);

  std::string evict = k_minimal_config;
  evict.replace(evict.find("[outbox]"), 8, "[outbox]\nmax_bytes = 0\nwhen_full = \"evict_oldest\"");
  c = parse_config(evict, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->outbox.max_bytes == 0);
  CHECK(c->outbox.when_full == herd::buffer::full_policy::evict_oldest);

  std::string bad = k_minimal_config;
  bad.replace(bad.find("[outbox]"), 8, "[outbox]\nmax_bytes = 4096\nwhen_full = \"drop\"");
  const auto errors = errors_of(bad);
  CHECK(errors.find("outbox.max_bytes: must be 0 (no limit) or at least 1048576, got 4096") !=
        std::string::npos);
  CHECK(errors.find("outbox.when_full: must be one of backpressure, evict_oldest") != std::string::npos);
}

TEST_CASE("durability keys: journal mode and checkpoint cadence, defaults and bounds") {
  auto c = parse_config(k_minimal_config, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->outbox.journal == herd::buffer::journal_mode::wal);
  CHECK(c->outbox.checkpoint_interval_ms == 1000);
  CHECK(c->outbox.wal_autocheckpoint_pages == 1000);
  CHECK(c->outbox.page_size == 1024);  // half the bytes per reading of 4 KiB pages (docs/deployment.md)

  std::string set = k_minimal_config;
  set.replace(set.find("[outbox]"), 8,
              "[outbox]\njournal_mode = \"truncate\"\ncheckpoint_interval_ms = 0\nwal_autocheckpoint_pages = 0");
  c = parse_config(set, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->outbox.journal == herd::buffer::journal_mode::truncate);
  CHECK(c->outbox.checkpoint_interval_ms == 0);
  CHECK(c->outbox.wal_autocheckpoint_pages == 0);

  std::string bad = k_minimal_config;
  bad.replace(bad.find("[outbox]"), 8,
              "[outbox]\njournal_mode = \"memory\"\ncheckpoint_interval_ms = -1\npage_size = 1000");
  const auto errors = errors_of(bad);
  CHECK(errors.find("outbox.page_size: must be 0 (SQLite's default) or a power of two from 512 to 65536, got 1000") !=
        std::string::npos);
  CHECK(errors.find("outbox.journal_mode: must be one of wal, truncate, delete") != std::string::npos);
  CHECK(errors.find("outbox.checkpoint_interval_ms: must be between 0 and 3600000") != std::string::npos);
}

TEST_CASE("drain keys: rate and queue cap, defaults and bounds") {
  auto c = parse_config(k_minimal_config, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->kafka.drain_rate == 0);
  CHECK(c->kafka.drain_max_queued == 2000);

  std::string set = k_minimal_config;
  set.replace(set.find("[kafka]"), 7, "[kafka]\ndrain_rate = 500\ndrain_max_queued = 50");
  c = parse_config(set, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->kafka.drain_rate == 500);
  CHECK(c->kafka.drain_max_queued == 50);

  std::string bad = k_minimal_config;
  bad.replace(bad.find("[kafka]"), 7, "[kafka]\ndrain_rate = -5\ndrain_max_queued = 0");
  const auto errors = errors_of(bad);
  CHECK(errors.find("kafka.drain_rate: must be between 0 and 10000000") != std::string::npos);
  CHECK(errors.find("kafka.drain_max_queued: must be between 1 and 1000000") != std::string::npos);
}

TEST_CASE("[clock]: defaults, every key, strict validation") {
  auto c = parse_config(k_minimal_config, "t.toml");
  REQUIRE(c.ok());
  CHECK(c->clock.kernel_sync);
  CHECK(c->clock.synced_file.empty());
  CHECK(c->clock.min_wall_ms == herd::core::k_wall_floor_ms);
  CHECK(c->clock.step_threshold_ms == 2000);
  CHECK(c->clock.stepped_hold_ms == 60'000);

  c = parse_config(k_minimal_config + R"([clock]
kernel_sync = false
synced_file = "/run/systemd/timesync/synchronized"
min_wall_time = "2027-03-01"
step_threshold_ms = 500
stepped_hold_s = 0
)", "t.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK_FALSE(c->clock.kernel_sync);
  CHECK(c->clock.synced_file == "/run/systemd/timesync/synchronized");
  CHECK(c->clock.min_wall_ms == 1803859200000);  // 2027-03-01T00:00:00Z
  CHECK(c->clock.step_threshold_ms == 500);
  CHECK(c->clock.stepped_hold_ms == 0);

  const auto e = errors_of(k_minimal_config + R"([clock]
kernel_sync = "yes"
synced_file = 1
min_wall_time = "last tuesday"
step_threshold_ms = 10
stepped_hold_s = 100000
ntp_server = "pool.ntp.org"
)");
  for (const char* expected :
       {"clock.kernel_sync: must be true or false", "clock.synced_file: must be a string",
        "clock.min_wall_time: must be an ISO-8601 UTC time", "clock.step_threshold_ms: must be between 100 and 3600000, got 10",
        "clock.stepped_hold_s: must be between 0 and 86400, got 100000", "clock.ntp_server: unknown key"}) {
    CAPTURE(expected);
    CHECK(e.find(expected) != std::string::npos);
  }
}

TEST_CASE("the sample config documents [clock] with the defaults") {
  auto c = herd::gateway::load_config(HERD_SOURCE_DIR "/config/herdgate.sample.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK(c->clock.kernel_sync);
  CHECK(c->clock.synced_file.empty());
  CHECK(c->clock.min_wall_ms == herd::core::k_wall_floor_ms);
  CHECK(c->clock.step_threshold_ms == 2000);
  CHECK(c->clock.stepped_hold_ms == 60'000);
}
