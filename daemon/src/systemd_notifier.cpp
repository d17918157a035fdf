#include "herd/daemon/systemd_notifier.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace herd::daemon {

systemd_notifier::systemd_notifier() {
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is this process).
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

// sd_notify(3)'s datagram, sent without blocking. libsystemd 252's sd_notify() sends on a
// blocking socket: when the manager does not read (a hung manager, or a test playing it that
// reads now and then) the receiver's queue (net.unix.max_dgram_qlen, 10 here) fills and the call
// blocks for good; herdgate's main loop, which takes SIGTERM, then hung (the watchdog fault test's
// final stop, twice). Here a full queue drops the message: a missed WATCHDOG=1 is what a manager
// that does not listen deserves. NOTIFY_SOCKET: a path, or '@' for the abstract namespace.
void systemd_notifier::send(const std::string& message) const {
  const char* where = std::getenv("NOTIFY_SOCKET");
  if (where == nullptr || (where[0] != '/' && where[0] != '@')) return;  // not under systemd
  sockaddr_un addr{};
  const std::size_t len = std::strlen(where);
  if (len >= sizeof addr.sun_path) return;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, where, len);
  if (where[0] == '@') addr.sun_path[0] = '\0';
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  // Fails (EAGAIN: queue full; ECONNREFUSED: nobody listening) only when nobody would read it.
  (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&addr), addr_len);
  ::close(fd);
}

void systemd_notifier::ready(const std::string& status) const { send("READY=1\nSTATUS=" + status); }
void systemd_notifier::status(const std::string& status) const { send("STATUS=" + status); }
void systemd_notifier::stopping(const std::string& status) const { send("STOPPING=1\nSTATUS=" + status); }
void systemd_notifier::watchdog() const { send("WATCHDOG=1"); }

}  // namespace herd::daemon
