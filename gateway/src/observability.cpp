#include "herd/gateway/observability.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "herd/core/time_format.hpp"
#include "herd/daemon/prometheus.hpp"
#include "modbus_observability.hpp"

namespace herd::gateway {

double observability_snapshot::oldest_unsent_age_s() const {
  if (!oldest_unsent_created_ms) return 0.0;
  if (oldest_unsent_age_ms) return static_cast<double>(std::max<std::int64_t>(*oldest_unsent_age_ms, 0)) / 1000.0;
  return static_cast<double>(std::max<std::int64_t>(now_ms - *oldest_unsent_created_ms, 0)) / 1000.0;
}

namespace {

constexpr std::int64_t k_wal_pinned_grace_ms = 5000;

class exposition {
 public:
  template <class V>
  void metric(const char* name, const char* type, const char* help, V value) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  }
  // One metric with a label: every (label value, value) pair as a line.
  template <class Map>
  void labelled(const char* name, const char* type, const char* help, const Map& rows) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& [labels, value] : rows) out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  // A histogram in seconds from cumulative (bound in ms, count) buckets, count and sum in ms.
  void histogram_ms(const char* name, const char* help, const std::vector<std::pair<std::int64_t, std::uint64_t>>& le,
                    std::uint64_t count, std::uint64_t sum_ms) {
    std::vector<std::pair<double, std::uint64_t>> le_s;
    for (const auto& [bound_ms, n] : le) le_s.emplace_back(static_cast<double>(bound_ms) / 1000.0, n);
    out_ += daemon::prometheus_histogram(name, help, le_s, count, static_cast<double>(sum_ms) / 1000.0);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render_prometheus(const observability_snapshot& s) {
  exposition e;
  // Outbox gauges are left out when the outbox cannot be read: a missing series is an alert in
  // itself, a made-up 0 would hide the problem.
  if (s.outbox_depth) {
    e.metric("herdgate_outbox_depth", "gauge", "Events in the outbox not yet acknowledged by Kafka.",
             *s.outbox_depth);
    e.metric("herdgate_outbox_oldest_unsent_age_seconds", "gauge",
             "Age of the oldest event not yet acknowledged by Kafka (0 when none waits).",
             fmt::format("{:.3f}", s.oldest_unsent_age_s()));
  }
  e.metric("herdgate_outbox_bytes", "gauge", "Size of the outbox database file plus its WAL.",
           s.outbox_bytes);
  e.metric("herdgate_outbox_wal_bytes", "gauge", "Size of the outbox's WAL at the checkpointer's last look.",
           s.outbox_wal_bytes);
  e.metric("herdgate_outbox_wal_pinned", "gauge",
           "1 while another connection's read transaction keeps the outbox's WAL from being reset "
           "(it then counts in max_bytes), 0 otherwise.",
           s.outbox_wal_pinned_since_ms != 0 ? 1 : 0);
  e.metric("herdgate_outbox_checkpoints_in_commit_total", "counter",
           "Checkpoints a reading's commit ran itself: the WAL reached wal_autocheckpoint_pages before "
           "the checkpointer thread reset it.",
           s.outbox_checkpoints_in_commit);
  e.metric("herdgate_outbox_wal_syncs_total", "counter",
           "fsyncs of the outbox's WAL on the checkpointer's timer (synchronous = normal): each makes "
           "the readings committed before it durable.",
           s.outbox_wal_syncs);
  e.metric("herdgate_ingested_total", "counter", "Readings committed to the outbox.", s.ingested);
  e.metric("herdgate_forwarded_total", "counter", "Events acknowledged by Kafka and removed from the outbox.",
           s.forwarded);
  e.metric("herdgate_acknowledged_total", "counter",
           "Events acknowledged by Kafka (or dead-lettered by the forwarder); their delete follows within 1 s.",
           s.acknowledged);
  e.histogram_ms("herdgate_forward_ack_latency_seconds",
                 "From a reading's arrival at the gateway to Kafka's acknowledgement of its event (this run).",
                 s.ack_latency_le, s.ack_latency_count, s.ack_latency_sum_ms);
  e.metric("herdgate_dead_letters_total", "counter",
           "Messages rejected at ingest and stored in the dead-letter table.", s.dead_letters);
  e.metric("herdgate_dead_letters_forwarded_total", "counter",
           "Dead letters copied to the dead-letter Kafka topic.", s.dead_letters_forwarded);
  e.metric("herdgate_duplicates_total", "counter",
           "Readings recognised as redeliveries: acknowledged, not stored again.", s.duplicates);
  e.metric("herdgate_dead_letters_dropped_total", "counter",
           "Dead letters deleted or refused before Kafka had them (dead-letter space full).",
           s.dead_letters_dropped);
  e.metric("herdgate_evicted_total", "counter", "Events deleted unsent by the outbox quota policy (evict_oldest).", s.evicted);
  e.metric("herdgate_mqtt_received_total", "counter", "MQTT messages received.", s.mqtt_received);
  e.metric("herdgate_mqtt_reconnects_total", "counter", "Reconnections to the MQTT broker.",
           s.mqtt_reconnects);
  e.metric("herdgate_mqtt_connected", "gauge", "1 while connected and subscribed to the MQTT broker.",
           s.mqtt_connected ? 1 : 0);
  e.metric("herdgate_kafka_in_flight", "gauge", "Events handed to the Kafka producer and not yet acknowledged.",
           s.kafka_in_flight);
  e.metric("herdgate_kafka_partitions_stalled", "gauge",
           "Partitions of the events topic whose leader has not acknowledged for a second while the cluster "
           "acknowledges others; their animals' events wait, the others' do not.",
           s.kafka_partitions_stalled);
  e.metric("herdgate_producer_rebuilds_total", "counter",
           "Kafka producer rebuilds after fatal or persistent errors.", s.producer_rebuilds);
  e.metric("herdgate_backlog_draining", "gauge",
           "1 while a backlog drains (rate-limited, live events first), 0 otherwise.", s.draining ? 1 : 0);
  e.metric("herdgate_backlog_held_events", "gauge",
           "Live events held until their animal's backlog is produced.", s.drain_held);
  e.metric("herdgate_backlog_drains_total", "counter", "Backlogs drained completely.", s.drains);
  e.metric("herdgate_clock_synced", "gauge",
           "1 while the wall clock counts as synchronized (kernel, synced_file and floor checks).",
           s.clock_synced ? 1 : 0);
  e.metric("herdgate_clock_steps_total", "counter", "Steps (jumps) of the wall clock seen.", s.clock_steps);
  e.metric("herdgate_clock_last_step_seconds", "gauge",
           "Signed size of the last wall clock step (+ forward, - backward); 0 when none.",
           fmt::format("{:.3f}", static_cast<double>(s.clock_last_step_ms) / 1000.0));
  e.metric("herdgate_ingested_clock_unsynced_total", "counter",
           "Events stored while the wall clock was not synchronized (marked CLOCK_QUALITY_UNSYNCED).",
           s.ingested_clock_unsynced);
  e.metric("herdgate_ingested_clock_stepped_total", "counter",
           "Events stored shortly after a wall clock step (marked CLOCK_QUALITY_STEPPED).",
           s.ingested_clock_stepped);
  const auto& f = s.failures;
  e.metric("herdgate_ingest_blocked", "gauge",
           "1 while storage refuses readings (they are held unacknowledged), 0 otherwise.",
           f.ingest.blocked ? 1 : 0);
  e.metric("herdgate_forward_storage_blocked", "gauge",
           "1 while events Kafka acknowledged cannot be deleted from the outbox (retried), 0 otherwise.",
           f.forward.blocked ? 1 : 0);
  e.metric("herdgate_acked_pending_delete", "gauge",
           "Events acknowledged by Kafka whose delete from the outbox is pending (retried, never resent).",
           s.acked_pending_delete);
  std::map<std::string, std::uint64_t> storage;
  for (const auto& [key, n] : f.failures) {
    storage[fmt::format("step=\"{}\",cause=\"{}\"", key.first, key.second)] = n;
  }
  e.labelled("herdgate_storage_failures_total", "counter",
             "Failed outbox operations by step (ingest, forward, monitor) and cause (error code).", storage);
  std::map<std::string, std::uint64_t> kafka;
  for (const auto& [name, n] : s.kafka_errors) kafka[fmt::format("error=\"{}\"", name)] = n;
  e.labelled("herdgate_kafka_errors_total", "counter",
             "Kafka errors (delivery reports, client errors) by librdkafka error name.", kafka);
  e.metric("herdgate_fatal", "gauge", "1 once a fatal error was decided: the gateway is stopping.",
           f.fatal ? 1 : 0);
  return e.take() + render_modbus_metrics(s.modbus_devices);
}

health_report evaluate_health(const observability_snapshot& s, const observability_options& o) {
  health_report r;
  if (!s.mqtt_connected) {
    r.reasons.push_back("mqtt: not connected to " + s.mqtt_broker);
  }
  if (!s.outbox_error.empty()) r.reasons.push_back("outbox: " + s.outbox_error);
  const auto& f = s.failures;
  const auto since = [](const blocked_state& b) { return core::iso8601_utc_ms(b.since_ms); };
  if (f.fatal) {
    r.reasons.push_back(fmt::format("gateway: stopping for a restart after a fatal error ({}): {}",
                                    f.fatal->code, f.fatal->message));
  }
  if (f.ingest.blocked) {
    r.reasons.push_back(fmt::format("ingest: storage refuses readings since {} ({}: {}); they are held "
                                    "unacknowledged at the broker",
                                    since(f.ingest), f.ingest.code, f.ingest.message));
  }
  if (f.forward.blocked) {
    r.reasons.push_back(fmt::format("forward: cannot delete events Kafka acknowledged since {} ({}: {})",
                                    since(f.forward), f.forward.code, f.forward.message));
  }
  // A pinned WAL is reported after a grace (one of the gateway's own short reads can make a
  // single reset attempt fail); the outbox retries the reset at every timed checkpoint.
  if (s.outbox_wal_pinned_since_ms != 0 && s.now_ms - s.outbox_wal_pinned_since_ms >= k_wal_pinned_grace_ms) {
    r.reasons.push_back(fmt::format(
        "outbox: the WAL is {} bytes (limit {}) and cannot be reset since {}: another process holds a read "
        "transaction on the outbox (a backup tool, an sqlite3 shell left in a transaction?); it counts in "
        "max_bytes until it lets go",
        s.outbox_wal_bytes, s.outbox_wal_limit_bytes, core::iso8601_utc_ms(s.outbox_wal_pinned_since_ms)));
  }
  const bool events_wait = s.kafka_in_flight > 0 || (s.outbox_depth && *s.outbox_depth > 0);
  if (s.kafka_failing_since_ms > 0 && events_wait &&
      s.kafka_failing_ms > o.max_kafka_failing.count() * 1000) {
    r.reasons.push_back(fmt::format("kafka: no delivery acknowledged since errors began at {}; last error {} "
                                    "at {}: {}",
                                    core::iso8601_utc_ms(s.kafka_failing_since_ms), s.last_kafka_error,
                                    core::iso8601_utc_ms(s.last_kafka_error_ms), s.last_kafka_error_message));
  }
  const double age = s.oldest_unsent_age_s();
  const auto limit = static_cast<double>(o.max_oldest_unsent.count());
  if (age > limit) {
    r.reasons.push_back(fmt::format("outbox: oldest unsent event is {}{:.0f} s old (limit {} s); is Kafka reachable?",
                                    s.oldest_unsent_age_lower_bound ? "at least " : "", age,
                                    o.max_oldest_unsent.count()));
  }
  modbus_health(s.modbus_devices, s.now_ms, o.max_device_failing, r.reasons);
  r.healthy = r.reasons.empty();
  nlohmann::json j = {{"status", r.healthy ? "ok" : "unhealthy"},
                      {"mqtt_connected", s.mqtt_connected},
                      {"oldest_unsent_age_seconds", age},
                      {"max_oldest_unsent_seconds", o.max_oldest_unsent.count()},
                      {"clock", s.clock_quality}};
  if (s.outbox_depth) j["outbox_depth"] = *s.outbox_depth;
  const auto blocked_json = [&](const blocked_state& b) {
    return nlohmann::json{{"blocked", b.blocked}, {"since", b.blocked ? since(b) : std::string()},
                          {"cause", b.code}};
  };
  j["outbox_wal"] = {{"bytes", s.outbox_wal_bytes},
                     {"pinned_since", s.outbox_wal_pinned_since_ms != 0 ? core::iso8601_utc_ms(s.outbox_wal_pinned_since_ms)
                                                                        : std::string()}};
  j["ingest"] = blocked_json(f.ingest);
  j["forward"] = blocked_json(f.forward);
  if (!s.last_kafka_error.empty()) {
    j["kafka_last_error"] = {{"name", s.last_kafka_error},
                             {"at", core::iso8601_utc_ms(s.last_kafka_error_ms)},
                             {"message", s.last_kafka_error_message}};
  }
  if (!r.healthy) j["reasons"] = r.reasons;
  r.json = j.dump() + "\n";
  return r;
}

}  // namespace herd::gateway
