// The systemd watchdog path, with herdgate as systemd would run it (NOTIFY_SOCKET, WATCHDOG_USEC)
// and the test playing the service manager: READY=1 once subscribed, WATCHDOG=1 pings while the
// pipeline runs, no pings while the outbox's storage hangs (so systemd would restart it), pings
// again once storage answers, STOPPING=1 on SIGTERM.
//
// The hang is real: the outbox lives on a small ext4 loop mount that the test freezes with
// fsfreeze(8), so every write to it blocks in the kernel, as on a dying SD card. Ingest then
// blocks inside its commit holding the outbox's write lock, and the forwarder blocks on its next
// acknowledgement: its loop heartbeat stops. Needs root (mount, fsfreeze), as CI and the project's
// scripts run.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/temp_dir.hpp>

#include "../integration/event_checks.hpp"
#include "../integration/rig.hpp"
#include "notify_socket.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;
using test::notify_socket;

// A small ext4 file system on a loop device, mounted under a temp dir; freeze() makes every write
// to it block until thaw(). The destructor thaws first (a process blocked on a frozen file system
// cannot even be killed), then detaches the mount lazily (herdgate may still hold files open).
class freezable_fs {
 public:
  freezable_fs() {
    const auto img = dir_ / "fs.img";
    const auto logs = dir_.path();
    std::filesystem::create_directory(mnt_);
    REQUIRE(test_support::run_command({"truncate", "-s", "64M", img.string()}, logs) == 0);
    REQUIRE(test_support::run_command({"mkfs.ext4", "-q", "-F", img.string()}, logs) == 0);
    const int mounted = test_support::run_command({"mount", "-o", "loop", img.string(), mnt_.string()}, logs);
    INFO("this test needs root (mount -o loop, fsfreeze): ", log_text());
    REQUIRE(mounted == 0);
    mounted_ = true;
  }
  ~freezable_fs() {
    thaw();
    if (mounted_) test_support::run_command({"umount", "-l", mnt_.string()}, dir_.path());
  }
  freezable_fs(const freezable_fs&) = delete;
  freezable_fs& operator=(const freezable_fs&) = delete;

  const std::filesystem::path& path() const { return mnt_; }
  void freeze() {
    REQUIRE(test_support::run_command({"fsfreeze", "-f", mnt_.string()}, dir_.path()) == 0);
    frozen_ = true;
  }
  void thaw() {
    if (frozen_ && test_support::run_command({"fsfreeze", "-u", mnt_.string()}, dir_.path()) == 0) frozen_ = false;
  }
  std::string log_text() const { return test_support::read_file(dir_ / "commands.log"); }

 private:
  test_support::temp_dir dir_;
  std::filesystem::path mnt_ = dir_ / "mnt";
  bool mounted_ = false;
  bool frozen_ = false;
};

// Counts WATCHDOG=1 pings that arrive during the next `span` (earlier ones are skipped); also
// returns the longest silence between two of them (and the window's ends).
std::pair<int, std::chrono::milliseconds> pings_during(notify_socket& sd, std::chrono::milliseconds span) {
  int pings = 0;
  const auto start = steady::now();
  auto last = start;
  std::chrono::milliseconds longest{0};
  const auto end = start + span;
  for (auto now = steady::now(); now < end; now = steady::now()) {
    auto m = sd.next(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
    if (m && m->at >= start && m->text.find("WATCHDOG=1") != std::string::npos) {
      ++pings;
      longest = std::max(longest, std::chrono::duration_cast<std::chrono::milliseconds>(m->at - last));
      last = m->at;
    }
  }
  longest = std::max(longest, std::chrono::duration_cast<std::chrono::milliseconds>(end - last));
  return {pings, longest};
}

}  // namespace

TEST_CASE("the systemd watchdog is fed while the pipeline runs and starves while the outbox storage hangs") {
  constexpr int collars = 20;
  constexpr int total = 3000;
  test::rig rig(collars);
  freezable_fs storage;  // declared after the rig: thawed before the gateway is killed
  notify_socket sd(rig.dir / "notify.sock");

  auto s = rig.gateway->settings();
  s.outbox_dir = storage.path();
  // WatchdogSec=2: pings every second; the stall limit is its floor, 6 s.
  s.env = {{"NOTIFY_SOCKET", sd.path().string()}, {"WATCHDOG_USEC", "2000000"}};
  rig.gateway = std::make_unique<test::gateway_process>(s);
  rig.gateway->start();
  INFO(rig.gateway->log_text());
  INFO(sd.log());

  REQUIRE(sd.wait_for("READY=1", 10s));
  const auto [before, gap_before] = pings_during(sd, 3500ms);
  CHECK(before >= 2);
  CHECK(gap_before < 2500ms);

  // Readings keep coming while storage hangs: 150/s for 20 s.
  auto sim = rig.start_sim({"--collars", std::to_string(collars), "--count", std::to_string(total),
                            "--rate", "150", "--seed", "3"});
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  REQUIRE(reader.read_until([](const auto& r) { return r.size() >= 200; }, 30s));

  storage.freeze();
  // Within the stall limit (6 s) plus one ping interval the pings stop, and stay stopped.
  REQUIRE(sd.wait_for("forwarder stuck", 15s));
  const auto [during, gap_during] = pings_during(sd, 5s);
  CHECK(during == 0);
  CHECK(gap_during >= 5s);
  CHECK(rig.gateway->running());

  storage.thaw();
  const auto [after, gap_after] = pings_during(sd, 4s);
  CHECK(after >= 2);

  // Nothing was lost on the way: every reading reaches Kafka once storage answers again.
  REQUIRE(sim->wait_exit(120s) == 0);
  CHECK(test::read_distinct(reader, total, 120s));

  // This stop hung twice for over 60 s: the test read its notify socket only now and then, the
  // kernel queue filled, and libsystemd's blocking sd_notify() held herdgate's main loop, which
  // takes SIGTERM (now: never-blocking notifications, and a socket read all the time).
  CHECK(rig.gateway->stop() == 0);
  CHECK(sd.wait_for("STOPPING=1", 2s));
  MESSAGE("watchdog pings: " << before << " in 3.5 s before, " << during << " in 5 s while frozen, " << after
                             << " in 4 s after thawing");
}
