#include "herd/gateway/observability.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "modbus_observability.hpp"

namespace herd::gateway {

double observability_snapshot::oldest_unsent_age_s() const {
  if (!oldest_unsent_created_ms) return 0.0;
  if (oldest_unsent_age_ms) return static_cast<double>(std::max<std::int64_t>(*oldest_unsent_age_ms, 0)) / 1000.0;
  return static_cast<double>(std::max<std::int64_t>(now_ms - *oldest_unsent_created_ms, 0)) / 1000.0;
}

namespace {

class exposition {
 public:
  template <class V>
  void metric(const char* name, const char* type, const char* help, V value) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
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
  e.metric("herdgate_ingested_total", "counter", "Readings committed to the outbox.", s.ingested);
  e.metric("herdgate_forwarded_total", "counter", "Events acknowledged by Kafka and removed from the outbox.",
           s.forwarded);
  e.metric("herdgate_dead_letters_total", "counter",
           "Messages rejected at ingest and stored in the dead-letter table.", s.dead_letters);
  e.metric("herdgate_dead_letters_forwarded_total", "counter",
           "Dead letters copied to the dead-letter Kafka topic.", s.dead_letters_forwarded);
  e.metric("herdgate_duplicates_total", "counter",
           "Readings recognised as redeliveries: acknowledged, not stored again.", s.duplicates);
  e.metric("herdgate_evicted_total", "counter", "Events deleted unsent by the outbox quota policy (evict_oldest).", s.evicted);
  e.metric("herdgate_mqtt_received_total", "counter", "MQTT messages received.", s.mqtt_received);
  e.metric("herdgate_mqtt_reconnects_total", "counter", "Reconnections to the MQTT broker.",
           s.mqtt_reconnects);
  e.metric("herdgate_mqtt_connected", "gauge", "1 while connected and subscribed to the MQTT broker.",
           s.mqtt_connected ? 1 : 0);
  e.metric("herdgate_kafka_in_flight", "gauge", "Events handed to the Kafka producer and not yet acknowledged.",
           s.kafka_in_flight);
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
  return e.take() + render_modbus_metrics(s.modbus_devices);
}

health_report evaluate_health(const observability_snapshot& s, const observability_options& o) {
  health_report r;
  if (!s.mqtt_connected) {
    r.reasons.push_back("mqtt: not connected to " + s.mqtt_broker);
  }
  if (!s.outbox_error.empty()) r.reasons.push_back("outbox: " + s.outbox_error);
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
  if (!r.healthy) j["reasons"] = r.reasons;
  r.json = j.dump() + "\n";
  return r;
}

}  // namespace herd::gateway
