// Projector benchmark. Prints, in one run, against the dev Kafka cluster (TCP, in-process) and a
// SQLite read model on this machine's disk:
//   1. the consume ceiling: a raw librdkafka consumer reading the same records, doing nothing;
//   2. the store ceiling: raw batched INSERTs of the same envelopes into the read model's event
//      table (same schema, the same event ids into its unique index, `batch` per transaction, no
//      fold);
//   3. the projector: herd.events -> decode -> event store with dedup -> fold -> animal rows ->
//      offsets, in one transaction per batch (consumer_loop, batch 5,000);
//   4. a rebuild of 1,000,000 events from the event store (`herd-projector rebuild --from store`
//      as a child process: wall time and peak RSS);
//   5. the read model's size per 1,000 head per day (1,000 head, one reading per 10 min).
// Usage: herd-bench-projector [events=200000] [rebuild_events=1000000] [batch=5000]   (--help)
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <CLI/CLI.hpp>

#include "../tests/unit/cloud/envelopes.hpp"
#include "proc_figures.hpp"
#include "herd/core/logging.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/projector/applier.hpp"
#include "herd/projector/consumer_loop.hpp"
#include "herd/read_model/sqlite_store.hpp"

using namespace herd;
using steady = std::chrono::steady_clock;

namespace {

double seconds_since(steady::time_point t0) { return std::chrono::duration<double>(steady::now() - t0).count(); }

// Produces every record and waits for the acks; returns how many Kafka acknowledged (a shortfall
// is printed with the first delivery error: the ceilings below would be wrong without all of them).
std::size_t produce_all(const std::string& bootstrap, const std::vector<projector::record>& records) {
  struct delivery {
    std::size_t acked = 0;
    std::size_t failed = 0;
    std::string first_error;
  } d;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set_opaque(conf, &d);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto& dd = *static_cast<delivery*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++dd.acked;
    } else if (dd.failed++ == 0) {
      dd.first_error = rd_kafka_err2name(m->err);
    }
  });
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err);
  rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, "herd.events", nullptr);
  for (const auto& r : records) {
    while (rd_kafka_produce(t, r.partition, RD_KAFKA_MSG_F_COPY, const_cast<char*>(r.value.data()), r.value.size(),
                            r.key.data(), r.key.size(), nullptr) != 0) {
      rd_kafka_poll(rk, 10);
    }
  }
  rd_kafka_flush(rk, 120000);
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
  if (d.acked != records.size()) {
    std::printf("  PRODUCE SHORTFALL: %zu of %zu acknowledged, %zu failed (first error %s)\n", d.acked, records.size(),
                d.failed, d.first_error.c_str());
  }
  return d.acked;
}

double raw_consume(const std::string& bootstrap, std::size_t n, int partitions) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "bench-raw", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, "herd.events", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  // What the partitions still hold (the dev cluster drops old segments past 5 MiB per partition).
  std::size_t held = 0;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, "herd.events", p, &lo, &hi, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      held += static_cast<std::size_t>(hi - lo);
    }
  }
  if (held < n) {
    std::printf("  TOPIC HOLDS ONLY %zu of %zu records (dev Kafka retention: 5 MiB per partition): figures are wrong\n",
                held, n);
    n = held;
  }
  std::size_t got = 0;
  std::size_t bytes = 0;
  const auto t0 = steady::now();
  while (got < n && seconds_since(t0) < 120) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++got;
      bytes += m->len;
    }
    rd_kafka_message_destroy(m);
  }
  const double s = seconds_since(t0);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return static_cast<double>(got) / s;
}

double raw_inserts(const std::string& path, const std::vector<projector::record>& records, std::size_t batch) {
  { (void)read_model::open_sqlite_store({.path = path}); }  // the schema
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536", nullptr,
               nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO events (event_id, animal_id, event_type, occurred_at_us, ingested_at_us, gateway_id, "
                     "gateway_seq, envelope, topic, kafka_partition, kafka_offset) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                     "ON CONFLICT (event_id) DO NOTHING",
                     -1, &st, nullptr);
  // The rows the projector stores for these records: their own event ids (so the unique index sees
  // the same keys; in production order here, where the projector takes them partition by
  // partition), animals and times, decoded before the clock starts.
  struct row_fields {
    std::string event_id, gateway_id;
    std::int64_t occurred_us = 0, ingested_us = 0, gateway_seq = 0;
  };
  std::vector<row_fields> rows;
  rows.reserve(records.size());
  for (const auto& r : records) {
    events::v1::EventEnvelope env;
    if (!env.ParseFromString(r.value)) throw std::runtime_error("store ceiling: an envelope does not parse");
    const auto us = [](const google::protobuf::Timestamp& t) { return t.seconds() * 1'000'000 + t.nanos() / 1000; };
    rows.push_back({env.event_id(), env.gateway_id(), us(env.occurred_at()), us(env.ingested_at()),
                    static_cast<std::int64_t>(env.gateway_seq())});
  }
  const auto t0 = steady::now();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i % batch == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    const auto& r = records[i];
    const auto& f = rows[i];
    sqlite3_bind_text(st, 1, f.event_id.c_str(), static_cast<int>(f.event_id.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r.key.c_str(), static_cast<int>(r.key.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 3, "collar.reading.v1", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, f.occurred_us);
    sqlite3_bind_int64(st, 5, f.ingested_us);
    sqlite3_bind_text(st, 6, f.gateway_id.c_str(), static_cast<int>(f.gateway_id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, f.gateway_seq);
    sqlite3_bind_blob(st, 8, r.value.data(), static_cast<int>(r.value.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 9, "herd.events", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, r.partition);
    sqlite3_bind_int64(st, 11, r.offset);
    sqlite3_step(st);
    sqlite3_reset(st);
    if (i % batch == batch - 1 || i + 1 == records.size()) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double s = seconds_since(t0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return static_cast<double>(records.size()) / s;
}

// True once `pid` runs `program` (its exec happened: the memory is the program's own).
bool execed(pid_t pid, const std::string& program) {
  char buf[4096];
  const ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = 0;
  std::error_code ec;
  return std::filesystem::equivalent(buf, program, ec);
}

// Runs a program; returns {wall seconds, peak RSS MiB}. The peak is the exec'd program's VmHWM,
// sampled every 20 ms until it exits (the high-water mark only grows, so the last sample is the
// peak give or take 20 ms): wait4's ru_maxrss would also count this benchmark's own memory,
// which the forked child holds until it execs.
std::pair<double, double> run_measured(const std::vector<std::string>& argv) {
  const auto t0 = steady::now();
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execv(a[0], a.data());
    _exit(127);
  }
  int status = 0;
  double peak_kib = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (execed(pid, argv[0])) peak_kib = std::max(peak_kib, static_cast<double>(herd::bench::rss_kb(pid).hwm));
    usleep(20'000);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::printf("  (rebuild exited with status %d)\n", status);
  return {seconds_since(t0), peak_kib / 1024.0};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 200'000, rebuild_n = 1'000'000;
  std::size_t batch = 5000;  // records per projector transaction
  CLI::App cli{"herd-projector into SQLite beside a raw consumer and raw inserts; read model size; rebuild"};
  cli.add_option("events", n, "readings produced (1,000 head)")->check(CLI::Range(1000, 100'000'000));
  cli.add_option("rebuild_events", rebuild_n, "events of the read model rebuilt from its event store (0: none)");
  cli.add_option("batch", batch, "records per projector transaction")->check(CLI::PositiveNumber);
  CLI11_PARSE(cli, argc, argv);
  core::setup_logging(spdlog::level::warn);
  test_support::temp_dir dir;
  const int partitions = 24;  // <= 5 MiB per dev Kafka partition (dev_kafka.hpp)
  const std::int64_t start = 1'780'000'000'000;
  // 1,000 head, one reading per 10 minutes: n / 1000 readings each.
  auto stream = test_envelopes::make_stream(1000, static_cast<int>(n / 1000), partitions, start);
  auto k = cloud::dev_kafka::start({.brokers = 1, .topics = {{"herd.events", partitions}}});
  if (!k) {
    std::fprintf(stderr, "%s\n", k.err().message.c_str());
    return 1;
  }
  std::printf("projector benchmark: %zu collar readings (1,000 head, %zu B/envelope), %d partitions, dev Kafka over TCP\n",
              stream.records.size(), stream.records.front().value.size(), partitions);
  const std::size_t produced = produce_all((*k)->bootstrap(), stream.records);

  const double consume = raw_consume((*k)->bootstrap(), produced, partitions);
  std::printf("  raw librdkafka consumer, no work (consume ceiling): %10.0f records/s\n", consume);
  const double inserts = raw_inserts((dir / "raw.db").string(), stream.records, batch);
  std::printf("  raw batched SQLite inserts, %zu/txn (store ceiling): %7.0f rows/s\n", batch, inserts);

  {
    auto store = read_model::open_sqlite_store({.path = (dir / "projector.db").string()});
    projector::consumer_options o;
    o.bootstrap = (*k)->bootstrap();
    o.use_group = false;
    o.stop_at_end = true;
    o.dead_lettering = false;
    o.batch_max = batch;
    projector::consumer_loop loop(o, **store);
    if (auto st = loop.start(); !st) {
      std::fprintf(stderr, "%s\n", st.err().message.c_str());
      return 1;
    }
    const auto t0 = steady::now();
    if (auto st = loop.run(); !st) {
      std::fprintf(stderr, "%s\n", st.err().message.c_str());
      return 1;
    }
    const double s = seconds_since(t0);
    std::printf("  herd-projector into SQLite, batch %zu (dedup, fold, offsets in txn): %6.0f events/s  (%.0f%% of the consume "
                "ceiling, %.0f%% of the store ceiling; %llu applied)\n",
                batch, static_cast<double>(loop.stats().applied) / s, 100.0 * loop.stats().applied / s / consume,
                100.0 * loop.stats().applied / s / inserts,
                static_cast<unsigned long long>(loop.stats().applied.load()));
  }

  // The 1M-event read model: built with the applier (no Kafka), then rebuilt by the binary.
  const auto big = (dir / "big.db").string();
  {
    auto store = read_model::open_sqlite_store({.path = big});
    projector::applier app(**store);
    (void)app.load_positions();
    const int per_animal = static_cast<int>(rebuild_n / 1000);
    auto big_stream = test_envelopes::make_stream(1000, per_animal, partitions, start);
    for (std::size_t i = 0; i < big_stream.records.size(); i += 5000) {
      std::vector<projector::record> b(big_stream.records.begin() + static_cast<std::ptrdiff_t>(i),
                                       big_stream.records.begin() +
                                           static_cast<std::ptrdiff_t>(std::min(big_stream.records.size(), i + 5000)));
      if (!app.prepare(b) || !app.commit()) {
        std::fprintf(stderr, "building the big read model failed\n");
        return 1;
      }
    }
    auto st = (*store)->stats();
    const double days = per_animal / 144.0;
    std::printf("  read model size: %.1f MiB for %llu events = %.1f MiB per 1,000 head per day (1 reading / 10 min)\n",
                st->bytes / 1048576.0, static_cast<unsigned long long>(st->events), st->bytes / 1048576.0 / days);
  }
  {
    const auto cfg = (dir / "rebuild.toml").string();
    FILE* f = std::fopen(cfg.c_str(), "w");
    std::fprintf(f, "[kafka]\nbootstrap = \"unused:1\"\n[read_model]\npath = \"%s\"\n", big.c_str());
    std::fclose(f);
    auto [secs, rss] = run_measured({test_support::binary_dir() + "/cloud/projector/herd-projector", "rebuild",
                                     "--from", "store", "--config", cfg, "--into", (dir / "rebuilt.db").string()});
    std::printf("  rebuild of %zu events from the event store: %.1f s (%.0f events/s), peak RSS %.0f MiB\n", rebuild_n,
                secs, rebuild_n / secs, rss);
  }
  return 0;
}
