// Outbox benchmarks (issue 3), printed in one run so that ratios compare like with like:
//   1. bytes written to disk per event (/proc/self/io write_bytes) against the envelope size,
//      for each synchronous mode: SD-card wear on a Pi;
//   2. drain of an N-event backlog to the dev Kafka by herdgate's forwarder, and a raw librdkafka
//      producer sending the same records (key, value, headers) to an identical cluster: the limit;
//      beside them herdgate's own work per event without Kafka (read, headers, delete) and the
//      two in series, the ceiling of a forwarder doing both on one thread;
//   3. live latency (append -> seen by a Kafka consumer) of events of other animals appended at a
//      fixed rate while the backlog drains, for an unlimited and a rate-limited drain;
//   4. RSS of the herdgate daemon: steady state with 1,000 collars, and with the N-event backlog
//      (Kafka down, then while draining); its CPU time per event at ingest (synchronous = full and
//      normal) and while draining;
//   5. start-up time with the backlog in the outbox, after an unclean and after a clean stop.
// Usage: herd-bench-outbox [events=1000000] [live_rate=200] [limited_drain_rate=20000] [sections=12345]
// (sections: the numbers above to run; 2 runs 3 with it)
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
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

#include "bench_processes.hpp"
#include "proc_figures.hpp"
#include "herd/buffer/outbox.hpp"
#include "herd/core/logging.hpp"
#include "herd/core/uuid.hpp"
#include "herd/gateway/event_factory.hpp"
#include "herd/forwarder/cloudevents.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/failure_policy.hpp"

using namespace herd;
using namespace std::chrono_literals;
namespace ts = herd::test_support;
using herd::bench::cpu_of;
using herd::bench::cpu_times;
using herd::bench::rss_figures;
using herd::bench::rss_kb;
using steady = std::chrono::steady_clock;
using herd::bench::start_kafka;

namespace {

constexpr int k_backlog_animals = 1000;
constexpr int k_live_animals = 100;
constexpr int k_partitions = 6;  // of herd.events in the dev cluster (start_kafka)
constexpr std::string_view k_warm_up_key = "warm-up";  // animals 1001..1100: no backlog, so their events may go first

double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

std::string animal_id(int n) { return fmt::format("276{:012d}", n); }

// A realistic collar.reading.v1 envelope, as ingest makes it.
std::string make_event(const gateway::event_factory& factory, int animal, std::uint64_t seq, std::int64_t now_ms) {
  sensors::collar_reading r;
  r.farm_id = "farm-01";
  r.collar_id = fmt::format("C-{:05d}", animal);
  r.seq = static_cast<std::uint32_t>(seq);
  r.ts_ms = now_ms;
  r.temp_c = 38.62;
  r.steps = 123;
  r.rum_min = 4.5;
  r.interval_s = 600;
  r.batt_pct = 87;
  r.rssi_dbm = -71;
  gateway::envelope_meta meta{core::new_uuid_v4(), animal_id(animal), gateway::resolve_occurred_at(now_ms, now_ms),
                              now_ms, seq};
  return factory.collar_reading_event(r, meta).SerializeAsString();
}

// Bytes the process (by default this one) caused to be written to storage: /proc/<pid>/io
// write_bytes, whole pages dirtied in the page cache.
std::uint64_t process_write_bytes(const std::string& pid = "self") {
  std::ifstream in("/proc/" + pid + "/io");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return 0;
}

void print_cpu(const char* what, const cpu_times& before, const cpu_times& after, std::uint64_t n) {
  const double user = (after.user - before.user) / static_cast<double>(n) * 1e6;
  const double sys = (after.sys - before.sys) / static_cast<double>(n) * 1e6;
  std::printf("  %s: CPU %.1f us per event (user %.1f, sys %.1f) over %llu events\n", what, user + sys, user, sys,
              static_cast<unsigned long long>(n));
}

void print_rss(const char* what, const rss_figures& r, const char* peak_what = "peak") {
  std::printf("  %s: RSS %.1f (anonymous %.1f, files %.1f; PSS %.1f), %s %.1f\n", what, r.rss / 1024.0,
              r.anon / 1024.0, r.file / 1024.0, r.pss / 1024.0, peak_what, r.hwm / 1024.0);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}


std::unique_ptr<buffer::outbox> open_outbox(const std::string& path, buffer::sync_mode mode,
                                            std::uint32_t page_size = 0) {
  buffer::outbox_options o{.path = path, .synchronous = mode};
  if (page_size != 0) o.page_size = page_size;  // else the outbox's default
  o.max_bytes = 0;  // no quota: a backlog of 4.3 M events (~1.5 GB) is past the default 1 GiB
  auto ob = buffer::outbox::open(o);
  if (!ob) throw std::runtime_error(ob.err().message);
  return std::move(*ob);
}

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

// --- 2./3. drain ---------------------------------------------------------------------------------

// Reads a topic from the start on its own thread; calls `on` for each record.
class consumer {
 public:
  consumer(const std::string& bootstrap, const std::string& topic,
           std::function<void(const rd_kafka_message_t&)> on) : on_(std::move(on)) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "bench", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err);  // latency, not broker idling
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk_ == nullptr) throw std::runtime_error(err);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(6);
    for (int p = 0; p < k_partitions; ++p) rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk_, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    thread_ = std::thread([this] {
      while (!stop_) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 50);
        if (m == nullptr) continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          if (std::string_view(static_cast<const char*>(m->key), m->key_len) == k_warm_up_key) {
            warm_up_seen_.fetch_add(1);
          } else {
            on_(*m);
          }
        }
        rd_kafka_message_destroy(m);
      }
    });
  }
  // Records with the warm-up key seen (warm_up() below); not passed to `on`.
  int warm_up_seen() const { return warm_up_seen_.load(); }
  ~consumer() {
    stop_ = true;
    thread_.join();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }

 private:
  std::function<void(const rd_kafka_message_t&)> on_;
  rd_kafka_t* rk_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<int> warm_up_seen_{0};
  std::thread thread_;
};

// A consumer that has just been assigned its partitions still looks up where they begin and
// connects: ~0.5 s here before it fetches anything. Latency measured from append to this consumer
// would count that wait, so one record per partition is sent first and the measurement starts
// once the consumer has seen them all.
void warm_up(const std::string& bootstrap, const consumer& watch) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(err);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, "herd.events", nullptr);
  for (int p = 0; p < k_partitions; ++p) {
    rd_kafka_produce(topic, p, RD_KAFKA_MSG_F_COPY, nullptr, 0, k_warm_up_key.data(), k_warm_up_key.size(), nullptr);
  }
  rd_kafka_flush(rk, 10000);
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);
  if (!ts::wait_until([&] { return watch.warm_up_seen() >= k_partitions; }, 30s, 2ms)) {
    throw std::runtime_error("the latency consumer saw no warm-up record in 30 s");
  }
}

struct drain_result {
  double open_s = 0;  // open() of the copied backlog, which counts each animal's records in one pass
  double seconds = 0;
  double rate = 0;  // backlog events per second
  std::vector<double> live_ms;
};

drain_result drain_with_forwarder(const std::string& base, const std::string& path, std::uint64_t events,
                                  std::uint32_t drain_rate, std::size_t max_queued, int live_rate,
                                  const gateway::event_factory& factory) {
  std::filesystem::copy_file(base, path, std::filesystem::copy_options::overwrite_existing);
  auto kafka = start_kafka();
  drain_result out;
  // A restart after a crash: open() checks the file (quick_check) and counts each animal's records
  // in one pass over it (the copy has no clean-stop marker), so the drain's split needs no scan.
  // Timed apart.
  const auto open_t0 = steady::now();
  auto ob = open_outbox(path, buffer::sync_mode::full);  // the production default
  out.open_s = seconds_since(open_t0);
  std::mutex mu;
  std::map<std::uint64_t, steady::time_point> appended;  // live events: seq -> append time
  consumer watch(kafka->bootstrap(), "herd.events", [&](const rd_kafka_message_t& m) {
    const std::string key(static_cast<const char*>(m.key), m.key_len);
    if (key <= animal_id(k_backlog_animals)) return;  // a backlog event
    events::v1::EventEnvelope env;
    if (!env.ParseFromArray(m.payload, static_cast<int>(m.len))) return;
    std::lock_guard lock(mu);
    auto it = appended.find(env.gateway_seq());
    if (it == appended.end()) return;
    out.live_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - it->second).count());
    appended.erase(it);
  });
  warm_up(kafka->bootstrap(), watch);
  forwarder::forwarder_options fo;
  fo.bootstrap = kafka->bootstrap();
  fo.drain_rate = drain_rate;
  fo.drain_max_queued = max_queued;
  forwarder::forwarder fwd(fo, *ob, {}, gateway::decide_kafka);
  const auto t0 = steady::now();
  if (auto st = fwd.start(); !st) throw std::runtime_error(st.err().message);
  // Live events are those after the split: one appended before it is the backlog's last event,
  // and its animal's live events wait for the whole backlog, by design (a 1,000,000-event drain
  // at 20,000/s once showed a live max of 50 s from that race of the bench's own threads).
  ts::wait_until([&] { const auto s = fwd.stats(); return s.draining || s.drains > 0; }, 60s, 1ms);
  std::atomic<bool> stop_live{false};
  std::thread live([&] {
    const auto period = std::chrono::microseconds(1'000'000 / live_rate);
    auto next = steady::now();
    for (int i = 0; !stop_live; ++i) {
      const int animal = k_backlog_animals + 1 + i % k_live_animals;
      const auto now_ms = core::system_clock().now_ms();
      auto r = ob->append(animal_id(animal), "", [&](std::uint64_t seq) {
        std::lock_guard lock(mu);
        appended[seq] = steady::now();
        return make_event(factory, animal, seq, now_ms);
      });
      if (!r) throw std::runtime_error(r.err().message);
      fwd.notify();
      next += period;
      std::this_thread::sleep_until(next);
    }
  });
  // Live events keep coming until the backlog is drained; then everything is acknowledged.
  ts::wait_until([&] { return fwd.stats().drains >= 1; }, 3600s, 20ms);
  stop_live = true;
  live.join();
  // Drained = every event acknowledged by Kafka (the deletes follow within 1 s: not forwarding).
  const auto last = ob->last_seq();
  ts::wait_until([&] { return fwd.stats().acked_through >= last; }, 600s, 20ms);
  out.seconds = seconds_since(t0);
  out.rate = static_cast<double>(events) / out.seconds;
  ts::wait_until([&] { std::lock_guard lock(mu); return appended.empty(); }, 60s, 20ms);
  fwd.stop(5s);
  return out;
}

struct raw_record {
  std::string key, value;
  std::vector<std::pair<std::string, std::string>> headers;
};

double drain_with_raw_producer(const std::vector<raw_record>& records, const std::string& in_flight) {
  auto kafka = start_kafka();
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::map<std::string, std::string> props = {
      {"bootstrap.servers", kafka->bootstrap()}, {"enable.idempotence", "true"}, {"acks", "all"},
      {"partitioner", "murmur2_random"}, {"linger.ms", "5"}, {"message.timeout.ms", "0"},
      {"max.in.flight.requests.per.connection", in_flight}, {"queue.buffering.max.messages", "2000000"},
      {"queue.buffering.max.kbytes", "2097151"}};
  for (const auto& [k, v] : props) rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err);
  std::atomic<std::size_t> acked{0};
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) static_cast<std::atomic<std::size_t>*>(opaque)->fetch_add(1);
  });
  rd_kafka_conf_set_opaque(conf, &acked);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(err);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, "herd.events", nullptr);
  const auto t0 = steady::now();
  for (const auto& r : records) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(r.headers.size());
    for (const auto& [k, v] : r.headers) rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
    for (;;) {
      rd_kafka_vu_t vu[5] = {};
      vu[0].vtype = RD_KAFKA_VTYPE_RKT;
      vu[0].u.rkt = topic;
      vu[1].vtype = RD_KAFKA_VTYPE_KEY;
      vu[1].u.mem = {const_cast<char*>(r.key.data()), r.key.size()};
      vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[2].u.mem = {const_cast<char*>(r.value.data()), r.value.size()};
      vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vu[3].u.i = RD_KAFKA_MSG_F_COPY;
      vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
      vu[4].u.headers = hdrs;
      rd_kafka_error_t* e = rd_kafka_produceva(rk, vu, 5);
      if (e == nullptr) break;
      const bool full = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
      rd_kafka_error_destroy(e);
      if (!full) throw std::runtime_error("raw produce failed");
      rd_kafka_poll(rk, 5);
    }
    rd_kafka_poll(rk, 0);
  }
  while (acked.load() < records.size()) rd_kafka_poll(rk, 5);
  const double rate = static_cast<double>(records.size()) / seconds_since(t0);
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);
  return rate;
}

std::vector<raw_record> load_records(const std::string& path) {
  auto ob = open_outbox(path, buffer::sync_mode::normal);
  std::vector<raw_record> out;
  for (std::uint64_t after = 0;;) {
    auto rows = ob->peek(after, 10000);
    if (!rows || rows->empty()) break;
    for (auto& r : *rows) {
      events::v1::EventEnvelope env;
      env.ParseFromString(r.value);
      out.push_back({std::move(r.key), std::move(r.value), forwarder::cloudevents_headers(env)});
      after = r.seq;
    }
  }
  return out;
}

// herdgate's own work per backlog event without Kafka, on one thread as the forwarder does it:
// read the rows (peek, 500 at a time), parse each envelope and build its CloudEvents headers, and
// delete them (ack, 1,000 at a time as acked_rows gathers them), in a copy of the backlog opened
// with the production default (synchronous = full). Events per second.
double outbox_without_kafka(const std::string& base, const std::string& path) {
  std::filesystem::copy_file(base, path, std::filesystem::copy_options::overwrite_existing);
  auto ob = open_outbox(path, buffer::sync_mode::full);
  std::vector<std::uint64_t> acks;
  std::size_t headers = 0, events = 0;
  const auto t0 = steady::now();
  for (std::uint64_t after = 0;;) {
    auto rows = ob->peek(after, 500);
    if (!rows) throw std::runtime_error(rows.err().message);
    if (rows->empty()) break;
    for (const auto& r : *rows) {
      events::v1::EventEnvelope env;
      env.ParseFromString(r.value);
      headers += forwarder::cloudevents_headers(env).size();
      acks.push_back(r.seq);
      after = r.seq;
      if (acks.size() == 1000) {
        if (auto st = ob->ack(acks); !st) throw std::runtime_error(st.err().message);
        acks.clear();
      }
      ++events;
    }
  }
  if (auto st = ob->ack(acks); !st) throw std::runtime_error(st.err().message);
  const double rate = static_cast<double>(events) / seconds_since(t0);
  if (headers == 0) throw std::runtime_error("no headers built");
  return rate;
}

// --- 4. RSS of the daemon ------------------------------------------------------------------------

void rss(const std::filesystem::path& dir, const std::string& backlog_db, std::uint64_t events) {
  std::printf("\n4. RSS of the herdgate daemon (VmRSS / VmHWM, MiB; anonymous: what herdgate allocates; files:\n"
              "   its program and shared libraries' pages, clean and shared with other processes), and its CPU\n"
              "   time per event (/proc/<pid>/stat user + sys; ingest includes forwarding to Kafka)\n");
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
  {
    auto kafka = start_kafka();
    auto* mc = kafka->mock();
    for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc, b);
    const auto db = (dir / "rss-backlog.db").string();
    std::filesystem::copy_file(backlog_db, db, std::filesystem::copy_options::overwrite_existing);
    herd::bench::gateway_daemon d(dir, "rss-backlog", broker.uri(), kafka->bootstrap(), db, registry);
    std::this_thread::sleep_for(5s);  // Kafka down: the drain has started and is stuck
    print_rss("backlog waiting, Kafka down", rss_kb(d.proc->pid()));
    const auto cpu0 = cpu_of(d.proc->pid());
    for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(mc, b);
    const bool drained = ts::wait_until(
        [&] { return d.proc->log_text().find("backlog drained") != std::string::npos; }, 1800s, 200ms);
    const auto cpu1 = cpu_of(d.proc->pid());
    print_rss(drained ? "after draining it" : "after draining it (incomplete)", rss_kb(d.proc->pid()),
              "peak while draining");
    print_cpu("drain of the backlog", cpu0, cpu1, events);
    d.proc->signal(SIGTERM);
    d.proc->wait_exit(30s);
  }
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

// Sections 2 and 3 (see the top of this file).
void drains(const std::filesystem::path& dir, const std::string& base, std::uint64_t events, int live_rate,
            std::uint32_t limited, const gateway::event_factory& factory) {
  std::printf("\n2./3. Drain of the backlog to the dev Kafka (3 brokers, 6 partitions, acks=all) and live latency\n");
  std::printf("%-44s %10s %12s %10s %10s %10s %8s\n", "producer", "seconds", "events/s", "live p50", "live p99",
              "live max", "live n");
  const auto records = load_records(base);
  const double raw1 = drain_with_raw_producer(records, "1");
  std::printf("%-44s %10.1f %12.0f\n", "raw librdkafka, herdgate's settings (1 in flight)",
              static_cast<double>(events) / raw1, raw1);
  const double raw5 = drain_with_raw_producer(records, "5");
  std::printf("%-44s %10.1f %12.0f\n", "raw librdkafka, 5 in flight", static_cast<double>(events) / raw5, raw5);
  // What herdgate adds to each event, and the two in series on one thread (the forwarder's): the
  // ceiling of a forwarder that reads, produces and deletes on one thread.
  const double own = outbox_without_kafka(base, (dir / "own-work.db").string());
  std::printf("%-44s %10.1f %12.0f\n", "outbox alone: peek, headers, ack (no Kafka)", static_cast<double>(events) / own,
              own);
  const double serial = 1.0 / (1.0 / raw1 + 1.0 / own);
  std::printf("%-44s %10.1f %12.0f  (%.2f of raw(1))\n", "raw(1) and the outbox in series (1 thread)",
              static_cast<double>(events) / serial, serial, serial / raw1);
  const std::vector<std::pair<std::uint32_t, std::size_t>> runs = {{0U, 1000}, {0U, 2000}, {limited, 2000}};
  for (const auto& [rate, queued] : runs) {
    const auto r = drain_with_forwarder(base, (dir / fmt::format("drain-{}-{}.db", rate, queued)).string(), events,
                                        rate, queued, live_rate, factory);
    const std::string name = fmt::format("herdgate, drain_rate {}, max_queued {}", rate, queued);
    std::printf("%-44s %10.1f %12.0f %10.1f %10.1f %10.1f %8zu  (open %.2f s)\n", name.c_str(),
                r.seconds, r.rate, percentile(r.live_ms, 0.5), percentile(r.live_ms, 0.99),
                percentile(r.live_ms, 1.0), r.live_ms.size(), r.open_s);
  }
  std::printf("(events/s: backlog events over the time to produce and acknowledge them; forwarder ratio to raw(1): "
              "see above; live latency in ms from outbox append to a consumer)\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t events = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  const int live_rate = argc > 2 ? std::stoi(argv[2]) : 200;
  const auto limited = static_cast<std::uint32_t>(argc > 3 ? std::stoul(argv[3]) : 20000);
  const std::string sections = argc > 4 ? argv[4] : "12345";
  const auto run = [&](char section) { return sections.find(section) != std::string::npos; };
  core::setup_logging(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they are measured
  ts::temp_dir dir;  // under $TMPDIR (/tmp by default)
  const gateway::event_factory factory("bench-gw");
  std::printf("herdgate outbox benchmark: backlog of %llu events from %d animals, live events of %d other "
              "animals at %d/s while it drains\n",
              static_cast<unsigned long long>(events), k_backlog_animals, k_live_animals, live_rate);

  if (run('1')) bytes_per_event(dir.path(), factory);
  if (sections.find_first_of("2345") == std::string::npos) return 0;

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
  if (run('4')) rss(dir.path(), base, events);
  if (run('5')) startup(dir.path(), base, events);
  return 0;
}

