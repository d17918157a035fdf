#include "systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>

#include <fmt/format.h>

namespace herd::gateway {

systemd_notifier::systemd_notifier() {
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is this process).
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void systemd_notifier::send(const std::string& message) const {
  // Fails only without a manager listening; there is nobody to tell then.
  (void)sd_notify(0, message.c_str());
}

void systemd_notifier::ready(const std::string& status) const { send("READY=1\nSTATUS=" + status); }
void systemd_notifier::status(const std::string& status) const { send("STATUS=" + status); }
void systemd_notifier::stopping(const std::string& status) const { send("STOPPING=1\nSTATUS=" + status); }
void systemd_notifier::watchdog() const { send("WATCHDOG=1"); }

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
