// The store-side ceiling of the PostgreSQL read model (issue 9): how fast can ONE client put
// envelope-sized event rows into a private PostgreSQL 15 with the event store's schema (event_id
// unique, an (animal, time) index, bytea envelope), one transaction per batch, in these ways:
//   copy      COPY ... FROM STDIN (binary), the fastest bulk path (no dedup)
//   probecopy what the store's append_events does: one SELECT of the batch's ids already stored
//             (index probes), then the rest by binary COPY inside a savepoint (dedup without
//             ON CONFLICT's speculative insertion; pg_txn.cpp)
//   unnest    one INSERT ... SELECT FROM unnest($1::text[], ...) ON CONFLICT (event_id) DO NOTHING
//             RETURNING event_id per batch: the store's statement until 2026-12-03, now its
//             fallback when a COPY meets an id another transaction stored meanwhile
//   pipeline  one prepared single-row INSERT ... ON CONFLICT DO NOTHING per event, libpq
//             pipeline mode (no round trip per row)
//   store     the PostgreSQL read-model store (herd::read_model_pg) doing a projector's batch
//             without Kafka and without the fold: claim, append_events, load_animals,
//             upsert_animals (state of --state-bytes per animal, 2 collars), add_progress, commit
// The server runs with PostgreSQL's durable defaults (fsync, synchronous_commit on) unless
// --fast. Figures: rows/s, µs per batch commit, and the server backend's CPU per row (/proc),
// which other load on a shared machine disturbs less than rows/s.
// Usage: herd-bench-pg-raw [--rows N] [--batch B] [--envelope-bytes E] [--fast]
//                          [--methods copy probecopy ...] [--rounds R]
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <herd/test_support/postgres_server.hpp>

#include "herd/pg/connection.hpp"
#include "proc_figures.hpp"
#include "herd/read_model/pg_store.hpp"

namespace ts = herd::test_support;
using steady = std::chrono::steady_clock;

namespace {

constexpr const char* k_table = R"sql(
CREATE TABLE events (
  store_seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id        text COLLATE "C" NOT NULL UNIQUE,
  animal_id       text COLLATE "C" NOT NULL,
  event_type      text NOT NULL,
  occurred_at_us  bigint NOT NULL,
  ingested_at_us  bigint NOT NULL,
  gateway_id      text NOT NULL,
  gateway_seq     bigint NOT NULL,
  envelope        bytea NOT NULL,
  topic           text NOT NULL,
  kafka_partition integer NOT NULL,
  kafka_offset    bigint NOT NULL);
CREATE INDEX events_by_animal_time ON events (animal_id, occurred_at_us);
)sql";

struct row {
  std::string event_id, animal_id;
  std::int64_t occurred_at_us;
  std::int64_t seq;
  std::string envelope;
};

std::vector<row> make_rows(int n, int envelope_bytes) {
  std::mt19937_64 rng(42);
  std::vector<row> rows;
  rows.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    row r;
    const auto a = rng(), b = rng();
    r.event_id = fmt::format("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                             a & 0xfff, b >> 52, b & 0xffffffffffffULL);
    r.animal_id = fmt::format("276{:012d}", i % 1000);
    r.occurred_at_us = 1'795'000'000'000'000 + static_cast<std::int64_t>(i) * 600'000'000 / 1000;
    r.seq = i;
    r.envelope.resize(static_cast<std::size_t>(envelope_bytes));
    for (auto& ch : r.envelope) ch = static_cast<char>(rng());
    rows.push_back(std::move(r));
  }
  return rows;
}

void check(const herd::core::status& s) {
  if (!s) throw std::runtime_error(s.err().message);
}

void check_pg(PGconn* c, PGresult* r, ExecStatusType want) {
  const bool ok = PQresultStatus(r) == want;
  const std::string msg = ok ? "" : std::string(PQresultErrorMessage(r)) + PQerrorMessage(c);
  PQclear(r);
  if (!ok) throw std::runtime_error(msg);
}

// Binary COPY tuple: int16 field count, then (int32 length, bytes) per field.
template <class U>
void put_be(std::string& out, U v) {
  for (int i = sizeof(U) - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_field(std::string& out, std::string_view v) {
  put_be(out, static_cast<std::uint32_t>(v.size()));
  out.append(v);
}
void put_i64(std::string& out, std::int64_t v) {
  put_be(out, static_cast<std::uint32_t>(8));
  put_be(out, static_cast<std::uint64_t>(v));
}
void put_i32(std::string& out, std::int32_t v) {
  put_be(out, static_cast<std::uint32_t>(4));
  put_be(out, static_cast<std::uint32_t>(v));
}

void run_copy_batches(herd::pg::connection& c, const std::vector<row>& rows, std::size_t batch,
                      bool probe) {
  PGconn* pc = c.native();
  const herd::pg::statement known{"bench_known",
                                  "SELECT event_id FROM events WHERE event_id = ANY($1::text[])",
                                  {herd::pg::oids::text_array}};
  if (probe) check(c.prepare(known));
  for (std::size_t at = 0; at < rows.size(); at += batch) {
    check(c.execute("BEGIN"));
    if (probe) {
      herd::pg::array_param ids(herd::pg::oids::text);
      for (std::size_t i = at; i < std::min(rows.size(), at + batch); ++i) ids.add_text(rows[i].event_id);
      herd::pg::params p;
      p.array(ids);
      auto r = c.run(known, p);
      if (!r) throw std::runtime_error(r.err().message);
      if (r->rows() != 0) throw std::runtime_error("probecopy: unexpected stored ids");
      check(c.execute("SAVEPOINT b"));
    }
    check_pg(pc,
             PQexec(pc, "COPY events (event_id, animal_id, event_type, occurred_at_us, "
                        "ingested_at_us, gateway_id, gateway_seq, envelope, topic, "
                        "kafka_partition, kafka_offset) FROM STDIN (FORMAT binary)"),
             PGRES_COPY_IN);
    std::string buf("PGCOPY\n\377\r\n\0", 11);
    put_be(buf, std::uint32_t{0});  // flags
    put_be(buf, std::uint32_t{0});  // header extension length
    for (std::size_t i = at; i < std::min(rows.size(), at + batch); ++i) {
      const row& r = rows[i];
      put_be(buf, std::uint16_t{11});
      put_field(buf, r.event_id);
      put_field(buf, r.animal_id);
      put_field(buf, "collar.reading.v1");
      put_i64(buf, r.occurred_at_us);
      put_i64(buf, r.occurred_at_us + 5000);
      put_field(buf, "gw-01");
      put_i64(buf, r.seq);
      put_field(buf, r.envelope);
      put_field(buf, "herd.events");
      put_i32(buf, static_cast<std::int32_t>(r.seq % 6));
      put_i64(buf, r.seq);
    }
    put_be(buf, std::uint16_t{0xffff});  // trailer
    if (PQputCopyData(pc, buf.data(), static_cast<int>(buf.size())) != 1 ||
        PQputCopyEnd(pc, nullptr) != 1) {
      throw std::runtime_error(PQerrorMessage(pc));
    }
    check_pg(pc, PQgetResult(pc), PGRES_COMMAND_OK);
    PQclear(PQgetResult(pc));
    if (probe) check(c.execute("RELEASE SAVEPOINT b"));
    check(c.execute("COMMIT"));
  }
}

void run_copy(herd::pg::connection& c, const std::vector<row>& rows, std::size_t batch) {
  run_copy_batches(c, rows, batch, false);
}

void run_probecopy(herd::pg::connection& c, const std::vector<row>& rows, std::size_t batch) {
  run_copy_batches(c, rows, batch, true);
}

const herd::pg::statement k_unnest{
    "bench_unnest",
    "INSERT INTO events (event_id, animal_id, event_type, occurred_at_us, ingested_at_us, "
    "gateway_id, gateway_seq, envelope, topic, kafka_partition, kafka_offset) "
    "SELECT e, a, 'collar.reading.v1', o, o + 5000, 'gw-01', s, env, 'herd.events', "
    "(s % 6)::integer, s FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], "
    "$5::bytea[]) AS u(e, a, o, s, env) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
    {herd::pg::oids::text_array, herd::pg::oids::text_array, herd::pg::oids::int8_array,
     herd::pg::oids::int8_array, herd::pg::oids::bytea_array}};

void run_unnest(herd::pg::connection& c, const std::vector<row>& rows, std::size_t batch) {
  check(c.prepare(k_unnest));
  namespace o = herd::pg::oids;
  for (std::size_t at = 0; at < rows.size(); at += batch) {
    herd::pg::array_param ids(o::text), animals(o::text), occurred(o::int8), seqs(o::int8),
        envs(o::bytea);
    for (std::size_t i = at; i < std::min(rows.size(), at + batch); ++i) {
      ids.add_text(rows[i].event_id);
      animals.add_text(rows[i].animal_id);
      occurred.add_int8(rows[i].occurred_at_us);
      seqs.add_int8(rows[i].seq);
      envs.add_text(rows[i].envelope);
    }
    herd::pg::params p;
    p.array(ids).array(animals).array(occurred).array(seqs).array(envs);
    check(c.execute("BEGIN"));
    auto r = c.run(k_unnest, p);
    if (!r) throw std::runtime_error(r.err().message);
    check(c.execute("COMMIT"));
  }
}

void run_pipeline(herd::pg::connection& c, const std::vector<row>& rows, std::size_t batch) {
  PGconn* pc = c.native();
  check_pg(pc,
           PQprepare(pc, "bench_one",
                     "INSERT INTO events (event_id, animal_id, event_type, occurred_at_us, "
                     "ingested_at_us, gateway_id, gateway_seq, envelope, topic, kafka_partition, "
                     "kafka_offset) VALUES ($1, $2, 'collar.reading.v1', $3::bigint, "
                     "$3::bigint + 5000, 'gw-01', $4::bigint, $5::bytea, 'herd.events', "
                     "($4::bigint % 6)::integer, $4::bigint) ON CONFLICT (event_id) DO NOTHING",
                     5, nullptr),
           PGRES_COMMAND_OK);
  if (PQenterPipelineMode(pc) != 1) throw std::runtime_error("pipeline mode");
  for (std::size_t at = 0; at < rows.size(); at += batch) {
    const std::size_t end = std::min(rows.size(), at + batch);
    PQsendQueryParams(pc, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0);
    for (std::size_t i = at; i < end; ++i) {
      const std::string occ = std::to_string(rows[i].occurred_at_us);
      const std::string seq = std::to_string(rows[i].seq);
      const char* values[5] = {rows[i].event_id.c_str(), rows[i].animal_id.c_str(), occ.c_str(),
                               seq.c_str(), rows[i].envelope.data()};
      const int lengths[5] = {0, 0, 0, 0, static_cast<int>(rows[i].envelope.size())};
      const int formats[5] = {0, 0, 0, 0, 1};
      if (PQsendQueryPrepared(pc, "bench_one", 5, values, lengths, formats, 0) != 1) {
        throw std::runtime_error(PQerrorMessage(pc));
      }
    }
    PQsendQueryParams(pc, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0);
    PQpipelineSync(pc);
    // Each statement's result is followed by a NULL; the sync by PGRES_PIPELINE_SYNC.
    for (;;) {
      PGresult* r = PQgetResult(pc);
      if (r == nullptr) continue;
      const auto st = PQresultStatus(r);
      if (st == PGRES_PIPELINE_SYNC) {
        PQclear(r);
        break;
      }
      if (st != PGRES_COMMAND_OK) {
        const std::string msg = PQresultErrorMessage(r);
        PQclear(r);
        throw std::runtime_error("pipeline: " + msg);
      }
      PQclear(r);
    }
  }
  PQexitPipelineMode(pc);
}


int g_state_bytes = 1024;
// Where the store method's time goes, s: claim, append, load, upsert, progress, commit.
double g_step_s[6] = {};

struct step_timer {
  int step;
  steady::time_point t0 = steady::now();
  ~step_timer() { g_step_s[step] += std::chrono::duration<double>(steady::now() - t0).count(); }
};

void run_store(const std::string& conninfo, const std::vector<row>& rows, std::size_t batch) {
  namespace rm = herd::read_model;
  auto opened = rm::open_pg_store({.conninfo = conninfo, .application_name = "herd-bench-pg-raw"});
  if (!opened) throw std::runtime_error(opened.err().message);
  rm::store& store = **opened;
  const std::string state(static_cast<std::size_t>(g_state_bytes), 's');
  std::int64_t next = -1;
  for (std::size_t at = 0; at < rows.size(); at += batch) {
    const std::size_t end = std::min(rows.size(), at + batch);
    std::vector<rm::stored_event> events;
    std::vector<std::string> animal_ids;
    for (std::size_t i = at; i < end; ++i) {
      rm::stored_event e;
      e.event_id = rows[i].event_id;
      e.animal_id = rows[i].animal_id;
      e.event_type = "collar.reading.v1";
      e.occurred_at_us = rows[i].occurred_at_us;
      e.ingested_at_us = rows[i].occurred_at_us + 5000;
      e.gateway_id = "gw-01";
      e.gateway_seq = static_cast<std::uint64_t>(rows[i].seq);
      e.envelope = rows[i].envelope;
      e.topic = "herd.events";
      e.partition = 0;
      e.offset = rows[i].seq;
      events.push_back(std::move(e));
      animal_ids.push_back(rows[i].animal_id);
    }
    std::sort(animal_ids.begin(), animal_ids.end());
    animal_ids.erase(std::unique(animal_ids.begin(), animal_ids.end()), animal_ids.end());
    auto t = store.begin();
    if (!t) throw std::runtime_error(t.err().message);
    std::optional<step_timer> timer(std::in_place, 0);
    auto claimed = (*t)->claim("herd.events", 0, next);
    timer.emplace(1);
    if (!claimed || !*claimed) throw std::runtime_error("claim failed");
    auto fresh = (*t)->append_events(events);
    if (!fresh) throw std::runtime_error(fresh.err().message);
    timer.emplace(2);
    auto loaded = (*t)->load_animals(animal_ids);
    if (!loaded) throw std::runtime_error(loaded.err().message);
    std::vector<rm::animal_row> animals;
    for (std::size_t i = 0; i < animal_ids.size(); ++i) {
      rm::animal_row a = (*loaded)[i] ? *(*loaded)[i] : rm::animal_row{};
      a.animal_id = animal_ids[i];
      a.topic = "herd.events";
      a.partition = 0;
      a.state = state;
      a.events_applied += 1;
      a.body_temp_c = 38.6;
      a.collars = {{"C-1", a.collars.empty() ? 0 : a.collars[0].last_seq + 1, 80, -70, 1},
                   {"C-2", 5, std::nullopt, std::nullopt, 0}};
      animals.push_back(std::move(a));
    }
    timer.emplace(3);
    if (auto s = (*t)->upsert_animals(animals); !s) throw std::runtime_error(s.err().message);
    timer.emplace(4);
    next = rows[end - 1].seq + 1;
    rm::partition_progress p;
    p.topic = "herd.events";
    p.partition = 0;
    p.next_offset = next;
    p.applied = end - at;
    if (auto s = (*t)->add_progress({&p, 1}); !s) throw std::runtime_error(s.err().message);
    timer.emplace(5);
    if (auto s = (*t)->commit(); !s) throw std::runtime_error(s.err().message);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"PostgreSQL raw-insert ceiling for the read model's event store"};
  int rows_n = 200000;
  int batch = 500;
  int envelope_bytes = 230;
  bool fast = false;
  app.add_option("--rows", rows_n, "rows per method")->check(CLI::Range(1000, 10000000));
  app.add_option("--batch", batch, "rows per transaction")->check(CLI::Range(1, 100000));
  app.add_option("--envelope-bytes", envelope_bytes, "bytes per envelope (a collar.reading.v1 "
                                                     "envelope is ~230)");
  app.add_option("--state-bytes", g_state_bytes, "bytes of fold state per animal (store method)");
  app.add_flag("--fast", fast, "test settings (fsync off) instead of PostgreSQL's defaults");
  std::vector<std::string> only;
  int rounds = 1;
  app.add_option("--methods", only, "run only these methods (default: all)");
  app.add_option("--rounds", rounds, "run the methods this many times, alternated (for ratios "
                                     "on a noisy machine)")
      ->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);

  ts::postgres_options options;
  options.durable = !fast;
  ts::postgres_server server(options);
  const auto rows = make_rows(rows_n, envelope_bytes);
  fmt::print("PostgreSQL 15 raw inserts: {} rows of {} B envelopes per method, {} rows per "
             "transaction, {} server, one client, loopback TCP\n",
             rows_n, envelope_bytes, batch, fast ? "fsync=off" : "durable (fsync on)");
  fmt::print("{:<10} {:>12} {:>16} {:>18}\n", "method", "rows/s", "us/transaction",
             "server CPU us/row");
  struct method {
    const char* name;
    void (*run)(herd::pg::connection&, const std::vector<row>&, std::size_t);
  };
  const method methods[] = {
      {"copy", run_copy},         {"probecopy", run_probecopy}, {"unnest", run_unnest},
      {"pipeline", run_pipeline}, {"store", nullptr}};
  int n = 0;
  for (int round = 0; round < rounds; ++round) {
  for (const auto& m : methods) {
    if (!only.empty() && std::find(only.begin(), only.end(), m.name) == only.end()) continue;
    std::fill(std::begin(g_step_s), std::end(g_step_s), 0.0);
    const std::string db = server.create_database("bench" + std::to_string(n++));
    auto c = herd::pg::connection::open(db, "herd-bench-pg-raw");
    if (!c) throw std::runtime_error(c.err().message);
    if (m.run != nullptr) check((*c)->execute(k_table));
    const int backend = PQbackendPID((*c)->native());
    const double cpu0 = herd::bench::process_cpu_s(backend);
    const auto t0 = steady::now();
    if (m.run != nullptr) {
      m.run(**c, rows, static_cast<std::size_t>(batch));
    } else {
      run_store(db, rows, static_cast<std::size_t>(batch));
    }
    const double s = std::chrono::duration<double>(steady::now() - t0).count();
    const double txns = std::ceil(static_cast<double>(rows_n) / batch);
    if (m.run != nullptr) {
      fmt::print("{:<10} {:>12.0f} {:>16.0f} {:>18.1f}\n", m.name, rows_n / s, s * 1e6 / txns,
                 (herd::bench::process_cpu_s(backend) - cpu0) * 1e6 / rows_n);
    } else {
      fmt::print("{:<10} {:>12.0f} {:>16.0f}\n", m.name, rows_n / s, s * 1e6 / txns);
    }
    if (m.run == nullptr) {
      fmt::print("           store time per transaction, us: claim {:.0f}, append_events {:.0f}, "
                 "load_animals {:.0f}, upsert_animals {:.0f}, add_progress {:.0f}, commit {:.0f}\n",
                 g_step_s[0] * 1e6 / txns, g_step_s[1] * 1e6 / txns, g_step_s[2] * 1e6 / txns,
                 g_step_s[3] * 1e6 / txns, g_step_s[4] * 1e6 / txns, g_step_s[5] * 1e6 / txns);
    }
    std::fflush(stdout);
  }
  }
  return 0;
}
