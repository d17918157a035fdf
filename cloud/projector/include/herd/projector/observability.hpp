#pragma once
// What herd-projector tells a monitoring system (GET /metrics, Prometheus text format; GET
// /health, JSON). Pure functions of the loop's stats, so they are tested without a server.
// Every metric is documented in the README ("herd-projector metrics").
#include <chrono>
#include <string>

#include "herd/projector/consumer_loop.hpp"

namespace herd::projector {

std::string render_prometheus(const loop_stats& s, const char* backend);

struct health_verdict {
  bool healthy = true;
  std::string json;
};
// Unhealthy when the loop has not gone round for `max_stall` (hung), has not been settled in its
// consumer group for longer than `max_stall` (loop_stats::group_unsettled_since_steady_ms: the
// group cannot be joined, so no partition is consumed), or is backing off because the read model
// or the DLQ fails. `now_steady_ms`: steady clock, ms.
// `extra_problem`: another part's reason to fail (the herd.alerts relay stuck), "" = none.
health_verdict evaluate_health(const loop_stats& s, std::int64_t now_steady_ms, std::chrono::seconds max_stall,
                               const std::string& extra_problem = {});

// One line for systemd's STATUS=.
std::string status_line(const loop_stats& s);

}  // namespace herd::projector
