#pragma once
// The herd.alerts relay: produces the read model's outbox (table `outbox`, written by the
// projector in the same transaction as the alert rows) to Kafka, then deletes the rows Kafka
// acknowledged. README: "herd.alerts: the relay and its guarantees".
//
// - Producer: idempotent (enable.idempotence, acks=all, enable.gapless.guarantee, no message
//   timeout), key = animal, partitioner murmur2_random (the gateway's, Java-compatible): one
//   animal, one partition. Rows are produced in seq order; per partition Kafka keeps that order.
// - Delete after ack, in order: a row is deleted only after its delivery report, and only as part
//   of the delivered prefix of what was produced (exact seqs: delete_outbox_seqs).
// - Resume without loss or duplicate: a row is deleted only after its ack, so a crash loses
//   nothing. A crash between the ack and the delete leaves acknowledged rows behind: before it
//   produces anything, a relay session reads back the last `dedup_scan` records of every partition
//   of the topic and collects their ce_id headers; an outbox row whose ce_id is among them is
//   deleted without producing it again. So a kill -9 produces no duplicate as long as the rows in
//   doubt are within the last `dedup_scan` records of their partition (they are the newest
//   records of this relay, so with one relay per topic they always are). Consumers must still
//   dedup by ce_id (stable: "<alert_id>/<change>/<ms>") for the cases listed in the README
//   (a lost lease with messages in flight, more than dedup_scan foreign records written after
//   ours).
// - One relay per read model: store::relay_lease() (SQLite: the only projector of the file;
//   PostgreSQL: a session advisory lock; another instance takes over when the holder dies).
//
// Thread: the relay runs on its own thread with its own store connection (from `open_store`);
// start()/stop()/stats() from any thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "herd/core/result.hpp"
#include "herd/read_model/store.hpp"

namespace herd::alerts {

struct relay_options {
  std::string bootstrap;                           // Kafka bootstrap servers
  std::string topic = "herd.alerts";               // where the rows go (and what is scanned)
  std::map<std::string, std::string> properties;   // extra librdkafka properties
  std::size_t max_in_flight = 1000;                // rows produced and not yet deleted, at most
  std::size_t dedup_scan = 10'000;                 // records read back per partition at session start
  std::chrono::milliseconds idle_poll{100};        // an empty outbox is looked at this often
  std::chrono::milliseconds backoff_min{200};      // store / Kafka failure: retry after this,
  std::chrono::milliseconds backoff_max{10'000};   // doubling up to this
  std::chrono::milliseconds scan_timeout{10'000};  // the read-back must finish within this
};

struct relay_stats {
  std::atomic<std::uint64_t> relayed{0};            // rows produced, acknowledged and deleted
  std::atomic<std::uint64_t> already_delivered{0};  // rows found in the topic at session start: deleted, not resent
  std::atomic<std::uint64_t> produce_errors{0};     // failed deliveries / refused produce calls
  std::atomic<std::uint64_t> store_errors{0};
  std::atomic<std::uint64_t> sessions{0};           // producer sessions started (1 + restarts)
  std::atomic<std::int64_t> outbox_depth{-1};       // rows waiting in the outbox; -1 unknown
  std::atomic<std::int64_t> oldest_age_ms{0};       // age of the oldest waiting row (its ingested_at), 0 none
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<bool> leader{false};                  // holds the relay lease
  std::atomic<std::int64_t> heartbeat_steady_ms{0}; // the relay loop went round (steady ms)
  std::atomic<std::int64_t> progress_steady_ms{0};  // last time a row left the outbox (or it was empty)
  mutable std::mutex mu;
  std::string last_error;                           // under mu
};

class relay {
 public:
  using store_factory = std::function<core::result<std::unique_ptr<read_model::store>>()>;
  relay(relay_options options, store_factory open_store);
  ~relay();
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  // Starts the relay thread. Errors: fatal = bad options / properties.
  core::status start();
  // Waits up to 5 s for deliveries in flight (deleting what was acknowledged), then stops.
  void stop();
  const relay_stats& stats() const { return stats_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  relay_stats stats_;
};

// Prometheus text for the relay (README, herd.alerts metrics: herd_alerts_relay_*).
std::string render_relay_prometheus(const relay_stats& s);

// /health: a problem when this instance holds the lease and the oldest outbox row has waited
// longer than `max_stuck` while nothing left the outbox for as long, or the loop hung. Empty =
// healthy. `now_steady_ms`: steady clock.
std::string relay_problem(const relay_stats& s, std::int64_t now_steady_ms, std::chrono::seconds max_stuck);

}  // namespace herd::alerts
