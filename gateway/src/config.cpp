#include "herd/gateway/config.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>
#include <vector>

#include "herd/core/bounded_file.hpp"
#include "herd/core/logging.hpp"
#include "herd/core/time_format.hpp"
#include "modbus_config.hpp"
#include "table_reader.hpp"

namespace herd::gateway {

namespace {

buffer::sync_mode parse_sync(const std::string& s, table_reader& r) {
  if (s == "full") return buffer::sync_mode::full;
  if (s == "normal") return buffer::sync_mode::normal;
  if (s == "off") return buffer::sync_mode::off;
  r.error("synchronous", "must be one of full, normal, off");
  return buffer::sync_mode::full;
}

buffer::journal_mode parse_journal(const std::string& s, table_reader& r) {
  if (s == "wal") return buffer::journal_mode::wal;
  if (s == "truncate") return buffer::journal_mode::truncate;
  if (s == "delete") return buffer::journal_mode::del;
  r.error("journal_mode", "must be one of wal, truncate, delete");
  return buffer::journal_mode::wal;
}

buffer::full_policy parse_when_full(const std::string& s, table_reader& r) {
  if (s == "backpressure") return buffer::full_policy::backpressure;
  if (s == "evict_oldest") return buffer::full_policy::evict_oldest;
  r.error("when_full", "must be one of backpressure, evict_oldest");
  return buffer::full_policy::backpressure;
}

buffer::start_check parse_start_check(const std::string& s, table_reader& r) {
  if (s == "after_unclean_stop") return buffer::start_check::after_unclean_stop;
  if (s == "always") return buffer::start_check::always;
  r.error("check_at_start", "must be one of after_unclean_stop, always");
  return buffer::start_check::after_unclean_stop;
}

// MQTT 5 Maximum Packet Size bounds: room for a 4 KiB payload, its topic and properties; the
// largest packet MQTT can encode (OASIS MQTT 5.0, 2.2.3: 268,435,455 bytes of remaining length).
constexpr std::int64_t k_min_mqtt_packet_bytes = 4608;
constexpr std::int64_t k_max_mqtt_packet_bytes = 268435455;

// TLS needs a trust store of the farm's choosing (an empty one would take the system's, where any
// publicly issued certificate passes) and a client key only with its certificate.
void check_mqtt_tls(const sensors::mqtt_options& m, table_reader& r) {
  const bool tls = m.broker_uri.rfind("ssl://", 0) == 0 || m.broker_uri.rfind("mqtts://", 0) == 0;
  if (tls && m.ca_file.empty()) {
    r.error("ca_file", "is required for an ssl:// broker_uri (the CA that signed the broker's "
                       "certificate; /etc/ssl/certs/ca-certificates.crt for publicly issued ones)");
  }
  if (!tls && (!m.ca_file.empty() || !m.cert_file.empty() || !m.key_file.empty())) {
    r.error("broker_uri", "must be ssl://host:port when ca_file, cert_file or key_file is set");
  }
  if (m.cert_file.empty() && (!m.key_file.empty() || !m.key_password.empty())) {
    r.error("cert_file", "is required with key_file or key_password");
  }
}

// Below this a quota holds too few events to be useful (the empty outbox alone takes 28 KiB).
constexpr std::int64_t k_min_outbox_bytes = 1 << 20;

}  // namespace

core::result<gateway_config> parse_config(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return core::error::permanent(fmt::format("{}:{}:{}: {}", origin, src.begin.line,
                                              src.begin.column, e.description()));
  }
  gateway_config c;
  std::vector<std::string> errors;
  table_reader top(&root, "", errors);

  table_reader gw(top.table("gateway", true), "gateway", errors);
  gw.str("id", c.gateway_id, true);
  gw.str("log_level", c.log_level);
  if (!core::parse_log_level(c.log_level)) {
    gw.error("log_level", "must be one of trace, debug, info, warn, error, critical, off");
  }
  gw.finish();

  table_reader mq(top.table("mqtt", true), "mqtt", errors);
  mq.str("broker_uri", c.mqtt.broker_uri);
  if (!c.mqtt.broker_uri.empty() && c.mqtt.broker_uri.find("://") == std::string::npos) {
    mq.error("broker_uri", "must be a URI such as tcp://host:1883 or ssl://host:8883");
  }
  mq.str("client_id", c.mqtt.client_id, true);
  mq.str_list("topics", c.mqtt.topics);
  std::int64_t keep_alive = c.mqtt.keep_alive.count();
  mq.integer("keep_alive_s", keep_alive, 5, 3600);
  c.mqtt.keep_alive = std::chrono::seconds(keep_alive);
  std::int64_t backoff_max = c.mqtt.reconnect_max.count();
  mq.integer("reconnect_max_ms", backoff_max, 100, 600000);
  c.mqtt.reconnect_max = std::chrono::milliseconds(backoff_max);
  mq.str("username", c.mqtt.username);
  mq.str("password", c.mqtt.password);
  mq.str("ca_file", c.mqtt.ca_file);
  mq.str("cert_file", c.mqtt.cert_file);
  mq.str("key_file", c.mqtt.key_file);
  mq.str("key_password", c.mqtt.key_password);
  mq.integer("max_packet_bytes", c.mqtt.max_packet_bytes, k_min_mqtt_packet_bytes, k_max_mqtt_packet_bytes);
  check_mqtt_tls(c.mqtt, mq);
  mq.finish();

  table_reader kf(top.table("kafka", true), "kafka", errors);
  kf.str("bootstrap", c.kafka.bootstrap, true);
  kf.str("topic", c.kafka.topic);
  kf.str("dlq_topic", c.kafka.dlq_topic);
  kf.integer("max_in_flight", c.kafka.max_in_flight, 1, 1000000);
  kf.integer("batch", c.kafka.batch, 1, 100000);
  kf.integer("drain_rate", c.kafka.drain_rate, 0, 10000000);
  kf.integer("drain_max_queued", c.kafka.drain_max_queued, 1, 1000000);
  table_reader props(kf.table("properties"), kf.child("properties"), errors);
  props.each([&](const std::string& k, const toml::node& v) {
    if (forwarder::is_reserved_kafka_property(k)) {
      props.error(k, "is set by herdgate to keep the delivery guarantees and cannot be overridden");
      return;
    }
    std::string value;
    if (v.is_string()) {
      value = *v.value<std::string>();
    } else if (v.is_integer()) {
      value = std::to_string(*v.value<std::int64_t>());
    } else if (v.is_boolean()) {
      value = *v.value<bool>() ? "true" : "false";
    } else {
      return props.error(k, "must be a string, integer or boolean");
    }
    if (auto problem = forwarder::kafka_property_problem(k, value)) return props.error(k, *problem);
    c.kafka.properties[k] = value;
  });
  kf.finish();

  table_reader ob(top.table("outbox", true), "outbox", errors);
  ob.str("path", c.outbox.path, true);
  std::string sync = "full";
  ob.str("synchronous", sync);
  c.outbox.synchronous = parse_sync(sync, ob);
  std::string journal = "wal";
  ob.str("journal_mode", journal);
  c.outbox.journal = parse_journal(journal, ob);
  ob.integer("checkpoint_interval_ms", c.outbox.checkpoint_interval_ms, 0, 3600 * 1000);
  ob.integer("wal_autocheckpoint_pages", c.outbox.wal_autocheckpoint_pages, 0, 1000000);
  ob.integer("page_size", c.outbox.page_size, 0, 65536);
  if (const auto ps = c.outbox.page_size; ps != 0 && (ps < 512 || (ps & (ps - 1)) != 0)) {
    ob.error("page_size", fmt::format("must be 0 (SQLite's default) or a power of two from 512 to 65536, got {}", ps));
  }
  ob.integer("dedup_window", c.outbox.dedup_window, 1000, 100000000);
  ob.integer("max_bytes", c.outbox.max_bytes, 0, std::int64_t{1} << 50);
  if (c.outbox.max_bytes != 0 && c.outbox.max_bytes < k_min_outbox_bytes) {
    ob.error("max_bytes", fmt::format("must be 0 (no limit) or at least {}, got {}",
                                      k_min_outbox_bytes, c.outbox.max_bytes));
  }
  std::string when_full = "backpressure";
  ob.str("when_full", when_full);
  c.outbox.when_full = parse_when_full(when_full, ob);
  std::string check_at_start = "after_unclean_stop";
  ob.str("check_at_start", check_at_start);
  c.outbox.check_at_start = parse_start_check(check_at_start, ob);
  ob.integer("dead_letter_max_count", c.outbox.dead_letter_max_count, 0, 10'000'000);
  ob.integer("dead_letter_max_bytes", c.outbox.dead_letter_max_bytes, 0, std::int64_t{1} << 40);
  ob.integer("dead_letter_keep_forwarded", c.outbox.dead_letter_keep_forwarded, 0, 10'000'000);
  ob.finish();

  table_reader rg(top.table("registry", true), "registry", errors);
  rg.str("path", c.registry_path, true);
  rg.finish();

  // Absent [metrics] means the documented default listener, not none: disabling takes listen = "".
  table_reader mt(top.table("metrics"), "metrics", errors);
  c.observability.listen = "127.0.0.1:9464";
  mt.str("listen", c.observability.listen);
  if (!c.observability.listen.empty()) {
    if (auto a = parse_listen_address(c.observability.listen); !a) mt.error("listen", a.err().message);
  }
  mt.finish();

  table_reader hl(top.table("health"), "health", errors);
  std::int64_t max_oldest = c.observability.max_oldest_unsent.count();
  hl.integer("max_oldest_unsent_s", max_oldest, 1, 30 * 24 * 3600);
  c.observability.max_oldest_unsent = std::chrono::seconds(max_oldest);
  std::int64_t max_kafka_failing = c.observability.max_kafka_failing.count();
  hl.integer("max_kafka_failing_s", max_kafka_failing, 1, 30 * 24 * 3600);
  c.observability.max_kafka_failing = std::chrono::seconds(max_kafka_failing);
  hl.finish();

  // [clock]: how herdgate tells whether its wall clock can be trusted (no RTC on a Pi).
  table_reader ck(top.table("clock"), "clock", errors);
  ck.boolean("kernel_sync", c.clock.kernel_sync);
  ck.str("synced_file", c.clock.synced_file);
  std::string floor;
  ck.str("min_wall_time", floor);
  if (!floor.empty()) {
    if (auto ms = core::parse_iso8601_utc(floor)) {
      c.clock.min_wall_ms = *ms;
    } else {
      ck.error("min_wall_time", "must be an ISO-8601 UTC time such as 2026-11-01T00:00:00Z or 2026-11-01");
    }
  }
  ck.integer("step_threshold_ms", c.clock.step_threshold_ms, 100, 3'600'000);
  std::int64_t hold_s = c.clock.stepped_hold_ms / 1000;
  ck.integer("stepped_hold_s", hold_s, 0, 86'400);
  c.clock.stepped_hold_ms = hold_s * 1000;
  ck.finish();

  // Profiles named by [[modbus.device]] are relative to the config file's folder.
  modbus_section mb;
  mb.max_failing_s = c.observability.max_device_failing.count();
  parse_modbus(top.table("modbus"), std::filesystem::path(origin).parent_path().string(), mb, errors);
  c.modbus = std::move(mb.poller);
  c.observability.max_device_failing = std::chrono::seconds(mb.max_failing_s);

  top.finish();
  if (!errors.empty()) {
    std::string msg = origin + ": invalid configuration";
    for (const auto& e : errors) msg += "\n  " + e;
    return core::error::permanent(std::move(msg));
  }
  return c;
}

core::result<gateway_config> load_config(const std::string& path) {
  auto text = core::read_bounded_file(path, k_max_config_bytes, "config file");
  if (!text) return text.err();
  return parse_config(*text, path);
}

}  // namespace herd::gateway
