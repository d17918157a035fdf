#include "herd/daemon/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>

namespace herd::daemon {

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

}  // namespace herd::daemon
