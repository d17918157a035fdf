// herd-api read latency on a realistic read model (issue 11): --head animals x --days of history
// (a reading every 10 min per animal in the event store, folded states, alerts), for SQLite and
// PostgreSQL, while a writer applies new events through the projector's applier at full speed.
// Prints p50 / p99 of the active-alerts and herd-summary endpoints and of one animal's whole
// history (30 days = 4,320 events, one page), through service::handle (query + JSON, no socket),
// beside the bare read-model query (the store's ceiling) measured in the same run.
//   herd-bench-api [--head 1000] [--days 30] [--requests 300] [--backend sqlite|postgresql|both]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <random>
#include <thread>

#include "envelopes.hpp"
#include "herd/api/service.hpp"
#include "herd/core/time_format.hpp"
#include "herd/projector/applier.hpp"
#include "herd/projector/state_rows.hpp"
#include "herd/read_model/sqlite_store.hpp"
#include "herd/rules/fold.hpp"
#include "herd/test_support/temp_dir.hpp"
#ifdef HERD_WITH_POSTGRESQL
#include <herd/test_support/postgres_server.hpp>

#include "herd/read_model/pg_store.hpp"
#endif

namespace {

using clk = std::chrono::steady_clock;
using herd::read_model::store;
constexpr std::int64_t k_start_ms = 1'780'000'000'000;
constexpr int k_per_day = 144;

template <class T>
T must(herd::core::result<T> r, const char* what) {
  if (!r) {
    fmt::print(stderr, "{}: {}\n", what, r.err().message);
    std::exit(1);
  }
  return std::move(*r);
}

std::string animal_id(int a) { return fmt::format("DE{:09d}", 100000 + a); }

herd::test_envelopes::reading reading_of(int a, int n, const std::string& prefix) {
  herd::test_envelopes::reading r;
  r.animal = animal_id(a);
  r.collar = fmt::format("C{:06d}", a);
  r.seq = static_cast<std::uint32_t>(n + 1);
  r.event_id = fmt::format("{}-{}-{}", prefix, a, n);
  r.occurred_ms = k_start_ms + std::int64_t{n} * 600'000 + a * 50;
  r.temp_c = 38.5 + 0.01 * ((n * 7 + a * 3) % 30);
  r.steps = static_cast<std::uint32_t>(150 + (n * 13 + a) % 200);
  r.rum_min = 3.0 + ((n + a) % 4);
  return r;
}

// Fills the read model: event store, animal rows (one folded 30-day state, re-labelled per
// animal), ~2 alerts per animal over the period (5 % of animals with an open one), progress.
void fill(store& s, int head, int days) {
  const auto t0 = clk::now();
  herd::rules::animal_state ref;
  for (int n = 0; n < days * k_per_day; ++n) {
    herd::events::v1::EventEnvelope e;
    e.ParseFromString(herd::test_envelopes::collar_envelope(reading_of(0, n, "ref")));
    herd::rules::apply(ref, e);
  }
  std::mt19937 rng(7);
  const int per_txn = 40;  // animals per transaction
  for (int a0 = 0; a0 < head; a0 += per_txn) {
    auto t = must(s.begin(), "begin");
    std::vector<herd::read_model::stored_event> ev;
    std::vector<herd::read_model::animal_row> rows;
    std::vector<herd::read_model::alert_row> alerts;
    for (int a = a0; a < std::min(head, a0 + per_txn); ++a) {
      for (int n = 0; n < days * k_per_day; ++n) {
        const auto r = reading_of(a, n, "b");
        herd::read_model::stored_event e;
        e.event_id = r.event_id;
        e.animal_id = r.animal;
        e.event_type = "collar.reading.v1";
        e.occurred_at_us = r.occurred_ms * 1000;
        e.ingested_at_us = e.occurred_at_us + 1'500'000;
        e.gateway_id = "gw-1";
        e.gateway_seq = r.seq;
        e.envelope = herd::test_envelopes::collar_envelope(r);
        e.topic = "herd.events";
        e.partition = a % 6;
        e.offset = n;
        ev.push_back(std::move(e));
      }
      auto st = ref;
      st.animal_id = animal_id(a);
      rows.push_back(herd::projector::to_row(st, "herd.events", a % 6));
      for (int k = 0; k < 2; ++k) {
        herd::rules::alert al;
        al.kind = static_cast<herd::rules::alert_kind>(1 + rng() % 8);
        al.severity = static_cast<herd::rules::alert_severity>(1 + rng() % 3);
        al.started_at_ms = k_start_ms + static_cast<std::int64_t>(rng() % static_cast<unsigned>(days)) * 86'400'000;
        al.alert_id = fmt::format("{}:{}:{}", animal_id(a), herd::rules::to_string(al.kind), al.started_at_ms);
        al.updated_at_ms = al.started_at_ms + 3'600'000;
        al.evidence = "bench";
        const bool open = k == 0 && a % 20 == 0;
        if (!open) al.resolved_at_ms = al.started_at_ms + 7'200'000;
        alerts.push_back(herd::projector::to_row(animal_id(a), al));
      }
    }
    must(t->append_events(ev), "append");
    if (auto st = t->upsert_animals(rows); !st) must(herd::core::result<int>(st.err()), "animals");
    if (auto st = t->upsert_alerts(alerts); !st) must(herd::core::result<int>(st.err()), "alerts");
    if (auto st = t->commit(); !st) must(herd::core::result<int>(st.err()), "commit");
  }
  std::vector<herd::read_model::partition_progress> pr;
  for (int p = 0; p < 6; ++p) pr.push_back({"herd.events", p, 1000, (k_start_ms + days * 86'400'000LL) * 1000, 0, 0, 0, 0, 0});
  auto t = must(s.begin(), "begin");
  if (auto st = t->add_progress(pr); !st) must(herd::core::result<int>(st.err()), "progress");
  if (auto st = t->commit(); !st) must(herd::core::result<int>(st.err()), "commit");
  fmt::print("  filled {} head x {} days ({} events) in {:.1f} s\n", head, days,
             std::int64_t{head} * days * k_per_day,
             std::chrono::duration<double>(clk::now() - t0).count());
}

struct stats {
  double p50 = 0, p99 = 0;
};
stats percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
  return {at(0.50), at(0.99)};
}

template <class Fn>
stats time_it(int n, Fn&& fn) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const auto t = clk::now();
    fn(i);
    ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - t).count());
  }
  return percentiles(ms);
}

void run(const char* name, herd::api::api_config config, const std::function<std::unique_ptr<store>()>& open, int head,
         int days, int requests) {
  fmt::print("{}:\n", name);
  auto s = open();
  fill(*s, head, days);
  // The writer: the projector's applier on its own connection, new animals, batches of 500.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> written{0};
  std::thread writer([&] {
    auto ws = open();
    herd::projector::applier ap(*ws);
    if (!ap.load_positions()) return;
    std::vector<std::int64_t> next(6, 1000);
    for (int n = 0; !stop; ++n) {
      std::vector<herd::projector::record> batch;
      for (int a = 0; a < 500; ++a) {
        const int animal = head + a;
        const int p = animal % 6;
        batch.push_back({"herd.events", p, next[static_cast<std::size_t>(p)]++, animal_id(animal),
                         herd::test_envelopes::collar_envelope(reading_of(animal, n, "w"))});
      }
      auto o = ap.prepare(batch);
      if (!o || *o != herd::projector::applier::outcome::ready || !ap.commit()) return;
      written += batch.size();
    }
  });
  herd::api::queries_pool pool(herd::api::make_opener(config), 2);
  const std::int64_t now = k_start_ms + std::int64_t{days} * 86'400'000 + 60'000;
  herd::api::service svc(config, pool, nullptr, [now] { return now; });
  auto call = [&](const std::string& path, const std::multimap<std::string, std::string>& q) {
    herd::api::request r;
    r.method = "GET";
    r.path = path;
    r.query = q;
    auto res = svc.handle(r);
    if (res.status != 200) {
      fmt::print(stderr, "{} -> {} {}\n", path, res.status, res.body.substr(0, 200));
      std::exit(1);
    }
    return res.body.size();
  };
  std::mt19937 rng(11);
  const auto w0 = written.load();
  const auto t0 = clk::now();
  auto lease = must(pool.get(), "pool");
  herd::read_model::alert_filter active;
  active.active_only = true;
  const auto raw_alerts = time_it(requests, [&](int) { must(lease->alerts(active), "alerts"); });
  const auto api_alerts = time_it(requests, [&](int) { call("/api/v1/alerts", {}); });
  const auto raw_summary = time_it(requests, [&](int) {
    must(lease->count_animals(), "count");
    must(lease->count_active_alerts(), "count");
  });
  const auto api_summary = time_it(requests, [&](int) { call("/api/v1/summary", {}); });
  const std::string from = herd::core::iso8601_utc_ms(k_start_ms);
  const std::string to = herd::core::iso8601_utc_ms(k_start_ms + std::int64_t{days} * 86'400'000);
  std::size_t bytes = 0;
  const int hist_n = std::max(20, requests / 5);
  const auto raw_hist = time_it(hist_n, [&](int) {
    must(lease->animal_events(animal_id(static_cast<int>(rng() % static_cast<unsigned>(head))), k_start_ms * 1000,
                              (k_start_ms + std::int64_t{days} * 86'400'000) * 1000, 0, 5000),
         "events");
  });
  const auto api_hist = time_it(hist_n, [&](int) {
    bytes = call("/api/v1/animals/" + animal_id(static_cast<int>(rng() % static_cast<unsigned>(head))) + "/history",
                 {{"from", from}, {"to", to}, {"limit", "5000"}});
  });
  const double secs = std::chrono::duration<double>(clk::now() - t0).count();
  stop = true;
  writer.join();
  fmt::print("  writer (projector applier, same read model) during the reads: {:.0f} events/s\n",
             static_cast<double>(written.load() - w0) / secs);
  fmt::print("  {:<34} {:>9} {:>9}   {:>13} {:>13}\n", "ms", "api p50", "api p99", "bare query p50", "p99");
  fmt::print("  {:<34} {:>9.2f} {:>9.2f}   {:>13.2f} {:>13.2f}\n", "active alerts", api_alerts.p50, api_alerts.p99,
             raw_alerts.p50, raw_alerts.p99);
  fmt::print("  {:<34} {:>9.2f} {:>9.2f}   {:>13.2f} {:>13.2f}\n", "herd summary", api_summary.p50, api_summary.p99,
             raw_summary.p50, raw_summary.p99);
  fmt::print("  {:<34} {:>9.2f} {:>9.2f}   {:>13.2f} {:>13.2f}   ({} KiB JSON)\n",
             fmt::format("one animal's {}-day history", days), api_hist.p50, api_hist.p99, raw_hist.p50, raw_hist.p99,
             bytes / 1024);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"herd-bench-api: herd-api read latency on a 1,000-head x 30-day read model"};
  int head = 1000, days = 30, requests = 300;
  std::string backend = "both";
  cli.add_option("--head", head)->capture_default_str();
  cli.add_option("--days", days)->capture_default_str();
  cli.add_option("--requests", requests)->capture_default_str();
  cli.add_option("--backend", backend, "sqlite, postgresql or both")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  herd::test_support::temp_dir dir;
  if (backend == "sqlite" || backend == "both") {
    herd::api::api_config c;
    c.path = (dir / "bench.db").string();
    run("SQLite", c, [&] { return must(herd::read_model::open_sqlite_store({.path = c.path}), "open"); }, head, days,
        requests);
  }
#ifdef HERD_WITH_POSTGRESQL
  if (backend == "postgresql" || backend == "both") {
    herd::test_support::postgres_options po;
    po.durable = true;
    herd::test_support::postgres_server server(po);
    herd::api::api_config c;
    c.backend = "postgresql";
    c.conninfo = server.create_database("apibench");
    run("PostgreSQL", c, [&] {
      herd::read_model::pg_options o;
      o.conninfo = c.conninfo;
      return must(herd::read_model::open_pg_store(o), "open");
    }, head, days, requests);
  }
#endif
  return 0;
}
