#pragma once
// A daemon under systemd (Type=notify): sd_notify(3) messages (READY=1, STATUS=, STOPPING=1,
// WATCHDOG=1). Talks to the service manager through NOTIFY_SOCKET, never blocking (a manager that
// does not read loses messages; systemd_notifier.cpp says why not libsystemd's sd_notify). Without it (not
// started by systemd, or by a test) every call is a cheap no-op. Thread: any.
#include <chrono>
#include <string>

namespace herd::daemon {

class systemd_notifier {
 public:
  systemd_notifier();
  void ready(const std::string& status) const;
  void status(const std::string& status) const;
  void stopping(const std::string& status) const;
  void watchdog() const;
  // The watchdog timeout systemd expects pings within (WATCHDOG_USEC for this process); zero
  // when no watchdog is configured.
  std::chrono::microseconds watchdog_timeout() const { return watchdog_; }

 private:
  void send(const std::string& message) const;
  std::chrono::microseconds watchdog_{0};
};

}  // namespace herd::daemon
