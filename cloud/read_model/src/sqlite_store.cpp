#include "herd/read_model/sqlite_store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <string_view>

#include "sqlite_rows.hpp"
#include "sqlite_schema.hpp"
#include "sqlite_store_impl.hpp"

namespace herd::read_model {
namespace detail {

using sqlite::exec;
using sqlite::sqlite_error;

sqlite_store::~sqlite_store() {
  // Statements must be finalized before the connection closes.
  for (auto* st : {&begin_st, &commit_st, &rollback_st, &ev_insert, &ev_after, &ev_animal, &ev_prune,
                   &ev_count, &an_select, &an_upsert, &an_after, &an_partition, &co_select, &co_delete, &co_insert,
                   &an_count, &al_upsert, &al_after, &al_count, &ob_insert, &ob_after, &ob_delete, &ob_delete_one,
                   &ob_count, &pr_select_one, &pr_upsert, &pr_all, &adv_insert}) {
    *st = statement();
  }
  sqlite3_close_v2(db);
}

void sqlite_store::prepare() {
  begin_st = statement(db, "BEGIN IMMEDIATE");
  commit_st = statement(db, "COMMIT");
  rollback_st = statement(db, "ROLLBACK");
  ev_insert = statement(db,
      "INSERT INTO events (event_id, animal_id, event_type, occurred_at_us, ingested_at_us, "
      "gateway_id, gateway_seq, envelope, topic, kafka_partition, kafka_offset) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (event_id) DO NOTHING");
  ev_after = statement(db, std::string("SELECT ") + k_event_columns +
                               " FROM events WHERE store_seq > ?1 ORDER BY store_seq LIMIT ?2");
  ev_animal = statement(db, std::string("SELECT ") + k_event_columns +
                                " FROM events WHERE animal_id = ?1 AND occurred_at_us >= ?2 AND "
                                "occurred_at_us < ?3 AND store_seq > ?4 ORDER BY store_seq LIMIT ?5");
  ev_prune = statement(db,
      "DELETE FROM events WHERE store_seq IN (SELECT store_seq FROM events WHERE "
      "occurred_at_us < ?1 LIMIT ?2)");
  ev_count = statement(db, "SELECT count(*) FROM events");
  an_select = statement(db, std::string("SELECT ") + k_animal_columns + " FROM animals WHERE animal_id = ?1");
  an_after = statement(db, std::string("SELECT ") + k_animal_columns +
                                " FROM animals WHERE animal_id > ?1 ORDER BY animal_id LIMIT ?2");
  an_partition = statement(db,
      "SELECT animal_id FROM animals WHERE topic = ?1 AND kafka_partition = ?2 ORDER BY animal_id");
  an_upsert = statement(db,
      "INSERT OR REPLACE INTO animals (animal_id, topic, kafka_partition, state, events_applied, "
      "last_occurred_at_us, body_temp_c, activity_steps, rumination_min) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  an_count = statement(db, "SELECT count(*) FROM animals");
  co_select = statement(db, std::string("SELECT ") + k_collar_columns +
                                 " FROM collars WHERE animal_id = ?1 ORDER BY collar_id");
  co_delete = statement(db, "DELETE FROM collars WHERE animal_id = ?1");
  co_insert = statement(db,
      "INSERT INTO collars (animal_id, collar_id, last_seq, battery_pct, rssi_dbm, last_seen_us) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  al_upsert = statement(db,
      "INSERT OR REPLACE INTO alerts (alert_id, animal_id, kind, status, severity, raised_at_us, "
      "updated_at_us, resolved_at_us, acknowledged_at_us, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
      "?8, ?9, ?10)");
  al_after = statement(db, std::string("SELECT ") + k_alert_columns +
                                " FROM alerts WHERE alert_id > ?1 ORDER BY alert_id LIMIT ?2");
  al_count = statement(db, "SELECT count(*) FROM alerts");
  ob_insert = statement(db, "INSERT INTO outbox (topic, key, value, headers) VALUES (?1, ?2, ?3, ?4)");
  ob_after = statement(db,
      "SELECT seq, topic, key, value, headers FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  ob_delete = statement(db, "DELETE FROM outbox WHERE seq <= ?1");
  ob_delete_one = statement(db, "DELETE FROM outbox WHERE seq = ?1");
  ob_count = statement(db, "SELECT count(*) FROM outbox");
  pr_select_one = statement(db,
      "SELECT next_offset FROM progress WHERE topic = ?1 AND kafka_partition = ?2");
  pr_upsert = statement(db,
      "INSERT INTO progress (topic, kafka_partition, next_offset, applied, duplicates, unknown_type, "
      "rejected, dead_lettered, watermark_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
      "ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset, "
      "watermark_us = excluded.watermark_us, "
      "applied = applied + excluded.applied, duplicates = duplicates + excluded.duplicates, "
      "unknown_type = unknown_type + excluded.unknown_type, rejected = rejected + excluded.rejected, "
      "dead_lettered = dead_lettered + excluded.dead_lettered");
  adv_insert = statement(db,
      "INSERT OR REPLACE INTO advances (topic, kafka_partition, boundary_ms, kafka_offset, occurred_at_us, "
      "ctx_at_ms, temp_excess_centi, rum_drop_pct, temp_vs_recent_centi, rum6_drop_pct, animals) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  pr_all = statement(db, std::string("SELECT ") + k_progress_columns +
                              " FROM progress ORDER BY topic, kafka_partition");
}

core::result<std::vector<collar_row>> sqlite_store::collars_of(const std::string& animal_id) {
  co_select.bind(1, animal_id);
  return read_all<collar_row>(db, co_select, collar_from, "read collars");
}

core::result<std::unique_ptr<store_txn>> sqlite_store::begin() {
  if (txn_open) return core::error::fatal("read model: a transaction is already open on this store");
  const int rc = begin_st.step();
  begin_st.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read model: begin");
  txn_open = true;
  return std::unique_ptr<store_txn>(std::make_unique<sqlite_txn>(*this));
}

core::result<std::vector<partition_progress>> sqlite_store::load_progress() {
  return read_all<partition_progress>(db, pr_all, progress_from, "read model: load progress");
}

core::result<std::vector<stored_event>> sqlite_store::read_events(std::int64_t after_store_seq,
                                                    std::size_t limit) {
  ev_after.bind(1, after_store_seq);
  ev_after.bind(2, static_cast<std::int64_t>(limit));
  return read_all<stored_event>(db, ev_after, event_from, "read events");
}

core::result<std::vector<stored_event>> sqlite_store::animal_events(const std::string& animal_id, std::int64_t from_us,
                                                      std::int64_t to_us, std::int64_t after_store_seq,
                                                      std::size_t limit) {
  ev_animal.bind(1, animal_id);
  ev_animal.bind(2, from_us);
  ev_animal.bind(3, to_us);
  ev_animal.bind(4, after_store_seq);
  ev_animal.bind(5, static_cast<std::int64_t>(limit));
  return read_all<stored_event>(db, ev_animal, event_from, "read animal events");
}

core::result<std::vector<animal_row>> sqlite_store::read_animals(const std::string& after_animal_id,
                                                   std::size_t limit) {
  an_after.bind(1, after_animal_id);
  an_after.bind(2, static_cast<std::int64_t>(limit));
  auto out = read_all<animal_row>(db, an_after, animal_from, "read animals");
  if (!out) return out.err();
  for (auto& a : *out) {
    auto c = collars_of(a.animal_id);
    if (!c) return c.err();
    a.collars = std::move(*c);
  }
  return out;
}

core::result<std::vector<std::string>> sqlite_store::partition_animals(const std::string& topic,
                                                         std::int32_t partition) {
  std::vector<std::string> out;
  an_partition.bind(1, topic);
  an_partition.bind(2, std::int64_t{partition});
  int rc = 0;
  while ((rc = an_partition.step()) == SQLITE_ROW) out.push_back(an_partition.column_text(0));
  an_partition.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, "partition animals");
  return out;
}

core::result<std::vector<alert_row>> sqlite_store::read_alerts(const std::string& after_alert_id,
                                                 std::size_t limit) {
  al_after.bind(1, after_alert_id);
  al_after.bind(2, static_cast<std::int64_t>(limit));
  return read_all<alert_row>(db, al_after, alert_from, "read alerts");
}

core::result<std::vector<outbox_message>> sqlite_store::read_outbox(std::int64_t after_seq, std::size_t limit) {
  ob_after.bind(1, after_seq);
  ob_after.bind(2, static_cast<std::int64_t>(limit));
  return read_all<outbox_message>(db, ob_after, [](const sqlite::statement& st) {
    outbox_message m;
    m.seq = st.column_int(0);
    m.topic = st.column_text(1);
    m.key = st.column_blob(2);
    m.value = st.column_blob(3);
    m.headers = unpack_headers(st.column_blob(4));
    return m;
  }, "read outbox");
}

core::status sqlite_store::delete_outbox(std::int64_t through_seq) {
  ob_delete.bind(1, through_seq);
  return run(db, ob_delete, "delete outbox");
}

core::status sqlite_store::delete_outbox_seqs(std::span<const std::int64_t> seqs) {
  if (seqs.empty()) return core::ok_v;
  if (auto st = exec_status("BEGIN IMMEDIATE", "delete outbox rows"); !st) return st;
  for (const std::int64_t seq : seqs) {
    ob_delete_one.bind(1, seq);
    if (auto r = run(db, ob_delete_one, "delete outbox row"); !r) {
      exec(db, "ROLLBACK");
      return r;
    }
  }
  return exec_status("COMMIT", "delete outbox rows");
}

core::status sqlite_store::exec_status(const char* sql, std::string_view what) {
  const int rc = exec(db, sql);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  return core::ok_v;
}

core::result<std::uint64_t> sqlite_store::prune_events(std::int64_t before_us, std::size_t limit) {
  ev_prune.bind(1, before_us);
  ev_prune.bind(2, static_cast<std::int64_t>(limit));
  if (auto st = run(db, ev_prune, "prune events"); !st) return st.err();
  return static_cast<std::uint64_t>(sqlite3_changes(db));
}

core::result<std::uint64_t> sqlite_store::count(statement& st, std::string_view what) {
  const int rc = st.step();
  const std::int64_t n = rc == SQLITE_ROW ? st.column_int(0) : 0;
  st.reset();
  if (rc != SQLITE_ROW) return sqlite_error(db, rc, what);
  return static_cast<std::uint64_t>(n);
}

core::result<store_stats> sqlite_store::stats() {
  store_stats s;
  for (auto [st, out] : {std::pair{&ev_count, &s.events}, std::pair{&an_count, &s.animals},
                         std::pair{&al_count, &s.alerts}, std::pair{&ob_count, &s.outbox}}) {
    auto n = count(*st, "stats");
    if (!n) return n.err();
    *out = *n;
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = std::filesystem::file_size(path + suffix, ec);
    if (!ec) s.bytes += size;
  }
  return s;
}

core::status check_schema_version(sqlite3* db) {
  statement st(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  const int rc = st.step();
  if (rc == SQLITE_DONE) {
    statement ins(db, "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)");
    ins.bind(1, std::to_string(sqlite_schema_version));
    return run(db, ins, "read model: write schema version");
  }
  if (rc != SQLITE_ROW) return sqlite_error(db, rc, "read model: read schema version");
  const std::string v = st.column_text(0);
  if (v != std::to_string(sqlite_schema_version)) {
    return core::error::fatal("read model: schema version " + v + " in the file, this build reads " +
                              std::to_string(sqlite_schema_version));
  }
  return core::ok_v;
}

}  // namespace detail

using detail::sqlite_store;
using sqlite::exec;
using sqlite::sqlite_error;


core::result<std::unique_ptr<store>> open_sqlite_store(const sqlite_options& options) {
  auto s = std::make_unique<sqlite_store>();
  s->path = options.path;
  int rc = sqlite3_open_v2(options.path.c_str(), &s->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(s->db, rc, "read model: open " + options.path);
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, static_cast<int>(options.busy_timeout_ms));
  const std::string pragmas =
      std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = ") +
      (options.synchronous_full ? "FULL" : "NORMAL") + "; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -" +
      std::to_string(std::uint64_t{options.cache_mib} * 1024) + ";";
  if ((rc = exec(s->db, pragmas.c_str())) != SQLITE_OK) {
    return sqlite_error(s->db, rc, "read model: pragmas on " + options.path);
  }
  if ((rc = exec(s->db, "BEGIN IMMEDIATE")) != SQLITE_OK) return sqlite_error(s->db, rc, "read model: schema");
  if ((rc = exec(s->db, detail::k_sqlite_schema)) != SQLITE_OK) {
    auto e = sqlite_error(s->db, rc, "read model: schema of " + options.path);
    exec(s->db, "ROLLBACK");
    if ((rc & 0xFF) == SQLITE_NOTADB || (rc & 0xFF) == SQLITE_ERROR) e.kind = core::error_kind::fatal;
    return e;
  }
  if (auto st = detail::check_schema_version(s->db); !st) {
    exec(s->db, "ROLLBACK");
    return st.err();
  }
  if ((rc = exec(s->db, "COMMIT")) != SQLITE_OK) return sqlite_error(s->db, rc, "read model: schema commit");
  try {
    s->prepare();
  } catch (const std::exception& e) {
    return core::error::fatal(std::string("read model: ") + e.what());
  }
  return std::unique_ptr<store>(std::move(s));
}

}  // namespace herd::read_model
