// Storage failures of the real herdgate on real file systems (issue 13): a full disk that frees
// up again, a read-only remount (ext4 errors=remount-ro), a page corrupted while running. Needs
// root (mount), as CI and the project's scripts run.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../integration/event_checks.hpp"
#include "../integration/http_probe.hpp"
#include "../integration/rig.hpp"
#include "notify_socket.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

// A small file system mounted under a temp dir: tmpfs of `size`, or ext4 on a loop device mounted
// with errors=remount-ro, which the test can make the kernel remount read-only.
class scratch_fs {
 public:
  enum class kind { tmpfs, ext4 };
  scratch_fs(kind k, const std::string& size) {
    std::filesystem::create_directory(mnt_);
    int mounted = -1;
    if (k == kind::tmpfs) {
      mounted = test_support::run_command({"mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt_.string()}, dir_.path());
    } else {
      const auto img = dir_ / "fs.img";
      REQUIRE(test_support::run_command({"truncate", "-s", size, img.string()}, dir_.path()) == 0);
      REQUIRE(test_support::run_command({"mkfs.ext4", "-q", "-F", img.string()}, dir_.path()) == 0);
      mounted = test_support::run_command({"mount", "-o", "loop,errors=remount-ro", img.string(), mnt_.string()}, dir_.path());
    }
    INFO("this test needs root (mount): ", log_text());
    REQUIRE(mounted == 0);
    mounted_ = true;
  }
  ~scratch_fs() {
    if (mounted_) test_support::run_command({"umount", "-l", mnt_.string()}, dir_.path());
  }
  scratch_fs(const scratch_fs&) = delete;
  scratch_fs& operator=(const scratch_fs&) = delete;
  const std::filesystem::path& path() const { return mnt_; }

  // Fills the file system with `name` until a write fails (ENOSPC).
  void fill(const std::string& name) {
    std::ofstream f(mnt_ / name, std::ios::binary);
    const std::string block(64 * 1024, 'x');
    while (f.write(block.data(), static_cast<std::streamsize>(block.size())) && f.flush()) {
    }
  }
  // What ext4 does on a metadata error with errors=remount-ro: the kernel remounts it read-only
  // under the open files (sysfs trigger_fs_error, the kernel's own test hook).
  void fail_to_readonly() {
    const auto dev = loop_device();
    REQUIRE(!dev.empty());
    std::ofstream("/sys/fs/ext4/" + dev + "/trigger_fs_error") << "1\n";
  }
  // Unmounts, repairs (e2fsck) and mounts the image read-write again, as an operator would.
  void repair() {
    REQUIRE(test_support::run_command({"umount", mnt_.string()}, dir_.path()) == 0);
    test_support::run_command({"e2fsck", "-fy", (dir_ / "fs.img").string()}, dir_.path());
    REQUIRE(test_support::run_command({"mount", "-o", "loop,errors=remount-ro", (dir_ / "fs.img").string(), mnt_.string()}, dir_.path()) == 0);
  }
  std::string log_text() const { return test_support::read_file(dir_ / "commands.log"); }

 private:
  std::string loop_device() {
    test_support::child_process p("/usr/bin/findmnt", {"-n", "-o", "SOURCE", mnt_.string()}, dir_.path(), {},
                                  "findmnt.log");
    REQUIRE(p.wait_exit(10s) == 0);
    std::string text = p.log_text();
    const auto slash = text.rfind('/');
    text = text.substr(slash == std::string::npos ? 0 : slash + 1);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }

  test_support::temp_dir dir_;
  std::filesystem::path mnt_ = dir_ / "mnt";
  bool mounted_ = false;
};

std::optional<test::http_reply> health(test::rig& rig) {
  return test::http_get(rig.gateway->metrics_address(), "/health");
}

}  // namespace

// Regression (issue 13, case 2): while every reading was refused (disk full), /health answered
// 200 ok with depth 0. Now ingest that is blocked shows in /health (cause, since when) and in the
// metrics (gauge, counter by cause), and everything arrives once space returns.
TEST_CASE("a full disk blocks ingest visibly and once space returns every reading arrives") {
  constexpr int collars = 20, total = 2000;
  scratch_fs fs(scratch_fs::kind::tmpfs, "8m");
  test::rig rig(collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  auto s = rig.gateway->settings();
  s.outbox_dir = fs.path();
  rig.gateway = std::make_unique<test::gateway_process>(s);
  rig.gateway->start();
  fs.fill("filler");
  auto sim = rig.start_sim({"--collars", std::to_string(collars), "--count", std::to_string(total), "--rate", "400",
                            "--seed", "4"});
  std::optional<test::http_reply> h;
  const bool blocked = test_support::wait_until([&] {
    h = health(rig);
    return h && h->status == 503 && h->body.find("ingest: storage refuses readings since") != std::string::npos;
  }, 30s);
  INFO(rig.gateway->log_text());
  INFO((h ? h->body : std::string("no answer")));
  REQUIRE(blocked);
  CHECK(h->body.find("outbox.full") != std::string::npos);
  const auto metrics = test::http_get(rig.gateway->metrics_address(), "/metrics");
  REQUIRE(metrics);
  CHECK(test::sample(metrics->body, "herdgate_ingest_blocked") == 1.0);
  CHECK(metrics->body.find("herdgate_storage_failures_total{step=\"ingest\",cause=\"outbox.full\"}") !=
        std::string::npos);

  std::filesystem::remove(fs.path() / "filler");  // space returns
  REQUIRE(sim->wait_exit(120s) == 0);
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  CHECK(test::read_distinct(reader, total, 120s));
  CHECK(test_support::wait_until([&] {
    h = health(rig);
    return h && h->status == 200;
  }, 20s));
  CHECK(rig.gateway->stop() == 0);
}

// Regression (issue 13, case 4): on a file system remounted read-only, ingest retried forever and
// the watchdog stayed fed. Fatal means: log it, STOPPING=1, exit non-zero (74) so systemd restarts
// herdgate; nothing acknowledged is lost (the broker redelivers what was not).
// Regression (after merging MQTT 5): with synchronous = normal the failing ext4 discards the
// commits of the last checkpoint interval (not yet fsynced). herdgate exited at once, so those of
// them still in flight to Kafka were lost (1-38 of 2,000 readings in 2 of 9 runs), and the restart
// handed their gateway_seqs out again (20-55 seqs reused in every run). Now the fatal exit first
// has Kafka acknowledge what the outbox still serves, and seqs are claimed in fsynced blocks.
TEST_CASE("the outbox's file system remounted read-only: herdgate exits 74, nothing acknowledged is lost") {
  constexpr int collars = 20, total = 2000;
  scratch_fs fs(scratch_fs::kind::ext4, "32M");
  test::rig rig(collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  test::notify_socket sd(rig.dir / "notify.sock");  // systemd's end
  auto s = rig.gateway->settings();
  s.outbox_dir = fs.path();
  s.env = {{"NOTIFY_SOCKET", sd.path().string()}};
  rig.gateway = std::make_unique<test::gateway_process>(s);
  rig.gateway->start();
  auto sim = rig.start_sim({"--collars", std::to_string(collars), "--count", std::to_string(total), "--rate", "400",
                            "--seed", "6"});
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  REQUIRE(reader.read_until([](const auto& r) { return r.size() >= 200; }, 30s));
  fs.fail_to_readonly();
  const auto status = rig.gateway->wait_exit(20s);
  INFO(rig.gateway->log_text());
  INFO(fs.log_text());
  REQUIRE(status);
  CHECK(*status == 74);
  INFO(sd.log());
  CHECK(sd.wait_for("STOPPING=1", 2s));  // systemd was told before the exit
  // EROFS from the next write, or EIO from an fsync that met the error first: both fatal.
  const auto log = rig.gateway->log_text();
  CHECK((log.find("fatal error (outbox.readonly)") != std::string::npos ||
         log.find("fatal error (outbox.io)") != std::string::npos));
  REQUIRE(sim->wait_exit(120s) == 0);

  fs.repair();
  rig.gateway->start();
  CHECK(test::read_distinct(reader, total, 120s));
  const auto events = test::decode_all(reader.records());
  CHECK(test::distinct_readings(events) == static_cast<std::size_t>(total));
  // The failed file system discarded the last commits (synchronous = normal: not yet fsynced)
  // while the forwarder had sent some of them: the sequence must not hand their seqs out again.
  CHECK(test::reused_gateway_seqs(events) == 0);
  CHECK(rig.gateway->stop() == 0);
}

// Regression (issue 13, case 4): a page found corrupt at run time left a zombie that kept retrying.
// Now the first read that meets it is fatal: exit 74; the next start quarantines the file.
TEST_CASE("a page corrupted while herdgate runs: it exits 74 and the next start quarantines the outbox") {
  constexpr int collars = 20, total = 1500;
  test::rig rig(collars, {"farm/+/collar/+/telemetry"}, {}, "normal");
  test::notify_socket sd(rig.dir / "notify.sock");  // systemd's end
  {
    auto s = rig.gateway->settings();
    s.env = {{"NOTIFY_SOCKET", sd.path().string()}};
    rig.gateway = std::make_unique<test::gateway_process>(s);
  }
  auto* mc = rig.kafka->mock();
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc, b);  // the rows stay in the outbox
  rig.gateway->start();
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", std::to_string(total), "--rate", "0",
                       "--seed", "7"}, 60s) == 0);
  const auto address = rig.gateway->metrics_address();
  REQUIRE(test_support::wait_until([&] {
    const auto m = test::http_get(address, "/metrics");
    return m && test::sample(m->body, "herdgate_ingested_total") == static_cast<double>(total);
  }, 30s));
  std::this_thread::sleep_for(2500ms);  // the timed checkpoints copy the WAL into the file (a duration)
  {
    // Every page after the first (the header and the schema stay) becomes garbage, as from a
    // failing SD card.
    const auto path = rig.gateway->outbox_path();
    const auto size = std::filesystem::file_size(path);
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(4096);
    std::mt19937 rng(3);
    for (std::uintmax_t i = 4096; i < size; ++i) f.put(static_cast<char>(rng()));
  }
  // More readings (a write restarts the WAL, so reads now come from the file), then a probe.
  REQUIRE(rig.run_sim({"--collars", std::to_string(collars), "--count", "40", "--rate", "0", "--seed", "8",
                       "--first-seq", "1000"}, 60s) == 0);
  std::optional<int> status;
  REQUIRE(test_support::wait_until([&] {
    (void)test::http_get(address, "/health");
    status = rig.gateway->wait_exit(100ms);
    return status.has_value();
  }, 20s));
  INFO(rig.gateway->log_text());
  CHECK(*status == 74);
  CHECK(rig.gateway->log_text().find("fatal error (outbox.corrupt)") != std::string::npos);
  INFO(sd.log());
  CHECK(sd.wait_for("STOPPING=1", 2s));  // systemd was told before the exit
  rig.gateway->start();
  CHECK(rig.gateway->log_text().find("was corrupt") != std::string::npos);
  CHECK(rig.gateway->stop() == 0);
}

// Regression (issue 13, case 3): an outside reader pinning the WAL (an operator's sqlite3 shell
// left in a transaction) let the -wal grow to 19 MB with max_bytes = 1 MiB, unseen by the quota,
// the log and /health. Now the WAL counts in the quota (ingest is held, visibly) and /health says
// why; once the shell is gone the WAL resets and every reading arrives.
TEST_CASE("an sqlite3 shell holding a read transaction on the outbox: bounded, visible, then everything arrives") {
  constexpr int collars = 20, total = 1500;
  test::rig rig(collars);
  auto s = rig.gateway->settings();
  s.outbox_extra = "max_bytes = 1048576\n";
  rig.gateway = std::make_unique<test::gateway_process>(s);
  rig.gateway->start();
  const auto outbox = rig.gateway->outbox_path();
  auto shell = std::make_optional<test_support::child_process>(
      "/usr/bin/sqlite3", std::vector<std::string>{outbox, "BEGIN", "SELECT count(*) FROM outbox",
                                                   ".shell echo in-transaction; sleep 120"},
      rig.dir.path(), std::map<std::string, std::string>{}, "sqlite3-shell.log");
  REQUIRE(test_support::wait_until([&] { return shell->log_text().find("in-transaction") != std::string::npos; }, 10s));
  auto sim = rig.start_sim({"--collars", std::to_string(collars), "--count", std::to_string(total), "--rate", "0",
                            "--seed", "9"});
  std::optional<test::http_reply> h;
  const bool pinned = test_support::wait_until([&] {
    h = health(rig);
    return h && h->status == 503 && h->body.find("cannot be reset") != std::string::npos;
  }, 30s, 100ms);
  INFO(rig.gateway->log_text());
  INFO((h ? h->body : std::string("no answer")));
  REQUIRE(pinned);
  const auto metrics = test::http_get(rig.gateway->metrics_address(), "/metrics");
  REQUIRE(metrics);
  CHECK(test::sample(metrics->body, "herdgate_outbox_wal_pinned") == 1.0);
  CHECK(rig.gateway->log_text().find("cannot be reset: another connection holds a read transaction") !=
        std::string::npos);
  // Bounded by the quota plus what one checkpoint interval (1 s) let in; unbounded, the 1,500
  // readings made it ~20 MB. Ingest is held meanwhile.
  CHECK(test_support::wait_until([&] {
    const auto m = test::http_get(rig.gateway->metrics_address(), "/metrics");
    return m && test::sample(m->body, "herdgate_ingest_blocked") == 1.0;
  }, 20s, 100ms));
  CHECK(std::filesystem::file_size(outbox + "-wal") < 8u * 1048576u);

  shell.reset();  // the operator closes the shell
  REQUIRE(sim->wait_exit(120s) == 0);
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  CHECK(test::read_distinct(reader, total, 120s));
  CHECK(test_support::wait_until([&] {
    h = health(rig);
    return h && h->status == 200;
  }, 30s, 100ms));
  CHECK(rig.gateway->log_text().find("WAL reset from") != std::string::npos);
  CHECK(test_support::wait_until([&] { return std::filesystem::file_size(outbox + "-wal") < 1048576u; }, 10s, 100ms));
  CHECK(rig.gateway->stop() == 0);
}
