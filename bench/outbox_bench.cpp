// Outbox benchmarks (issue 3), printed in one run so that ratios compare like with like:
//   1. bytes written to disk per event (/proc/self/io write_bytes) against the envelope size,
//      for each synchronous mode: SD-card wear on a Pi;
//   2. drain of an N-event backlog to the dev Kafka by herdgate's forwarder, and a raw librdkafka
//      producer sending the same records (key, value, headers) to an identical cluster: the limit;
//      beside them herdgate's own work per event without Kafka (read, headers, delete) and the
//      two in series, the ceiling of a forwarder doing both on one thread, and the two at once on
//      two threads, the ceiling of one that overlaps them on this machine's cores;
//   3. live latency (append -> seen by a Kafka consumer) of events of other animals appended at a
//      fixed rate while the backlog drains, for an unlimited and a rate-limited drain;
//   4. RSS of the herdgate daemon: steady state with 1,000 collars, and with the N-event backlog
//      (Kafka down, then while draining); its CPU time per event at ingest (synchronous = full and
//      normal) and while draining;
//   5. start-up time with the backlog in the outbox, after an unclean and after a clean stop;
//   6. section 4's drain alone (RSS with the backlog, CPU per event draining it), for quick
//      before/after comparisons (HERD_GATEWAY_BINARY runs another build's herdgate).
// Sections 2 and 3 are in outbox_drain_bench.cpp, what they share with these in outbox_bench.hpp.
// Usage: herd-bench-outbox [events=1000000] [live_rate=200] [limited_drain_rate=20000] [sections=12345]
// (sections: the numbers above to run; 2 runs 3 with it; 4 runs 6 with it)
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/fault_vfs.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>
#include <CLI/CLI.hpp>

#include "bench_processes.hpp"
#include "outbox_bench.hpp"
#include "proc_figures.hpp"
#include "herd/buffer/outbox.hpp"
#include "herd/core/logging.hpp"
#include "herd/core/uuid.hpp"
#include "herd/gateway/event_factory.hpp"
#include "herd/forwarder/cloudevents.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/failure_policy.hpp"

using namespace herd;
using namespace herd::bench;
using namespace std::chrono_literals;
namespace ts = herd::test_support;

namespace {

// --- 1. bytes written per event ------------------------------------------------------------------

// The floor under any store that makes each reading durable before it is acknowledged: the
// envelope appended to a file in small writes (as SQLite writes its WAL), then fdatasync after
// every `sync_every` readings (1: each reading, as `full`; 2: once a second at 2 readings/s, as
// `normal`'s timer), or only once at the end (0). The kernel counts written bytes in whole pages
// (4 KiB; larger folios count whole, which is why the file is not preallocated in one big write),
// and a page synced clean is counted again when the next reading dirties it, so no store can go
// below one page per sync.
double floor_bytes_per_event(const std::filesystem::path& dir, std::size_t envelope, int n, int sync_every) {
  const auto path = (dir / fmt::format("floor-{}.bin", sync_every)).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("open " + path);
  const std::string value(envelope, 'x');
  const auto before = process_write_bytes();
  for (int i = 0; i < n; ++i) {
    const auto off = static_cast<off_t>(envelope * static_cast<std::size_t>(i));
    if (::pwrite(fd, value.data(), value.size(), off) != static_cast<ssize_t>(value.size())) {
      throw std::runtime_error("write " + path);
    }
    if (sync_every > 0 && (i + 1) % sync_every == 0 && ::fdatasync(fd) != 0) {
      throw std::runtime_error("fdatasync " + path);
    }
  }
  if (::fdatasync(fd) != 0) throw std::runtime_error("fdatasync " + path);
  const auto written = process_write_bytes() - before;
  ::close(fd);
  return static_cast<double>(written) / n;
}

struct wear {
  double envelope = 0, bytes = 0, syncs = 0;  // per reading
};

// `n` readings of 1,000 animals appended to a new outbox, back to back (`per_second` 0) or paced;
// the bytes the process wrote and the syncs, per reading, the close's checkpoint included.
wear measure_wear(const std::string& path, buffer::sync_mode mode, std::uint32_t page, int n, double per_second,
                  const gateway::event_factory& factory) {
  std::size_t payload = 0;
  const ts::fault_vfs counting(std::filesystem::path(path).filename().string());  // no fault: it counts
  const auto before = process_write_bytes();
  {
    auto ob = open_outbox(path, mode, page);
    const auto now = core::system_clock().now_ms();
    auto next = steady::now();
    for (int i = 0; i < n; ++i) {
      const int animal = 1 + i % k_backlog_animals;
      auto r = ob->append(animal_id(animal), fmt::format("farm-01/C-{:05d}/{}", animal, i), [&](std::uint64_t seq) {
        auto v = make_event(factory, animal, seq, now);
        payload += v.size();
        return v;
      });
      if (!r) throw std::runtime_error(r.err().message);
      if (per_second > 0) {
        next += std::chrono::microseconds(static_cast<std::int64_t>(1e6 / per_second));
        std::this_thread::sleep_until(next);
      }
    }
  }  // closed: the final checkpoint is counted too
  return {static_cast<double>(payload) / n, static_cast<double>(process_write_bytes() - before) / n,
          static_cast<double>(counting.syncs()) / n};
}

void bytes_per_event(const std::filesystem::path& dir, const gateway::event_factory& factory) {
  std::printf("\n1. Bytes written to disk per event (/proc/self/io write_bytes, incl. checkpoints and close), "
              "fsyncs per event (SQLite's xSync calls)\n");
  std::printf("%-8s %10s %-22s %8s %12s %16s %8s %12s\n", "sync", "page B", "pace", "events", "envelope B",
              "written B/event", "ratio", "fsyncs/event");
  const std::vector<std::pair<buffer::sync_mode, std::uint32_t>> runs = {
      {buffer::sync_mode::full, 1024}, {buffer::sync_mode::full, 4096},
      {buffer::sync_mode::normal, 1024}, {buffer::sync_mode::normal, 4096}};
  // Back to back (what a backlog from the broker looks like), and at a farm's pace: 1,000 head
  // reporting every 10 minutes is 1.7 readings/s, so with normal the 1-s timed checkpoint runs
  // after every reading or two instead of once per ~100 of them (with full, the WAL is copied at
  // half of wal_autocheckpoint_pages at either pace).
  const std::vector<std::pair<double, const char*>> paces = {{0.0, "back to back"}, {2.0, "2/s (1,200 head)"}};
  double envelope = 0;
  for (const auto& [per_second, pace_name] : paces) {
    for (const auto& [mode, page] : runs) {
      const int n = per_second > 0 ? 200 : (mode == buffer::sync_mode::full ? 5000 : 20000);
      const auto path = (dir / fmt::format("wear-{}-{}-{}.db", static_cast<int>(mode), page, per_second)).string();
      const wear w = measure_wear(path, mode, page, n, per_second, factory);
      envelope = w.envelope;
      std::printf("%-8s %10u %-22s %8d %12.0f %16.0f %8.1f %12.2f\n",
                  mode == buffer::sync_mode::full ? "full" : "normal", page, pace_name, n, w.envelope, w.bytes,
                  w.bytes / w.envelope, w.syncs);
    }
  }
  const auto size = static_cast<std::size_t>(envelope);
  const double synced = floor_bytes_per_event(dir, size, 5000, 1);
  const double per_second = floor_bytes_per_event(dir, size, 5000, 2);
  const double unsynced = floor_bytes_per_event(dir, size, 20000, 0);
  std::printf("floor: the envelope appended to a file, fdatasync after each: %.0f B/event (%.1fx); "
              "after every 2nd (once a second at 2/s, as normal's timer): %.0f B/event (%.1fx); "
              "one fdatasync at the end: %.0f B/event (%.1fx)\n",
              synced, synced / envelope, per_second, per_second / envelope, unsynced, unsynced / envelope);
}

// --- 4. RSS of the daemon ------------------------------------------------------------------------

// The floor under the daemon's RSS: peak RSS (MiB) of the same program with its shared libraries
// loaded and linked by ld.so (symbol tables, relocations, static initialisers) that prints its
// --help and exits, running none of the daemon. wait4's ru_maxrss, which also holds what the
// child had before its exec: the anonymous memory it shared with this process at the fork. So it
// is measured first thing in main(), and `parent_anon_mib` says what that was (the figure is
// the program's only when it is larger). 0 if the program could not run.
struct program_floor {
  double peak_mib = 0;
  double parent_anon_mib = 0;
};

program_floor loaded_program_floor() {
  program_floor out;
  out.parent_anon_mib = rss_kb(::getpid()).anon / 1024.0;
  auto cmd = ts::gateway_command({"--help"});  // built before the fork: the child only execs
  std::vector<char*> argv{cmd.program.data()};
  for (auto& a : cmd.args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return out;
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
    }
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  pid_t waited;
  while ((waited = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR) {
  }
  if (waited != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return out;
  out.peak_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  return out;
}

// The backlog part of section 4 (also alone as section 6, for quick before/after comparisons):
// the daemon's RSS with the backlog waiting (Kafka down), then while it drains, and its CPU per
// event for the drain, split between librdkafka's threads and herdgate's.
void daemon_drain(const std::filesystem::path& dir, const std::string& backlog_db, std::uint64_t events,
                  const ts::mosquitto_broker& broker, const std::string& registry) {
  auto kafka = start_kafka();
  auto* mc = kafka->mock();
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc, b);
  const auto db = (dir / "rss-backlog.db").string();
  std::filesystem::copy_file(backlog_db, db, std::filesystem::copy_options::overwrite_existing);
  herd::bench::gateway_daemon d(dir, "rss-backlog", broker.uri(), kafka->bootstrap(), db, registry);
  std::this_thread::sleep_for(5s);  // Kafka down: the drain has started and is stuck
  print_rss("backlog waiting, Kafka down", rss_kb(d.proc->pid()));
  const auto cpu0 = cpu_of(d.proc->pid());
  const auto rdk0 = threads_cpu(d.proc->pid(), "rdk:");
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(mc, b);
  const bool drained = ts::wait_until(
      [&] { return d.proc->log_text().find("backlog drained") != std::string::npos; }, 1800s, 200ms);
  const auto cpu1 = cpu_of(d.proc->pid());
  const auto rdk1 = threads_cpu(d.proc->pid(), "rdk:");
  print_rss(drained ? "after draining it" : "after draining it (incomplete)", rss_kb(d.proc->pid()),
            "peak while draining");
  print_cpu("drain of the backlog", cpu0, cpu1, events);
  // librdkafka's own threads (rdk:main, rdk:broker<N>: batching, the protocol, socket I/O): what
  // any producer of these records pays, whatever reads them from the outbox. The produce call
  // itself runs on the forwarder's thread and is in the rest.
  int exited = 0;
  const double rdk = threads_cpu_since(rdk0, rdk1, &exited);
  const double total = (cpu1.user + cpu1.sys) - (cpu0.user + cpu0.sys);
  std::printf("    of which librdkafka's threads %.1f us per event, herdgate's threads %.1f%s\n",
              rdk / static_cast<double>(events) * 1e6, (total - rdk) / static_cast<double>(events) * 1e6,
              exited > 0 ? fmt::format(" ({} librdkafka threads exited meanwhile: their share counts as "
                                       "herdgate's)", exited).c_str()
                         : "");
  d.proc->signal(SIGTERM);
  d.proc->wait_exit(30s);
}

void rss(const std::filesystem::path& dir, const std::string& backlog_db, std::uint64_t events,
         const program_floor& floor) {
  std::printf("\n4. RSS of the herdgate daemon (VmRSS / VmHWM, MiB; anonymous: what herdgate allocates; files:\n"
              "   its program and shared libraries' pages, clean and shared with other processes), and its CPU\n"
              "   time per event (/proc/<pid>/stat user + sys; ingest includes forwarding to Kafka)\n");
  std::printf("  floor: herdgate --help (program and shared libraries loaded and linked, nothing run): "
              "peak RSS %.1f (measured at the bench's start, its anonymous memory then %.1f)\n",
              floor.peak_mib, floor.parent_anon_mib);
  ts::mosquitto_broker broker;
  const auto registry = (dir / "collars-1000.csv").string();
  herd::bench::sim(dir, broker.uri(), {"--collars", "1000", "--count", "0", "--registry-out", registry})
      ->wait_exit(30s);
  for (const char* sync : {"full", "normal"}) {
    auto kafka = start_kafka();
    const std::string name = fmt::format("rss-live-{}", sync);
    herd::bench::gateway_daemon d(dir, name, broker.uri(), kafka->bootstrap(), (dir / (name + ".db")).string(),
                                  registry, "", fmt::format("synchronous = \"{}\"\n", sync));
    const auto cpu0 = cpu_of(d.proc->pid());
    // Every collar reports 30 times (at 2,000 readings/s rather than every 10 minutes, to get
    // there in 30 s); RSS is then measured at rest.
    constexpr std::uint64_t readings = 30000;
    herd::bench::sim(dir, broker.uri(), {"--collars", "1000", "--count", std::to_string(readings), "--rate", "2000",
                                         "--seed", "3"})
        ->wait_exit(120s);
    std::this_thread::sleep_for(5s);  // let the last deliveries settle: a measurement at rest
    print_rss(fmt::format("synchronous = {}, 1,000 collars, 30,000 readings forwarded", sync).c_str(),
              rss_kb(d.proc->pid()));
    print_cpu(fmt::format("synchronous = {}, ingest at 2,000 readings/s", sync).c_str(), cpu0, cpu_of(d.proc->pid()),
              readings);
    d.proc->signal(SIGTERM);
    d.proc->wait_exit(30s);
  }
  // The whole daemon at a farm's pace with Kafka online: each reading is appended, forwarded,
  // and deleted after Kafka acknowledged it (the deletes of one second in one transaction), so the
  // card sees the deletes too (section 1 counts appends only).
  for (const char* sync : {"full", "normal"}) {
    auto kafka = start_kafka();
    const std::string name = fmt::format("farm-pace-{}", sync);
    herd::bench::gateway_daemon d(dir, name, broker.uri(), kafka->bootstrap(), (dir / (name + ".db")).string(),
                                  registry, "", fmt::format("synchronous = \"{}\"\n", sync));
    const std::string pid = std::to_string(d.proc->pid());
    const auto cpu0 = cpu_of(d.proc->pid());
    const auto written0 = process_write_bytes(pid);
    constexpr std::uint64_t readings = 200;
    herd::bench::sim(dir, broker.uri(), {"--collars", "1000", "--count", std::to_string(readings), "--rate", "2",
                                         "--seed", "4"})
        ->wait_exit(300s);
    std::this_thread::sleep_for(3s);  // the last acknowledgement, delete and timed checkpoint
    const auto written = process_write_bytes(pid) - written0;
    std::printf("  synchronous = %s, whole daemon at 2 readings/s, Kafka online: %.0f bytes written per reading\n",
                sync, static_cast<double>(written) / readings);
    print_cpu(fmt::format("synchronous = {}, whole daemon at 2 readings/s", sync).c_str(), cpu0,
              cpu_of(d.proc->pid()), readings);
    d.proc->signal(SIGTERM);
    d.proc->wait_exit(30s);
  }
  daemon_drain(dir, backlog_db, events, broker, registry);
}

// --- 5. Start-up with a full outbox ----------------------------------------------------------------

// Drops the file's pages from the page cache (written back first), so the next read comes from
// the disk, as at boot.
void drop_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void startup(const std::filesystem::path& dir, const std::string& backlog_db, std::uint64_t events) {
  std::printf("\n5. Start-up with the backlog in the outbox (open() time, page cache dropped first)\n");
  const auto db = (dir / "startup.db").string();
  std::filesystem::copy_file(backlog_db, db, std::filesystem::copy_options::overwrite_existing);
  const double mb = static_cast<double>(std::filesystem::file_size(db)) / 1e6;
  for (const auto check : {buffer::start_check::always, buffer::start_check::after_unclean_stop}) {
    drop_cache(db);
    const auto t0 = steady::now();
    auto ob = buffer::outbox::open({.path = db, .synchronous = buffer::sync_mode::full, .check_at_start = check});
    if (!ob) throw std::runtime_error(ob.err().message);
    const double open_s = seconds_since(t0);
    const auto& rep = (*ob)->report();
    if (rep.checked) {
      std::printf("  after an unclean stop (whole-file quick_check): %.2f s for %.0f MB (%.0f MB/s); at 4.3 M events "
                  "(72 h of 1,000 head) ~%.1f s here, ~%.0f s at an SD card's 20 MB/s\n",
                  open_s, mb, mb / rep.check_seconds, open_s * 4.3e6 / static_cast<double>(events),
                  mb * 4.3e6 / static_cast<double>(events) / 20.0);
    } else {
      std::printf("  after a clean stop (check skipped): %.3f s\n", open_s);
    }
    const auto scrape_t0 = steady::now();
    const auto summary = (*ob)->backlog();  // what each /metrics scrape reads
    if (!summary || summary->events != events) throw std::runtime_error("backlog() disagrees with the backlog");
    std::printf("  then a /metrics scrape's backlog() of the %llu events: %.2f ms\n",
                static_cast<unsigned long long>(summary->events), seconds_since(scrape_t0) * 1000);
    (*ob)->mark_clean_stop();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t events = 1'000'000;
  int live_rate = 200;
  std::uint32_t limited = 20000;
  std::string sections = "12345";
  CLI::App app{"herdgate's outbox: bytes per reading, drain, live latency, RSS and CPU, start-up"};
  app.add_option("events", events, "backlog events")->check(CLI::PositiveNumber);
  app.add_option("live_rate", live_rate, "live events per second during the drain")->check(CLI::PositiveNumber);
  app.add_option("limited_drain_rate", limited, "drain_rate of the rate-limited drain, events/s")
      ->check(CLI::PositiveNumber);
  app.add_option("sections", sections, "the sections to run, e.g. 24")
      ->check(CLI::Validator([](const std::string& v) {
        return v.find_first_not_of("123456") == std::string::npos && !v.empty() ? std::string{}
                                                                                 : "digits 1-6 only";
      }, "SECTIONS"));
  CLI11_PARSE(app, argc, argv);
  const auto run = [&](char section) { return sections.find(section) != std::string::npos; };
  const program_floor floor = run('4') ? loaded_program_floor() : program_floor{};  // before this process grows
  core::setup_logging(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  ts::temp_dir dir;  // under $TMPDIR (/tmp by default)
  const gateway::event_factory factory("bench-gw");
  std::printf("herdgate outbox benchmark: backlog of %llu events from %d animals, live events of %d other "
              "animals at %d/s while it drains\n",
              static_cast<unsigned long long>(events), k_backlog_animals, k_live_animals, live_rate);

  if (run('1')) bytes_per_event(dir.path(), factory);
  if (sections.find_first_of("23456") == std::string::npos) return 0;

  // The backlog, built once (synchronous = off: set-up, not measured) and copied for each run.
  const auto base = (dir / "backlog.db").string();
  {
    auto ob = open_outbox(base, buffer::sync_mode::off);
    const auto now = core::system_clock().now_ms();
    const auto t0 = steady::now();
    for (std::uint64_t i = 0; i < events; ++i) {
      const int animal = 1 + static_cast<int>(i % k_backlog_animals);
      auto r = ob->append(animal_id(animal), "", [&](std::uint64_t seq) { return make_event(factory, animal, seq, now); });
      if (!r) throw std::runtime_error(r.err().message);
    }
    std::printf("\n(backlog built in %.1f s, %.0f MB)\n", seconds_since(t0),
                static_cast<double>(std::filesystem::file_size(base)) / 1e6);
  }

  if (run('2')) drains(dir.path(), base, events, live_rate, limited, factory);
  if (run('4')) {
    rss(dir.path(), base, events, floor);
  } else if (run('6')) {
    std::printf("\n6. The herdgate daemon draining the backlog (section 4's last part)\n");
    ts::mosquitto_broker broker;
    const auto registry = (dir.path() / "collars-1000.csv").string();
    herd::bench::sim(dir.path(), broker.uri(), {"--collars", "1000", "--count", "0", "--registry-out", registry})
        ->wait_exit(30s);
    daemon_drain(dir.path(), base, events, broker, registry);
  }
  if (run('5')) startup(dir.path(), base, events);
  return 0;
}

