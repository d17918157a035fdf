#pragma once
// The projector's Kafka side: a librdkafka high-level consumer in a consumer group on
// herd.events, feeding batches to the applier (applier.hpp), dead letters to
// herd.events.projector.dlq, and committing offsets to Kafka after the read model's commit.
//
// Offsets: the read model is the truth. On partition assignment the loop reads the stored next
// offsets and starts each partition there (the beginning of the topic when nothing is stored);
// Kafka's committed offsets are only written (after each database commit) so lag tools see the
// group, never read.
//
// Rebalance: callbacks run on the loop's thread (inside poll), between batches or while a batch
// waits for the store. Revoked partitions' records are dropped from the pending batch and their
// cached states forgotten; the new owner starts from the stored offsets. A batch that is being
// committed is never split: revocation happens only inside poll, never inside a transaction.
// Eager and cooperative assignment strategies are both handled.
//
// Failures: a store error (database down, busy, disk full) is backpressure: the loop pauses its
// partitions, keeps the batch, and retries with exponential backoff (still polling so the group
// keeps it); it never dead-letters because of its own database. A DLQ that cannot be written is
// the same. A fatal store error (wrong schema) ends run() with that error. A failed claim (another
// instance moved a partition on) reloads the stored offsets and seeks there.
//
// Thread: run() blocks on the calling thread; stop() and stats() from any thread.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "herd/core/result.hpp"
#include "herd/projector/applier.hpp"

namespace herd::projector {

struct consumer_options {
  std::string bootstrap;                              // Kafka bootstrap servers
  std::string topic = "herd.events";
  std::string group_id = "herd-projector";
  std::string dlq_topic = "herd.events.projector.dlq";
  std::size_t batch_max = 5000;                       // records per transaction, at most
  std::chrono::milliseconds linger{50};               // a batch closes this long after its first record
  std::chrono::milliseconds backoff_min{100};         // store / DLQ failure: first retry after this,
  std::chrono::milliseconds backoff_max{10'000};      // doubling up to this
  std::map<std::string, std::string> properties;      // extra librdkafka properties (consumer and DLQ producer)
  // Without a group: assign every partition of the topic (a rebuild from the topic). The loop
  // then commits nothing to Kafka.
  bool use_group = true;
  // Return from run() once every partition reached the end it had when run() started (rebuild).
  bool stop_at_end = false;
  bool dead_lettering = true;  // false: count poison records, produce nothing (rebuild)
  // Alert lifecycle changes also go to the read model's outbox for herd.alerts (applier::set_outbox);
  // false for a rebuild (they were published when first projected).
  bool alert_outbox = true;
  std::string alerts_topic = "herd.alerts";
  // Event store retention: every 10 minutes, between batches, delete events whose occurred_at is
  // older than this many days (wall clock). 0 = keep all.
  std::uint32_t retention_days = 0;
};

// librdkafka properties the projector sets itself (its guarantees depend on them).
bool is_reserved_consumer_property(const std::string& name);

// librdkafka properties only a consumer takes (fetch.*, session.*, max.poll*,
// partition.assignment*, heartbeat*): a producer given one refuses its config, so the projector's
// producers (the DLQ's, the herd.alerts relay's) leave them out of [kafka.properties]. Pure.
bool is_consumer_only_property(const std::string& name);

// Batch apply latency histogram buckets, seconds (Prometheus `le`).
inline constexpr std::array<double, 10> k_latency_buckets_s = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                               0.05,  0.1,    0.25,  0.5,  1.0};

struct loop_stats {
  std::atomic<std::uint64_t> records{0}, applied{0}, duplicates{0}, unknown_type{0}, rejected{0},
      undecodable{0}, future_dated{0}, dead_lettered{0}, batches{0}, advances{0}, alert_changes{0}, pruned{0};
  std::atomic<std::uint64_t> store_errors{0}, dlq_errors{0}, stale_claims{0}, rebalances{0};
  std::atomic<std::int64_t> heartbeat_steady_ms{0};  // the loop went round (steady clock ms)
  std::atomic<bool> backing_off{false};              // waiting for the store or the DLQ
  std::atomic<std::uint64_t> assigned{0};            // partitions owned
  // The consumer group as librdkafka's statistics (statistics.interval.ms, every 1 s unless the
  // config changes it) last described it: settled = coordinator known ("up") and the member's
  // join done ("steady"), even with no partition (more instances than partitions). Since when it
  // has not been settled, steady clock ms; 0 = settled, not in a group, or no statistics yet.
  std::atomic<std::int64_t> group_unsettled_since_steady_ms{0};
  std::array<std::atomic<std::uint64_t>, k_latency_buckets_s.size()> latency_le{};
  std::atomic<std::uint64_t> latency_count{0};
  std::atomic<std::uint64_t> latency_sum_us{0};
  mutable std::mutex mu;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> lag;  // under mu
  std::string last_error;                                             // under mu
  std::string group_state;  // under mu: "<cgrp.state>/<cgrp.join_state>", "" = not known
};

class consumer_loop {
 public:
  consumer_loop(consumer_options options, read_model::store& store);
  ~consumer_loop();
  consumer_loop(const consumer_loop&) = delete;
  consumer_loop& operator=(const consumer_loop&) = delete;

  // Creates the consumer (and the DLQ producer) and subscribes. Errors: fatal (bad properties).
  core::status start();
  // Consumes until stop() (or the end, with stop_at_end). On stop, the pending batch is applied
  // (one attempt) and the consumer leaves the group cleanly. Errors: a fatal store error.
  core::status run();
  void stop();
  const loop_stats& stats() const { return stats_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  loop_stats stats_;
};

}  // namespace herd::projector
