#pragma once
// What herdgate tells a monitoring system: a snapshot of its counters and gauges, rendered in the
// Prometheus text exposition format (GET /metrics), and a health verdict (GET /health).
// Pure functions of a snapshot, so they are tested without a server; app::observe() takes the
// snapshot and the metrics server (metrics_server.cpp) serves both.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/gateway/failure_policy.hpp"
#include "herd/daemon/status_server.hpp"
#include "herd/sensors/modbus_poller.hpp"

namespace herd::gateway {

struct observability_options {
  // host:port of the HTTP listener for /metrics and /health. Port 0 picks a free one (tests);
  // empty disables the listener. The config file's default is "127.0.0.1:9464"; the struct's is
  // empty so a gateway built in-process (tests, benchmarks) opens no port unless asked to.
  std::string listen;
  // /health fails when the oldest event not yet acknowledged by Kafka is older than this.
  std::chrono::seconds max_oldest_unsent{3600};
  // /health fails when events wait and Kafka errors have come without a single acknowledged
  // delivery for longer than this (a missing topic, refused authorization, an unreachable cluster).
  std::chrono::seconds max_kafka_failing{60};
  // /health fails while a Modbus device has been failing for longer than this ([modbus] max_failing_s).
  std::chrono::seconds max_device_failing{300};
};

using daemon::listen_address;
using daemon::parse_listen_address;

struct observability_snapshot {
  std::int64_t now_ms = 0;  // wall clock at the snapshot, ms since epoch
  // Outbox; a failed query leaves its field empty and names the error in outbox_error.
  std::optional<std::uint64_t> outbox_depth;
  std::uint64_t outbox_bytes = 0;
  // The WAL as the outbox's checkpointer last saw it (buffer::outbox::wal()): its size, and since
  // when (wall ms) another connection's read transaction keeps it from being reset; 0: it is not.
  std::uint64_t outbox_wal_bytes = 0;
  std::uint64_t outbox_wal_limit_bytes = 0;
  std::int64_t outbox_wal_pinned_since_ms = 0;
  std::uint64_t outbox_checkpoints_in_commit = 0;
  std::uint64_t outbox_wal_syncs = 0;  // outbox::wal_status::timed_wal_syncs
  std::optional<std::int64_t> oldest_unsent_created_ms;  // nullopt: nothing waiting
  // The oldest unsent event's age measured on the monotonic clock (backlog_age); when set it is
  // used instead of now_ms - oldest_unsent_created_ms, which a clock step would falsify.
  std::optional<std::int64_t> oldest_unsent_age_ms;
  bool oldest_unsent_age_lower_bound = false;  // the clock never synced: the age is "at least"
  std::string outbox_error;
  // Counters since this process started.
  std::uint64_t ingested = 0;       // readings committed to the outbox
  std::uint64_t duplicates = 0;     // redeliveries acknowledged and not stored again
  std::uint64_t dead_letters = 0;   // rejected at ingest, stored in the dead_letter table
  std::uint64_t dead_letters_forwarded = 0;
  std::uint64_t dead_letters_dropped = 0;  // deleted or refused unforwarded (dead-letter space full)
  std::uint64_t forwarded = 0;      // events acknowledged by Kafka and deleted from the outbox
  std::uint64_t acknowledged = 0;   // events acknowledged by Kafka, counted at the report (delete may wait)
  std::uint64_t producer_rebuilds = 0;
  std::uint64_t evicted = 0;        // deleted unsent by the outbox quota policy (evict_oldest)
  std::uint64_t mqtt_received = 0;
  std::uint64_t mqtt_reconnects = 0;
  bool mqtt_connected = false;
  std::string mqtt_broker;          // for the health reason
  std::uint64_t kafka_in_flight = 0;
  std::uint64_t kafka_partitions_stalled = 0;  // forwarder_stats::partitions_stalled
  bool draining = false;            // the forwarder is draining a backlog
  std::uint64_t drain_held = 0;     // live events held for their animal's backlog
  std::uint64_t drains = 0;         // backlogs drained completely
  // The gateway's wall clock (clock_monitor).
  std::string clock_quality = "synced";  // "synced", "unsynced", "stepped"
  bool clock_synced = true;              // the sync checks pass (steps aside)
  std::uint64_t clock_steps = 0;         // steps seen since start
  std::int64_t clock_last_step_ms = 0;   // signed size of the last one, 0 when none
  std::uint64_t ingested_clock_unsynced = 0;  // events stored and marked unsynced
  std::uint64_t ingested_clock_stepped = 0;   // events stored and marked stepped
  // Failure handling (failure_policy): which storage steps are blocked, since when and why, the
  // failed attempts by step and code, and the fatal error that stops the gateway.
  failure_snapshot failures;
  std::uint64_t acked_pending_delete = 0;  // acknowledged by Kafka, delete pending (retried)
  // Arrival at the gateway -> Kafka's acknowledgement, per event acknowledged in this run
  // (forwarder::k_ack_latency_buckets_ms): (bucket bound in ms, events at most that, cumulative).
  std::vector<std::pair<std::int64_t, std::uint64_t>> ack_latency_le;
  std::uint64_t ack_latency_count = 0;
  std::uint64_t ack_latency_sum_ms = 0;
  std::map<std::string, std::uint64_t> kafka_errors;  // by librdkafka error name
  std::string last_kafka_error;
  std::string last_kafka_error_message;
  std::int64_t last_kafka_error_ms = 0;
  std::int64_t kafka_failing_since_ms = 0;  // first error since the last acknowledged delivery
  std::int64_t kafka_failing_ms = 0;  // for how long, on the monotonic clock (a wall clock step never counts)
  std::vector<sensors::modbus::device_stats> modbus_devices;  // one per configured device

  // Age of the oldest unsent event in seconds (0 when none; never negative after a clock step;
  // oldest_unsent_age_ms when set).
  double oldest_unsent_age_s() const;
};

// The Prometheus text exposition format (version 0.0.4), one # HELP and # TYPE per metric.
std::string render_prometheus(const observability_snapshot& s);
inline constexpr const char* k_prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

struct health_report {
  bool healthy = true;
  std::vector<std::string> reasons;  // why not, one line each, naming the part
  std::string json;                  // the /health body
};
health_report evaluate_health(const observability_snapshot& s, const observability_options& o);

}  // namespace herd::gateway
