#include "herd/projector/observability.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "herd/daemon/prometheus.hpp"

namespace herd::projector {

std::string render_prometheus(const loop_stats& s, const char* backend) {
  std::string out;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  counter("herd_projector_records_total", "Kafka records consumed and committed to the read model", s.records);
  counter("herd_projector_applied_total", "distinct events folded into an animal's state", s.applied);
  counter("herd_projector_duplicates_total", "records whose event_id was already in the event store",
          s.duplicates);
  counter("herd_projector_skipped_unknown_type_total",
          "events of an event_type this projector does not know: stored, not applied", s.unknown_type);
  counter("herd_projector_rejected_total", "events the fold rejected (poison pills), dead-lettered", s.rejected);
  counter("herd_projector_undecodable_total", "records that are not an EventEnvelope, dead-lettered",
          s.undecodable);
  counter("herd_projector_future_dated_total",
          "records whose ingested_at is more than 5 min ahead of the projector's clock, dead-lettered",
          s.future_dated);
  counter("herd_projector_dead_lettered_total", "records sent to the projector's dead-letter topic",
          s.dead_lettered);
  counter("herd_projector_batches_total", "transactions committed to the read model", s.batches);
  counter("herd_projector_advances_total", "rules::advance calls (event-time watermark rounds)", s.advances);
  counter("herd_projector_alert_changes_total", "alert lifecycle changes written", s.alert_changes);
  counter("herd_projector_pruned_events_total", "events deleted from the event store by retention", s.pruned);
  counter("herd_projector_store_errors_total", "failed read-model transactions (retried with backoff)",
          s.store_errors);
  counter("herd_projector_dlq_errors_total", "batches held back because the DLQ could not be written",
          s.dlq_errors);
  counter("herd_projector_stale_claims_total",
          "batches dropped because another instance had moved a partition on", s.stale_claims);
  counter("herd_projector_rebalances_total", "consumer group rebalance callbacks", s.rebalances);
  out += fmt::format(
      "# HELP herd_projector_partitions_assigned partitions this instance owns\n"
      "# TYPE herd_projector_partitions_assigned gauge\nherd_projector_partitions_assigned {}\n",
      s.assigned.load());
  out += fmt::format(
      "# HELP herd_projector_backing_off 1 while the read model or the DLQ fails and the batch waits\n"
      "# TYPE herd_projector_backing_off gauge\nherd_projector_backing_off {}\n",
      s.backing_off ? 1 : 0);
  out += fmt::format(
      "# HELP herd_projector_info the read-model back-end\n# TYPE herd_projector_info gauge\n"
      "herd_projector_info{{backend=\"{}\"}} 1\n",
      backend);
  std::vector<std::pair<double, std::uint64_t>> le;
  for (std::size_t i = 0; i < k_latency_buckets_s.size(); ++i) {
    le.emplace_back(k_latency_buckets_s[i], s.latency_le[i].load());
  }
  out += daemon::prometheus_histogram("herd_projector_batch_apply_seconds",
                                      "time to apply and commit one batch (prepare, DLQ, commit)", le,
                                      s.latency_count.load(), static_cast<double>(s.latency_sum_us.load()) / 1e6);
  out += "# HELP herd_projector_lag_records records in the partition not yet in the read model\n"
         "# TYPE herd_projector_lag_records gauge\n";
  std::lock_guard lock(s.mu);
  for (const auto& [tp, lag] : s.lag) {
    out += fmt::format("herd_projector_lag_records{{topic=\"{}\",partition=\"{}\"}} {}\n", tp.first, tp.second, lag);
  }
  return out;
}

health_verdict evaluate_health(const loop_stats& s, std::int64_t now_steady_ms, std::chrono::seconds max_stall,
                               const std::string& extra_problem) {
  health_verdict v;
  const std::int64_t age_ms = now_steady_ms - s.heartbeat_steady_ms.load();
  nlohmann::ordered_json j;
  std::vector<std::string> problems;
  if (s.heartbeat_steady_ms.load() == 0 || age_ms > max_stall.count() * 1000) {
    problems.push_back(fmt::format("consumer loop has not gone round for {:.1f} s", age_ms / 1000.0));
  }
  std::string last_error, group_state;
  {
    std::lock_guard lock(s.mu);
    last_error = s.last_error;
    group_state = s.group_state;
  }
  const std::int64_t unsettled_since = s.group_unsettled_since_steady_ms.load();
  if (unsettled_since != 0 && now_steady_ms - unsettled_since > max_stall.count() * 1000) {
    problems.push_back(fmt::format("not settled in the consumer group for {:.1f} s (librdkafka state/join state: {})",
                                   (now_steady_ms - unsettled_since) / 1000.0, group_state));
  }
  if (s.backing_off) problems.push_back("backing off: " + last_error);
  if (!extra_problem.empty()) problems.push_back(extra_problem);
  v.healthy = problems.empty();
  j["status"] = v.healthy ? "ok" : "unhealthy";
  j["problems"] = problems;
  j["partitions_assigned"] = s.assigned.load();
  if (!group_state.empty()) j["group_state"] = group_state;
  j["applied"] = s.applied.load();
  j["batches"] = s.batches.load();
  std::int64_t total_lag = 0;
  {
    std::lock_guard lock(s.mu);
    for (const auto& [tp, lag] : s.lag) total_lag += lag;
  }
  j["lag_records"] = total_lag;
  if (!last_error.empty()) j["last_error"] = last_error;
  v.json = j.dump();
  return v;
}

std::string status_line(const loop_stats& s) {
  return fmt::format("{} partitions; applied {}, duplicates {}, skipped {}, dead-lettered {}{}", s.assigned.load(),
                     s.applied.load(), s.duplicates.load(), s.unknown_type.load(), s.dead_lettered.load(),
                     s.backing_off ? "; BACKING OFF (read model or DLQ failing)" : "");
}

}  // namespace herd::projector
