#pragma once
// The consumer loop's state and steps (consumer_loop.hpp). One thread runs them all: the loop's
// own, which also runs librdkafka's callbacks (rebalance, statistics, DLQ delivery reports)
// inside poll and flush. Split by concern: consumer_loop.cpp (start, poll, batches, flush),
// consumer_group.cpp (rebalances, group health, pause, resync, Kafka commits),
// consumer_dlq.cpp (the dead-letter producer).
#include <librdkafka/rdkafka.h>

#include <set>
#include <string_view>

#include "herd/core/logging.hpp"
#include "herd/projector/consumer_loop.hpp"

namespace herd::projector {

namespace loop_detail {

using steady = std::chrono::steady_clock;

inline std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch()).count();
}

}  // namespace loop_detail

struct consumer_loop::impl {
  using steady = loop_detail::steady;

  consumer_options o;
  loop_stats& stats;
  read_model::store& store;
  applier app;
  steady::time_point next_prune = steady::now();
  rd_kafka_t* rk = nullptr;      // consumer
  rd_kafka_t* dlq = nullptr;     // producer
  std::uint64_t dlq_failures = 0;
  std::atomic<bool> stopping{false};
  bool cooperative = false;
  std::set<std::pair<std::string, std::int32_t>> assigned;
  std::vector<record> batch;
  steady::time_point batch_started;
  std::map<std::int32_t, std::int64_t> end_offsets;  // stop_at_end: per partition, the high mark at start
  core::system_clock wall;  // record::polled_ms
  std::int64_t subscribed_steady_ms = 0;
  bool group_ever_settled = false;
  std::shared_ptr<spdlog::logger> log = core::module_logger("projector");

  impl(consumer_options opts, loop_stats& s, read_model::store& st)
      : o(std::move(opts)), stats(s), store(st), app(st) {
    app.set_dead_lettering(o.dead_lettering);
    app.set_outbox(o.alert_outbox, o.alerts_topic);
  }

  ~impl() {
    if (rk != nullptr) rd_kafka_destroy(rk);
    if (dlq != nullptr) rd_kafka_destroy(dlq);
  }

  void set_error(const std::string& e) {
    std::lock_guard lock(stats.mu);
    stats.last_error = e;
  }

  core::status set(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return core::error::fatal("kafka property " + k + ": " + err);
    }
    return core::ok_v;
  }

  core::status start();
  // No group: every partition, from the stored offsets (a rebuild).
  core::status assign_all();
  // Polls once; a record goes into the batch. Returns false on nothing.
  bool poll_one(std::chrono::milliseconds timeout);
  void record_success(const batch_counts& c, std::chrono::microseconds took);
  void update_lag();
  // Applies the pending batch, retrying store and DLQ failures with backoff. Returns an error
  // only for a fatal one. `once`: a single attempt (shutdown).
  core::status flush(bool once);
  bool reached_end() const;
  // Event store retention, in slices so a batch never waits long behind it.
  void prune();
  core::status run();

  // consumer_group.cpp: the consumer group's side (callbacks on the loop's thread, inside poll).
  void rebalance(rd_kafka_t* h, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  // librdkafka's statistics (on the loop's thread, inside poll): the consumer group's part
  // (STATISTICS.md, "cgrp": state, join_state) tells whether this member is settled in the group.
  void group_statistics(std::string_view json);
  void pause_all(bool pause);
  // After a failed claim: another instance moved a partition on. Reload and seek.
  void resync();
  void commit_to_kafka(const std::map<std::pair<std::string, std::int32_t>, std::int64_t>& next);

  // consumer_dlq.cpp: the dead-letter topic.
  core::status open_dlq();
  core::status produce_dead_letters();
};

}  // namespace herd::projector
