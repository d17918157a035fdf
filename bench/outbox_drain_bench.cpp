// herd-bench-outbox, sections 2 and 3 (see outbox_bench.cpp): the drain of a backlog to the dev
// Kafka by herdgate's forwarder beside a raw librdkafka producer and the outbox's own work, and the
// latency of live events of other animals meanwhile.
#include <librdkafka/rdkafka.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/wait_until.hpp>

#include "bench_processes.hpp"
#include "outbox_bench.hpp"
#include "proc_figures.hpp"
#include "herd/buffer/outbox.hpp"
#include "herd/core/clock.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/forwarder/cloudevents.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/failure_policy.hpp"

namespace herd::bench {

using namespace std::chrono_literals;
namespace ts = herd::test_support;

namespace {

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

// A drain step measured alone: events/s (wall time) and CPU µs per event (this process).
struct alone_figures {
  double rate = 0;
  double cpu_us = 0;
  // The raw producer only: the CPU of its own threads (the producing thread and the librdkafka
  // threads of its handle), without the mock cluster's: what any producer of these records pays
  // on a gateway whose Kafka is elsewhere, µs per event.
  double client_cpu_us = 0;
};

// This thread's CPU time so far, seconds (CLOCK_THREAD_CPUTIME_ID).
double this_thread_cpu_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Of `threads` (threads_cpu), those whose tid is not in `existing`: a handle's threads, started
// after `existing` was taken.
std::map<long, double> new_threads(const std::map<long, double>& threads, const std::map<long, double>& existing) {
  std::map<long, double> out;
  for (const auto& [tid, s] : threads) {
    if (existing.count(tid) == 0) out[tid] = s;
  }
  return out;
}

struct drain_result {
  double open_s = 0;  // open() of the copied backlog, which counts each animal's records in one pass
  double seconds = 0;
  double rate = 0;  // backlog events per second
  // This process's CPU (user + sys, all threads: the forwarder, librdkafka, the mock cluster, the
  // latency consumer, the live appender) from the forwarder's start to the last acknowledgement,
  // µs per backlog event.
  double cpu_us = 0;
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
  const double cpu0 = self_cpu_s();
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
  out.cpu_us = (self_cpu_s() - cpu0) / static_cast<double>(events) * 1e6;
  ts::wait_until([&] { std::lock_guard lock(mu); return appended.empty(); }, 60s, 20ms);
  fwd.stop(5s);
  return out;
}

struct raw_record {
  std::string key, value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The raw producer's rate and this process's CPU per event (the producer and the mock cluster).
// `start`, when given, is called once everything is set up, right before the timed part (a
// barrier shared with another measurement that runs at the same time).
alone_figures drain_with_raw_producer(const std::vector<raw_record>& records, const std::string& in_flight,
                                      const std::function<void()>& start = {}) {
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
  const auto before_handle = threads_cpu(::getpid(), "rdk:");  // the mock cluster's and others
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(err);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, "herd.events", nullptr);
  if (start) start();
  const auto t0 = steady::now();
  const double cpu0 = self_cpu_s();
  const double thread0 = this_thread_cpu_s();
  const auto client0 = new_threads(threads_cpu(::getpid(), "rdk:"), before_handle);
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
  const double cpu_us = (self_cpu_s() - cpu0) / static_cast<double>(records.size()) * 1e6;
  const double client_s = (this_thread_cpu_s() - thread0) +
                          threads_cpu_since(client0, new_threads(threads_cpu(::getpid(), "rdk:"), before_handle));
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);
  return {rate, cpu_us, client_s / static_cast<double>(records.size()) * 1e6};
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
// with the production default (synchronous = full).
alone_figures outbox_without_kafka(const std::string& base, const std::string& path,
                                   const std::function<void()>& start = {}) {
  std::filesystem::copy_file(base, path, std::filesystem::copy_options::overwrite_existing);
  auto ob = open_outbox(path, buffer::sync_mode::full);
  std::vector<std::uint64_t> acks;
  std::size_t headers = 0, events = 0;
  forwarder::cloudevents_builder builder;  // as the forwarder builds them
  std::vector<buffer::record> rows;        // read as the forwarder reads them
  if (start) start();
  const auto t0 = steady::now();
  const double cpu0 = self_cpu_s();
  for (std::uint64_t after = 0;;) {
    if (auto st = ob->peek(after, 500, rows); !st) throw std::runtime_error(st.err().message);
    if (rows.empty()) break;
    for (const auto& r : rows) {
      const auto* h = builder.build(r.value);
      if (h == nullptr) throw std::runtime_error("not an envelope");
      headers += h->size();
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
  const double cpu_us = (self_cpu_s() - cpu0) / static_cast<double>(events) * 1e6;
  if (headers == 0) throw std::runtime_error("no headers built");
  return {rate, cpu_us};
}

// The floor under any SQLite outbox's share of a drain: the same file read in seq order with plain
// sqlite3 calls (SELECT ... WHERE seq > ? ORDER BY seq LIMIT 500, key and value copied out) and its
// rows deleted 1,000 per transaction at synchronous = NORMAL (herdgate's acknowledgement deletes),
// `by_range`: one DELETE ... WHERE seq BETWEEN first AND last per transaction, else one DELETE per
// row by seq. No dedup, no envelope parsing, no headers.
alone_figures bare_sqlite_read_delete(const std::string& base, const std::string& path, bool by_range) {
  std::filesystem::copy_file(base, path, std::filesystem::copy_options::overwrite_existing);
  sqlite3* db = nullptr;
  sqlite3_stmt* sel = nullptr;
  sqlite3_stmt* del = nullptr;
  sqlite3_stmt* left = nullptr;
  struct closer {  // every path, exceptions included: a WAL left open would meet the next copy
    sqlite3*& db;
    sqlite3_stmt*& a;
    sqlite3_stmt*& b;
    sqlite3_stmt*& c;
    ~closer() {
      for (auto* st : {a, b, c}) sqlite3_finalize(st);
      sqlite3_close(db);
    }
  } close_all{db, sel, del, left};
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("open " + path);
  const auto exec = [&](const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db));
    }
  };
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec("PRAGMA secure_delete=FAST");
  exec("PRAGMA wal_autocheckpoint=500");  // the outbox copies its WAL at half of its 1,000 pages
  sqlite3_prepare_v2(db, "SELECT seq, key, value, created_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT 500", -1,
                     &sel, nullptr);
  sqlite3_prepare_v2(db, by_range ? "DELETE FROM outbox WHERE seq BETWEEN ? AND ?" : "DELETE FROM outbox WHERE seq = ?",
                     -1, &del, nullptr);
  if (sel == nullptr || del == nullptr) throw std::runtime_error(sqlite3_errmsg(db));
  std::vector<std::int64_t> acks;
  const auto delete_acks = [&] {
    if (acks.empty()) return;
    exec("BEGIN");
    if (by_range) {
      sqlite3_bind_int64(del, 1, acks.front());
      sqlite3_bind_int64(del, 2, acks.back());
      sqlite3_step(del);
      sqlite3_reset(del);
    } else {
      for (const auto seq : acks) {
        sqlite3_bind_int64(del, 1, seq);
        sqlite3_step(del);
        sqlite3_reset(del);
      }
    }
    exec("COMMIT");
    acks.clear();
  };
  std::size_t events = 0, bytes = 0;
  const auto t0 = steady::now();
  const double cpu0 = self_cpu_s();
  for (std::int64_t after = 0;;) {
    sqlite3_bind_int64(sel, 1, after);
    std::size_t rows = 0;
    while (sqlite3_step(sel) == SQLITE_ROW) {
      ++rows;
      after = sqlite3_column_int64(sel, 0);
      const std::string key(static_cast<const char*>(sqlite3_column_blob(sel, 1)),
                            static_cast<std::size_t>(sqlite3_column_bytes(sel, 1)));
      const std::string value(static_cast<const char*>(sqlite3_column_blob(sel, 2)),
                              static_cast<std::size_t>(sqlite3_column_bytes(sel, 2)));
      bytes += key.size() + value.size();
      acks.push_back(after);
      if (acks.size() == 1000) delete_acks();
    }
    sqlite3_reset(sel);
    if (rows == 0) break;
    events += rows;
  }
  delete_acks();
  const double rate = static_cast<double>(events) / seconds_since(t0);
  const double cpu_us = (self_cpu_s() - cpu0) / static_cast<double>(events) * 1e6;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox", -1, &left, nullptr);
  if (left == nullptr || sqlite3_step(left) != SQLITE_ROW || sqlite3_column_int64(left, 0) != 0) {
    throw std::runtime_error("bare SQLite: rows left after the deletes");
  }
  if (bytes == 0) throw std::runtime_error("no rows read");
  return {rate, cpu_us};
}

}  // namespace

// Sections 2 and 3 (see the top of this file).
void drains(const std::filesystem::path& dir, const std::string& base, std::uint64_t events, int live_rate,
            std::uint32_t limited, const gateway::event_factory& factory) {
  std::printf("\n2./3. Drain of the backlog to the dev Kafka (3 brokers, 6 partitions, acks=all) and live latency\n");
  std::printf("%-44s %10s %12s %10s %10s %10s %8s\n", "producer", "seconds", "events/s", "live p50", "live p99",
              "live max", "live n");
  const auto records = load_records(base);
  const auto raw1_figures = drain_with_raw_producer(records, "1");
  const double raw1 = raw1_figures.rate;
  std::printf("%-44s %10.1f %12.0f  (CPU %.1f us/event; the producer's own threads %.1f, the rest the mock "
              "cluster's)\n", "raw librdkafka, herdgate's settings (1 in flight)",
              static_cast<double>(events) / raw1, raw1, raw1_figures.cpu_us, raw1_figures.client_cpu_us);
  const auto raw5 = drain_with_raw_producer(records, "5");
  std::printf("%-44s %10.1f %12.0f  (CPU %.1f us/event)\n", "raw librdkafka, 5 in flight",
              static_cast<double>(events) / raw5.rate, raw5.rate, raw5.cpu_us);
  // What herdgate adds to each event, and the two in series on one thread (the forwarder's): the
  // ceiling of a forwarder that reads, produces and deletes on one thread.
  const auto alone = outbox_without_kafka(base, (dir / "own-work.db").string());
  const double own = alone.rate;
  std::printf("%-44s %10.1f %12.0f  (%.2f of raw(1); CPU %.1f us/event)\n", "outbox alone: peek, headers, ack (no Kafka)",
              static_cast<double>(events) / own, own, own / raw1, alone.cpu_us);
  for (const bool by_range : {false, true}) {
    const auto bare = bare_sqlite_read_delete(base, (dir / "bare-sqlite.db").string(), by_range);
    std::printf("%-44s %10.1f %12.0f  (%.2f of raw(1); CPU %.1f us/event)\n",
                by_range ? "floor: bare SQLite read, range delete" : "floor: bare SQLite read, delete by seq",
                static_cast<double>(events) / bare.rate, bare.rate, bare.rate / raw1, bare.cpu_us);
  }
  const double serial = 1.0 / (1.0 / raw1 + 1.0 / own);
  std::printf("%-44s %10.1f %12.0f  (%.2f of raw(1))\n", "raw(1) and the outbox in series (1 thread)",
              static_cast<double>(events) / serial, serial, serial / raw1);
  // The ceiling of a forwarder that overlaps the two on two threads: both run at once, on this
  // machine's cores shared with the in-process brokers, from one start (each sets itself up
  // first, then waits for the other), and the one that ends last sets the rate.
  {
    std::barrier both(2);
    std::atomic<bool> own_arrived{false};
    auto outbox_side = std::async(std::launch::async, [&] {
      try {
        return outbox_without_kafka(base, (dir / "own-work-2.db").string(), [&] {
                 own_arrived = true;
                 both.arrive_and_wait();
               }).rate;
      } catch (...) {
        if (!own_arrived) both.arrive_and_drop();  // the raw side must not wait for it
        throw;
      }
    });
    double raw_beside = 0;
    bool raw_arrived = false;
    try {
      raw_beside = drain_with_raw_producer(records, "1", [&] {
                     raw_arrived = true;
                     both.arrive_and_wait();
                   }).rate;
    } catch (...) {
      if (!raw_arrived) both.arrive_and_drop();
      outbox_side.wait();
      throw;
    }
    const double own_beside = outbox_side.get();
    const double overlapped = std::min(raw_beside, own_beside);
    std::printf("%-44s %10.1f %12.0f  (%.2f of raw(1); raw %.0f and outbox %.0f events/s side by side)\n",
                "raw(1) and the outbox at once (2 threads)", static_cast<double>(events) / overlapped, overlapped,
                overlapped / raw1, raw_beside, own_beside);
  }
  const std::vector<std::pair<std::uint32_t, std::size_t>> runs = {{0U, 1000}, {0U, 2000}, {limited, 2000}};
  for (const auto& [rate, queued] : runs) {
    const auto r = drain_with_forwarder(base, (dir / fmt::format("drain-{}-{}.db", rate, queued)).string(), events,
                                        rate, queued, live_rate, factory);
    const std::string name = fmt::format("herdgate, drain_rate {}, max_queued {}", rate, queued);
    std::printf("%-44s %10.1f %12.0f %10.1f %10.1f %10.1f %8zu  (%.2f of raw(1); CPU %.1f us/event; open %.2f s)\n",
                name.c_str(), r.seconds, r.rate, percentile(r.live_ms, 0.5), percentile(r.live_ms, 0.99),
                percentile(r.live_ms, 1.0), r.live_ms.size(), r.rate / raw1, r.cpu_us, r.open_s);
  }
  std::printf("(events/s: backlog events over the time to produce and acknowledge them; live latency in ms from "
              "outbox append to a consumer; CPU: this process, user + sys over backlog events: raw runs count the "
              "producer and the mock cluster, herdgate's also the latency consumer reading every event; the "
              "polling waits grow with wall time, so a loaded machine adds a little)\n");
}

}  // namespace herd::bench
