// Regression: herdgate's final SIGTERM stop in the watchdog fault test hung for over 60 s, twice.
// libsystemd's sd_notify() blocks once the manager's datagram queue is full (the test reads its
// notify socket only now and then; net.unix.max_dgram_qlen is 10), and the blocked call sat in
// the main loop that takes SIGTERM. Notifications must never block.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>

#include <herd/test_support/temp_dir.hpp>

#include "herd/daemon/systemd_notifier.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("systemd notifications never block, also when the manager does not read") {
  test_support::temp_dir dir;
  const auto path = (dir / "notify.sock").string();
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  const daemon::systemd_notifier systemd;
  auto pinging = std::async(std::launch::async, [&] {
    for (int i = 0; i < 200; ++i) systemd.watchdog();  // 20 x the queue; nobody reads
    systemd.stopping("stopping");
  });
  const bool returned = pinging.wait_for(5s) == std::future_status::ready;
  if (!returned) {  // blocked: read everything so the sender finishes and the test can end
    char buf[256];
    while (pinging.wait_for(1ms) != std::future_status::ready) (void)::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  }
  CHECK(returned);
  // What fitted in the queue arrived, in order.
  char buf[256];
  const auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "WATCHDOG=1");
  ::unsetenv("NOTIFY_SOCKET");
  ::close(fd);
}
