#pragma once
// What the sections of herd-bench-outbox share (outbox_bench.cpp: sections 1, 4, 5 and main;
// outbox_drain_bench.cpp: sections 2 and 3): the herd of the backlog, a realistic envelope, the
// outbox as the benchmarks open it, and the figures' printing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "proc_figures.hpp"
#include "herd/buffer/outbox.hpp"
#include "herd/core/uuid.hpp"
#include "herd/gateway/event_factory.hpp"

namespace herd::bench {

using steady = std::chrono::steady_clock;

inline constexpr int k_backlog_animals = 1000;
inline constexpr int k_live_animals = 100;
inline constexpr int k_partitions = 6;  // of herd.events in the dev cluster (start_kafka)
inline constexpr std::string_view k_warm_up_key = "warm-up";  // animals 1001..1100: no backlog, so their events may go first

inline double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

inline std::string animal_id(int n) { return fmt::format("276{:012d}", n); }

// A realistic collar.reading.v1 envelope, as ingest makes it.
inline std::string make_event(const gateway::event_factory& factory, int animal, std::uint64_t seq, std::int64_t now_ms) {
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
inline std::uint64_t process_write_bytes(const std::string& pid = "self") {
  std::ifstream in("/proc/" + pid + "/io");
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return 0;
}

inline void print_cpu(const char* what, const cpu_times& before, const cpu_times& after, std::uint64_t n) {
  const double user = (after.user - before.user) / static_cast<double>(n) * 1e6;
  const double sys = (after.sys - before.sys) / static_cast<double>(n) * 1e6;
  std::printf("  %s: CPU %.1f us per event (user %.1f, sys %.1f) over %llu events\n", what, user + sys, user, sys,
              static_cast<unsigned long long>(n));
}

inline void print_rss(const char* what, const rss_figures& r, const char* peak_what = "peak") {
  std::printf("  %s: RSS %.1f (anonymous %.1f, files %.1f; PSS %.1f), %s %.1f\n", what, r.rss / 1024.0,
              r.anon / 1024.0, r.file / 1024.0, r.pss / 1024.0, peak_what, r.hwm / 1024.0);
}

inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}


inline std::unique_ptr<buffer::outbox> open_outbox(const std::string& path, buffer::sync_mode mode,
                                            std::uint32_t page_size = 0) {
  buffer::outbox_options o{.path = path, .synchronous = mode};
  if (page_size != 0) o.page_size = page_size;  // else the outbox's default
  o.max_bytes = 0;  // no quota: a backlog of 4.3 M events (~1.5 GB) is past the default 1 GiB
  auto ob = buffer::outbox::open(o);
  if (!ob) throw std::runtime_error(ob.err().message);
  return std::move(*ob);
}

// Sections 2 and 3 (outbox_drain_bench.cpp): the drain of the backlog in `base` (`events` events)
// by the forwarder against a raw producer and the outbox alone, and live latency meanwhile.
void drains(const std::filesystem::path& dir, const std::string& base, std::uint64_t events, int live_rate,
            std::uint32_t limited, const gateway::event_factory& factory);

}  // namespace herd::bench
