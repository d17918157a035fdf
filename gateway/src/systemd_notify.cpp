#include "systemd_notify.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace herd::gateway {

std::chrono::milliseconds stall_limit(std::chrono::microseconds watchdog_timeout) {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_timeout / 2),
                  std::chrono::milliseconds(6000));
}

std::optional<std::string> pipeline_problem(const app::stats& s, std::int64_t now_steady_ms,
                                            std::int64_t started_steady_ms,
                                            std::chrono::milliseconds limit) {
  const std::int64_t last = std::max(s.forward.heartbeat_steady_ms, started_steady_ms);
  const std::int64_t age = now_steady_ms - last;
  if (age > limit.count()) {
    return fmt::format("forwarder stuck: its loop last went round {:.1f} s ago (limit {:.1f} s)",
                       static_cast<double>(age) / 1000.0, static_cast<double>(limit.count()) / 1000.0);
  }
  return std::nullopt;
}

std::string status_line(const app::stats& s) {
  return fmt::format("{}; received {}, stored {}, forwarded {}, in flight {}, dead-lettered {}",
                     s.mqtt.connected ? "MQTT connected" : "MQTT disconnected", s.mqtt.received,
                     s.ingest.stored, s.forward.delivered, s.forward.in_flight, s.ingest.dead_lettered);
}

}  // namespace herd::gateway
