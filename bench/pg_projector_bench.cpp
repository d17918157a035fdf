// Projector throughput into the PostgreSQL read model (issue 9; goal >= 30,000 events/s per
// instance), measured in one run beside its two ceilings on the same records:
//   consume   a raw librdkafka consumer that reads the topic and does nothing (the consume side)
//   insert    raw batched inserts of the same envelopes into the event store table (the store's
//             append_events: probe + binary COPY, --batch rows per transaction): the store side
//   projector herd-projector (backend postgresql), 1 instance, then 2 instances in one group:
//             from start until the read model's stored offsets reach the end of the topic
// Records: --animals animals' collar readings (10 min apart) with gateway resends, produced to
// the dev Kafka (herd.events, 24 partitions: <= 5 MiB each, dev_kafka.hpp). PostgreSQL runs with its durable defaults.
// --stats: the server also loads pg_stat_statements; after each phase the bench prints where the
// server's time and WAL went in that phase's database (per statement: calls, ms, µs per event,
// WAL bytes per event, full-page images), so a change to the store can be judged statement by
// statement in the same run. Every run also prints the CPU time per event of the herd-projector
// process and of its PostgreSQL backend (1 instance; /proc), which other load on a shared
// machine disturbs less than events/s.
// Usage: herd-bench-pg-projector [--events N] [--animals A] [--batch B] [--stats]
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/postgres_server.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/pg/connection.hpp"
#include "herd/read_model/pg_store.hpp"
#include "herd_stream.hpp"
#include "proc_figures.hpp"

namespace ts = herd::test_support;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// herd.events' partitions: enough to keep each under the dev Kafka's 5 MiB retention (dev_kafka.hpp).
constexpr int k_partitions = 24;

double since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

// Reads `count` records from every partition of `topic` (assigned directly), discarding them.
double raw_consume(const std::string& bootstrap, const std::string& topic, std::size_t count) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "bench-raw", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(k_partitions);
  for (int p = 0; p < k_partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::size_t seen = 0;
  const auto t0 = steady::now();
  while (seen < count && since(t0) < 300) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++seen;
    rd_kafka_message_destroy(m);
  }
  const double s = since(t0);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (seen < count) throw std::runtime_error("raw consumer: read only " + std::to_string(seen));
  return s;
}

// The event store's insert of the same envelopes, as the store sends it (append_events: the
// stored-id probe and one COPY per batch), without decoding, fold or state.
double raw_insert(const std::string& conninfo, const std::vector<herd::pg_test::stream_record>& recs,
                  std::size_t batch) {
  auto store = herd::read_model::open_pg_store({.conninfo = conninfo, .application_name = "bench"});
  if (!store) throw std::runtime_error(store.err().message);
  const auto t0 = steady::now();
  std::int64_t offset = 0;
  for (std::size_t at = 0; at < recs.size(); at += batch) {
    std::vector<herd::read_model::stored_event> events;
    for (std::size_t i = at; i < std::min(recs.size(), at + batch); ++i) {
      herd::read_model::stored_event e;
      e.event_id = recs[i].event_id;
      e.animal_id = recs[i].key;
      e.event_type = "collar.reading.v1";
      e.occurred_at_us = offset;
      e.gateway_id = "gw-1";
      e.envelope = recs[i].envelope;
      e.topic = "herd.events";
      e.partition = 0;
      e.offset = offset++;
      events.push_back(std::move(e));
    }
    auto t = (*store)->begin();
    if (!t) throw std::runtime_error(t.err().message);
    if (auto r = (*t)->append_events(events); !r) throw std::runtime_error(r.err().message);
    if (auto s = (*t)->commit(); !s) throw std::runtime_error(s.err().message);
  }
  return since(t0);
}

// pg_stat_statements of database `db` (where the extension was created in "postgres"), top
// statements by execution time, per event (reset when the phase's database was created).
void print_statements(ts::postgres_server& pg, const std::string& db, double events) {
  auto c = herd::pg::connection::open(pg.conninfo(), "bench-stats");
  if (!c) throw std::runtime_error(c.err().message);
  // ::text: results come back in binary format (herd::pg), and these are float8 and numeric.
  auto r = (*c)->query(
      "SELECT calls::text, total_exec_time::text, rows::text, wal_bytes::text, wal_fpi::text, "
      "left(regexp_replace(query, '\\s+', ' ', 'g'), 60) FROM pg_stat_statements s "
      "JOIN pg_database d ON d.oid = s.dbid "
      "WHERE d.datname = '" + db + "' ORDER BY s.total_exec_time DESC LIMIT 12");
  if (!r) throw std::runtime_error(r.err().message);
  fmt::print("  server statements in database {} (per event: {:.0f} events):\n", db, events);
  fmt::print("  {:>8} {:>9} {:>8} {:>10} {:>9}  {}\n", "calls", "ms", "us/ev", "WAL B/ev",
             "FPI", "statement");
  for (int i = 0; i < r->rows(); ++i) {
    const double ms = std::stod(r->string(i, 1));
    fmt::print("  {:>8} {:>9.0f} {:>8.1f} {:>10.0f} {:>9}  {}\n", r->string(i, 0), ms,
               ms * 1000 / events, std::stod(r->string(i, 3)) / events, r->string(i, 4),
               r->string(i, 5));
  }
  auto w = (*c)->query(
      "SELECT wal_records::text, wal_fpi::text, wal_bytes::text, wal_sync::text, "
      "round(wal_sync_time)::text FROM pg_stat_wal");
  if (!w) throw std::runtime_error(w.err().message);
  fmt::print("  server WAL since the last reset: {:.0f} B per event, {} records, {} full-page "
             "images, {} syncs taking {} ms\n",
             std::stod(w->string(0, 2)) / events, w->string(0, 0), w->string(0, 1), w->string(0, 3),
             w->string(0, 4));
  std::fflush(stdout);
}

std::int64_t stored_offsets(herd::read_model::store& s) {
  auto p = s.load_progress();
  if (!p) return -1;
  std::int64_t sum = 0;
  for (const auto& row : *p) sum += row.next_offset;
  return sum;
}

struct projector_run {
  double total_s;    // from the first process start until every record is in the read model
  double steady_eps; // events/s from the first commit on (the group join left out)
  double projector_cpu_s;  // user + system CPU of the herd-projector processes, start to end
  double backend_cpu_s;    // user + system CPU of their PostgreSQL backends
};


// CPU of the PostgreSQL backends serving the herd-projector processes in `conninfo`'s database.
double backend_cpu_s(const std::string& conninfo) {
  auto c = herd::pg::connection::open(conninfo, "bench-cpu");
  if (!c) throw std::runtime_error(c.err().message);
  auto r = (*c)->query("SELECT pid::text FROM pg_stat_activity WHERE datname = current_database() "
                       "AND application_name LIKE 'herd-projector%'");
  if (!r) throw std::runtime_error(r.err().message);
  double sum = 0;
  for (int i = 0; i < r->rows(); ++i) sum += herd::bench::process_cpu_s(std::stoi(r->string(i, 0)));
  return sum;
}

// `instances` herd-projector processes in one group into `conninfo`.
projector_run run_projectors(const std::filesystem::path& dir, const std::string& bootstrap,
                      const std::string& conninfo, int instances, std::size_t records,
                      std::size_t batch) {
  const auto config = dir / ("projector-" + std::to_string(instances) + ".toml");
  {
    std::ofstream f(config);
    f << "[projector]\nlog_level = \"warn\"\n[kafka]\nbootstrap = \"" << bootstrap << "\"\n"
      << "group_id = \"bench-" << instances << "\"\nbatch_max = " << batch << "\nlinger_ms = 50\n"
      << "[kafka.properties]\n\"session.timeout.ms\" = 6000\n\"heartbeat.interval.ms\" = 500\n"
      << "[read_model]\nbackend = \"postgresql\"\nconninfo = \"" << conninfo << "\"\n"
      << "[metrics]\nlisten = \"\"\n";
  }
  auto store = herd::read_model::open_pg_store({.conninfo = conninfo, .application_name = "bench"});
  if (!store) throw std::runtime_error(store.err().message);
  std::vector<std::unique_ptr<ts::child_process>> procs;
  const auto t0 = steady::now();
  for (int i = 0; i < instances; ++i) {
    procs.push_back(std::make_unique<ts::child_process>(
        ts::binary_dir() + "/cloud/projector/herd-projector",
        std::vector<std::string>{"--config", config.string()}, dir,
        std::map<std::string, std::string>{}, fmt::format("projector-{}-{}.log", instances, i)));
  }
  std::int64_t first_offsets = 0;
  steady::time_point first_commit{};
  const bool done = ts::wait_until(
      [&] {
        const std::int64_t now = stored_offsets(**store);
        if (first_offsets == 0 && now > 0) {
          first_offsets = now;
          first_commit = steady::now();
        }
        return now >= static_cast<std::int64_t>(records);
      },
      600s, 10ms);
  const double s = since(t0);
  const double steady_s = since(first_commit);
  double projector_cpu = 0;
  for (auto& p : procs) projector_cpu += herd::bench::process_cpu_s(p->pid());
  const double backend_cpu = backend_cpu_s(conninfo);
  for (auto& p : procs) {
    p->signal(SIGTERM);
    p->wait_exit(20s);
  }
  if (!done) throw std::runtime_error("projector did not catch up; logs in " + dir.string());
  return {s, static_cast<double>(static_cast<std::int64_t>(records) - first_offsets) / steady_s,
          projector_cpu, backend_cpu};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"herd-projector into PostgreSQL, beside a raw consumer and raw inserts"};
  std::size_t events = 200000;
  int animals = 1000;
  std::size_t batch = 2000;
  app.add_option("--events", events, "readings to produce (plus ~6% resends)");
  app.add_option("--animals", animals, "animals in the herd");
  app.add_option("--batch", batch, "records per transaction (projector batch_max and raw inserts)");
  bool stats = false;
  app.add_flag("--stats", stats, "print pg_stat_statements and pg_stat_wal per phase");
  CLI11_PARSE(app, argc, argv);

  ts::temp_dir dir;
  auto kafka = herd::cloud::dev_kafka::start(
      {.brokers = 3,
       .topics = {{"herd.events", k_partitions}, {"herd.events.dlq", 1}, {"herd.events.projector.dlq", 1}}});
  if (!kafka) throw std::runtime_error(kafka.err().message);
  ts::postgres_options durable;
  durable.durable = true;
  durable.settings = {"shared_buffers=256MB"};
  if (stats) {
    durable.settings.push_back("shared_preload_libraries=pg_stat_statements");
    durable.settings.push_back("track_wal_io_timing=on");
  }
  ts::postgres_server pg(durable);
  if (stats) pg.execute("CREATE EXTENSION pg_stat_statements");

  const int per_animal = static_cast<int>((events / static_cast<std::size_t>(animals) + 5) / 6 * 6);
  const auto recs = herd::pg_test::herd_readings(animals, 0, per_animal);
  {
    herd::pg_test::stream_producer producer((*kafka)->bootstrap(), "herd.events");
    producer.produce(recs);
  }
  fmt::print("herd-projector -> PostgreSQL 15 (durable defaults, shared_buffers 256MB): {} records "
             "({} animals, resends included), batch {}, dev Kafka (mock, 3 brokers, 24 partitions)\n",
             recs.size(), animals, batch);
  std::fflush(stdout);
  const double consume_s = raw_consume((*kafka)->bootstrap(), "herd.events", recs.size());
  const double n = static_cast<double>(recs.size());
  // A new database, with the statistics reset after its creation (CREATE DATABASE writes WAL too).
  const auto database = [&](const std::string& name) {
    std::string conninfo = pg.create_database(name);
    if (stats) pg.execute("SELECT pg_stat_statements_reset(); SELECT pg_stat_reset_shared('wal')");
    return conninfo;
  };
  const double insert_s = raw_insert(database("raw"), recs, batch);
  if (stats) print_statements(pg, "raw", n);
  const auto one =
      run_projectors(dir.path(), (*kafka)->bootstrap(), database("one"), 1, recs.size(), batch);
  if (stats) print_statements(pg, "one", n);
  const auto two =
      run_projectors(dir.path(), (*kafka)->bootstrap(), database("two"), 2, recs.size(), batch);
  if (stats) print_statements(pg, "two", n);
  const double consume_eps = n / consume_s;
  const double insert_eps = n / insert_s;
  fmt::print("{:<44} {:>12} {:>14}\n", "", "events/s", "start-to-end s");
  fmt::print("{:<44} {:>12.0f} {:>14.1f}\n", "raw consumer (librdkafka, does nothing)", consume_eps,
             consume_s);
  fmt::print("{:<44} {:>12.0f} {:>14.1f}\n", "raw inserts into the event store (append)",
             insert_eps, insert_s);
  fmt::print("{:<44} {:>12.0f} {:>14.1f}   ({:.0f}% of consume, {:.0f}% of insert)\n",
             "herd-projector, 1 instance", one.steady_eps, one.total_s,
             100 * one.steady_eps / consume_eps, 100 * one.steady_eps / insert_eps);
  fmt::print("{:<44} {:>12.0f} {:>14.1f}   (both together)\n",
             "herd-projector, 2 instances, one group", two.steady_eps, two.total_s);
  fmt::print("(projector events/s from its first commit on; start-to-end includes the group join)\n");
  fmt::print("CPU per event, 1 instance: herd-projector {:.1f} us, its PostgreSQL backends {:.1f} us "
             "(start to end: {:.1f} us of wall time per event)\n",
             one.projector_cpu_s * 1e6 / n, one.backend_cpu_s * 1e6 / n, one.total_s * 1e6 / n);
  return 0;
}
