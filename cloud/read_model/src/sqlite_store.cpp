#include "herd/read_model/sqlite_store.hpp"

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <string_view>

#include "herd/sqlite/sqlite_db.hpp"
#include "sqlite_schema.hpp"

namespace herd::read_model {
namespace {

using sqlite::exec;
using sqlite::sqlite_error;
using sqlite::statement;

// Outbox headers as one blob: repeated (u32 length, bytes) pairs, little-endian.
std::string pack_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  auto put = [&](std::string_view s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    out.append(s);
  };
  for (const auto& [k, v] : headers) {
    put(k);
    put(v);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> unpack_headers(std::string_view in) {
  std::vector<std::pair<std::string, std::string>> out;
  auto get = [&](std::string& s) {
    if (in.size() < 4) return false;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= std::uint32_t{static_cast<unsigned char>(in[static_cast<std::size_t>(i)])} << (8 * i);
    in.remove_prefix(4);
    if (in.size() < n) return false;
    s.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  };
  for (;;) {
    std::string k, v;
    if (!get(k) || !get(v)) break;
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

constexpr const char* k_event_columns =
    "store_seq, event_id, animal_id, event_type, occurred_at_us, ingested_at_us, gateway_id, "
    "gateway_seq, envelope, topic, kafka_partition, kafka_offset";

stored_event event_from(const statement& st) {
  stored_event e;
  e.store_seq = st.column_int(0);
  e.event_id = st.column_text(1);
  e.animal_id = st.column_text(2);
  e.event_type = st.column_text(3);
  e.occurred_at_us = st.column_int(4);
  e.ingested_at_us = st.column_int(5);
  e.gateway_id = st.column_text(6);
  e.gateway_seq = static_cast<std::uint64_t>(st.column_int(7));
  e.envelope = st.column_blob(8);
  e.topic = st.column_text(9);
  e.partition = static_cast<std::int32_t>(st.column_int(10));
  e.offset = st.column_int(11);
  return e;
}

template <class T>
std::optional<T> opt_int(const statement& st, int col) {
  if (st.column_null(col)) return std::nullopt;
  return static_cast<T>(st.column_int(col));
}

std::optional<double> opt_double(const statement& st, int col) {
  if (st.column_null(col)) return std::nullopt;
  return st.column_double(col);
}

// Runs a prepared statement to completion (no rows expected); resets it.
core::status run(sqlite3* db, statement& st, std::string_view what) {
  const int rc = st.step();
  st.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, what);
  return core::ok_v;
}

class sqlite_store;

class sqlite_txn final : public store_txn {
 public:
  explicit sqlite_txn(sqlite_store& s) : s_(s) {}
  ~sqlite_txn() override;

  core::result<bool> claim(const std::string& topic, std::int32_t partition,
                           std::int64_t expected_next_offset) override;
  core::result<std::vector<bool>> append_events(std::span<const stored_event> events) override;
  core::result<std::vector<std::optional<animal_row>>> load_animals(
      std::span<const std::string> animal_ids) override;
  core::status upsert_animals(std::span<const animal_row> animals) override;
  core::status upsert_alerts(std::span<const alert_row> alerts) override;
  core::status append_outbox(std::span<const outbox_message> messages) override;
  core::status add_progress(std::span<const partition_progress> deltas) override;
  core::status append_advances(std::span<const advance_row> rows) override;
  core::status commit() override;

 private:
  sqlite_store& s_;
  bool done_ = false;
};

class sqlite_store final : public store {
 public:
  sqlite3* db = nullptr;
  std::string path;
  bool txn_open = false;
  statement begin_st, commit_st, rollback_st;
  statement ev_insert, ev_after, ev_animal, ev_prune, ev_count;
  statement an_select, an_upsert, an_after, an_partition, co_select, co_delete, co_insert, an_count;
  statement al_upsert, al_after, al_count;
  statement ob_insert, ob_after, ob_delete, ob_delete_one, ob_count;
  statement pr_select_one, pr_upsert, pr_all;
  statement adv_insert;

  ~sqlite_store() override {
    // Statements must be finalized before the connection closes.
    for (auto* st : {&begin_st, &commit_st, &rollback_st, &ev_insert, &ev_after, &ev_animal, &ev_prune,
                     &ev_count, &an_select, &an_upsert, &an_after, &an_partition, &co_select, &co_delete, &co_insert,
                     &an_count, &al_upsert, &al_after, &al_count, &ob_insert, &ob_after, &ob_delete, &ob_delete_one,
                     &ob_count, &pr_select_one, &pr_upsert, &pr_all, &adv_insert}) {
      *st = statement();
    }
    sqlite3_close_v2(db);
  }

  const char* backend() const override { return "sqlite"; }

  void prepare() {
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
    an_select = statement(db,
        "SELECT animal_id, topic, kafka_partition, state, events_applied, last_occurred_at_us, "
        "body_temp_c, activity_steps, rumination_min FROM animals WHERE animal_id = ?1");
    an_after = statement(db,
        "SELECT animal_id, topic, kafka_partition, state, events_applied, last_occurred_at_us, "
        "body_temp_c, activity_steps, rumination_min FROM animals WHERE animal_id > ?1 "
        "ORDER BY animal_id LIMIT ?2");
    an_partition = statement(db,
        "SELECT animal_id FROM animals WHERE topic = ?1 AND kafka_partition = ?2 ORDER BY animal_id");
    an_upsert = statement(db,
        "INSERT OR REPLACE INTO animals (animal_id, topic, kafka_partition, state, events_applied, "
        "last_occurred_at_us, body_temp_c, activity_steps, rumination_min) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    an_count = statement(db, "SELECT count(*) FROM animals");
    co_select = statement(db,
        "SELECT collar_id, last_seq, battery_pct, rssi_dbm, last_seen_us FROM collars "
        "WHERE animal_id = ?1 ORDER BY collar_id");
    co_delete = statement(db, "DELETE FROM collars WHERE animal_id = ?1");
    co_insert = statement(db,
        "INSERT INTO collars (animal_id, collar_id, last_seq, battery_pct, rssi_dbm, last_seen_us) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    al_upsert = statement(db,
        "INSERT OR REPLACE INTO alerts (alert_id, animal_id, kind, status, severity, raised_at_us, "
        "updated_at_us, resolved_at_us, acknowledged_at_us, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10)");
    al_after = statement(db,
        "SELECT alert_id, animal_id, kind, status, severity, raised_at_us, updated_at_us, "
        "resolved_at_us, acknowledged_at_us, body FROM alerts WHERE alert_id > ?1 ORDER BY alert_id "
        "LIMIT ?2");
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
    pr_all = statement(db,
        "SELECT topic, kafka_partition, next_offset, applied, duplicates, unknown_type, rejected, "
        "dead_lettered, watermark_us FROM progress ORDER BY topic, kafka_partition");
  }

  core::result<std::vector<collar_row>> collars_of(const std::string& animal_id) {
    std::vector<collar_row> out;
    co_select.bind(1, animal_id);
    int rc = 0;
    while ((rc = co_select.step()) == SQLITE_ROW) {
      collar_row c;
      c.collar_id = co_select.column_text(0);
      c.last_seq = co_select.column_int(1);
      c.battery_pct = opt_int<std::int32_t>(co_select, 2);
      c.rssi_dbm = opt_int<std::int32_t>(co_select, 3);
      c.last_seen_us = co_select.column_int(4);
      out.push_back(std::move(c));
    }
    co_select.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read collars");
    return out;
  }

  static animal_row animal_from(const statement& st) {
    animal_row a;
    a.animal_id = st.column_text(0);
    a.topic = st.column_text(1);
    a.partition = static_cast<std::int32_t>(st.column_int(2));
    a.state = st.column_blob(3);
    a.events_applied = static_cast<std::uint64_t>(st.column_int(4));
    a.last_occurred_at_us = st.column_int(5);
    a.body_temp_c = opt_double(st, 6);
    a.activity_steps = opt_double(st, 7);
    a.rumination_min = opt_double(st, 8);
    return a;
  }

  core::result<std::unique_ptr<store_txn>> begin() override {
    if (txn_open) return core::error::fatal("read model: a transaction is already open on this store");
    const int rc = begin_st.step();
    begin_st.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read model: begin");
    txn_open = true;
    return std::unique_ptr<store_txn>(std::make_unique<sqlite_txn>(*this));
  }

  core::result<std::vector<partition_progress>> load_progress() override {
    std::vector<partition_progress> out;
    int rc = 0;
    while ((rc = pr_all.step()) == SQLITE_ROW) {
      partition_progress p;
      p.topic = pr_all.column_text(0);
      p.partition = static_cast<std::int32_t>(pr_all.column_int(1));
      p.next_offset = pr_all.column_int(2);
      p.applied = static_cast<std::uint64_t>(pr_all.column_int(3));
      p.duplicates = static_cast<std::uint64_t>(pr_all.column_int(4));
      p.unknown_type = static_cast<std::uint64_t>(pr_all.column_int(5));
      p.rejected = static_cast<std::uint64_t>(pr_all.column_int(6));
      p.dead_lettered = static_cast<std::uint64_t>(pr_all.column_int(7));
      p.watermark_us = pr_all.column_int(8);
      out.push_back(std::move(p));
    }
    pr_all.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read model: load progress");
    return out;
  }

  core::result<std::vector<stored_event>> read_events(std::int64_t after_store_seq,
                                                      std::size_t limit) override {
    ev_after.bind(1, after_store_seq);
    ev_after.bind(2, static_cast<std::int64_t>(limit));
    return collect_events(ev_after, "read events");
  }

  core::result<std::vector<stored_event>> animal_events(const std::string& animal_id, std::int64_t from_us,
                                                        std::int64_t to_us, std::int64_t after_store_seq,
                                                        std::size_t limit) override {
    ev_animal.bind(1, animal_id);
    ev_animal.bind(2, from_us);
    ev_animal.bind(3, to_us);
    ev_animal.bind(4, after_store_seq);
    ev_animal.bind(5, static_cast<std::int64_t>(limit));
    return collect_events(ev_animal, "read animal events");
  }

  core::result<std::vector<stored_event>> collect_events(statement& st, std::string_view what) {
    std::vector<stored_event> out;
    int rc = 0;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(event_from(st));
    st.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, what);
    return out;
  }

  core::result<std::vector<animal_row>> read_animals(const std::string& after_animal_id,
                                                     std::size_t limit) override {
    std::vector<animal_row> out;
    an_after.bind(1, after_animal_id);
    an_after.bind(2, static_cast<std::int64_t>(limit));
    int rc = 0;
    while ((rc = an_after.step()) == SQLITE_ROW) out.push_back(animal_from(an_after));
    an_after.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read animals");
    for (auto& a : out) {
      auto c = collars_of(a.animal_id);
      if (!c) return c.err();
      a.collars = std::move(*c);
    }
    return out;
  }

  core::result<std::vector<std::string>> partition_animals(const std::string& topic,
                                                           std::int32_t partition) override {
    std::vector<std::string> out;
    an_partition.bind(1, topic);
    an_partition.bind(2, std::int64_t{partition});
    int rc = 0;
    while ((rc = an_partition.step()) == SQLITE_ROW) out.push_back(an_partition.column_text(0));
    an_partition.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "partition animals");
    return out;
  }

  core::result<std::vector<alert_row>> read_alerts(const std::string& after_alert_id,
                                                   std::size_t limit) override {
    std::vector<alert_row> out;
    al_after.bind(1, after_alert_id);
    al_after.bind(2, static_cast<std::int64_t>(limit));
    int rc = 0;
    while ((rc = al_after.step()) == SQLITE_ROW) {
      alert_row a;
      a.alert_id = al_after.column_text(0);
      a.animal_id = al_after.column_text(1);
      a.kind = al_after.column_text(2);
      a.status = al_after.column_text(3);
      a.severity = static_cast<std::int32_t>(al_after.column_int(4));
      a.raised_at_us = al_after.column_int(5);
      a.updated_at_us = al_after.column_int(6);
      a.resolved_at_us = opt_int<std::int64_t>(al_after, 7);
      a.acknowledged_at_us = opt_int<std::int64_t>(al_after, 8);
      a.body = al_after.column_blob(9);
      out.push_back(std::move(a));
    }
    al_after.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read alerts");
    return out;
  }

  core::result<std::vector<outbox_message>> read_outbox(std::int64_t after_seq, std::size_t limit) override {
    std::vector<outbox_message> out;
    ob_after.bind(1, after_seq);
    ob_after.bind(2, static_cast<std::int64_t>(limit));
    int rc = 0;
    while ((rc = ob_after.step()) == SQLITE_ROW) {
      outbox_message m;
      m.seq = ob_after.column_int(0);
      m.topic = ob_after.column_text(1);
      m.key = ob_after.column_blob(2);
      m.value = ob_after.column_blob(3);
      m.headers = unpack_headers(ob_after.column_blob(4));
      out.push_back(std::move(m));
    }
    ob_after.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read outbox");
    return out;
  }

  core::status delete_outbox(std::int64_t through_seq) override {
    ob_delete.bind(1, through_seq);
    return run(db, ob_delete, "delete outbox");
  }

  core::status delete_outbox_seqs(std::span<const std::int64_t> seqs) override {
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

  core::result<bool> relay_lease() override { return true; }

  core::status exec_status(const char* sql, std::string_view what) {
    const int rc = exec(db, sql);
    if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
    return core::ok_v;
  }

  core::result<std::uint64_t> prune_events(std::int64_t before_us, std::size_t limit) override {
    ev_prune.bind(1, before_us);
    ev_prune.bind(2, static_cast<std::int64_t>(limit));
    if (auto st = run(db, ev_prune, "prune events"); !st) return st.err();
    return static_cast<std::uint64_t>(sqlite3_changes(db));
  }

  core::result<std::uint64_t> count(statement& st, std::string_view what) {
    const int rc = st.step();
    const std::int64_t n = rc == SQLITE_ROW ? st.column_int(0) : 0;
    st.reset();
    if (rc != SQLITE_ROW) return sqlite_error(db, rc, what);
    return static_cast<std::uint64_t>(n);
  }

  core::result<store_stats> stats() override {
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
};

sqlite_txn::~sqlite_txn() {
  if (!done_) {
    (void)s_.rollback_st.step();
    s_.rollback_st.reset();
  }
  s_.txn_open = false;
}

core::result<bool> sqlite_txn::claim(const std::string& topic, std::int32_t partition,
                                     std::int64_t expected_next_offset) {
  // BEGIN IMMEDIATE already holds the database's write lock: reading is enough.
  auto& st = s_.pr_select_one;
  st.bind(1, topic);
  st.bind(2, std::int64_t{partition});
  const int rc = st.step();
  const std::int64_t stored = rc == SQLITE_ROW ? st.column_int(0) : -1;
  st.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(s_.db, rc, "claim");
  return stored == expected_next_offset;
}

core::result<std::vector<bool>> sqlite_txn::append_events(std::span<const stored_event> events) {
  std::vector<bool> fresh;
  fresh.reserve(events.size());
  auto& st = s_.ev_insert;
  for (const auto& e : events) {
    st.bind(1, e.event_id);
    st.bind(2, e.animal_id);
    st.bind(3, e.event_type);
    st.bind(4, e.occurred_at_us);
    st.bind(5, e.ingested_at_us);
    st.bind(6, e.gateway_id);
    st.bind(7, static_cast<std::int64_t>(e.gateway_seq));
    st.bind_blob(8, e.envelope);
    st.bind(9, e.topic);
    st.bind(10, std::int64_t{e.partition});
    st.bind(11, e.offset);
    if (auto r = run(s_.db, st, "append event"); !r) return r.err();
    fresh.push_back(sqlite3_changes(s_.db) == 1);
  }
  return fresh;
}

core::result<std::vector<std::optional<animal_row>>> sqlite_txn::load_animals(
    std::span<const std::string> animal_ids) {
  std::vector<std::optional<animal_row>> out;
  out.reserve(animal_ids.size());
  auto& st = s_.an_select;
  for (const auto& id : animal_ids) {
    st.bind(1, id);
    const int rc = st.step();
    std::optional<animal_row> row;
    if (rc == SQLITE_ROW) row = sqlite_store::animal_from(st);
    st.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(s_.db, rc, "load animal");
    if (row) {
      auto c = s_.collars_of(id);
      if (!c) return c.err();
      row->collars = std::move(*c);
    }
    out.push_back(std::move(row));
  }
  return out;
}

core::status sqlite_txn::upsert_animals(std::span<const animal_row> animals) {
  for (const auto& a : animals) {
    auto& st = s_.an_upsert;
    st.bind(1, a.animal_id);
    st.bind(2, a.topic);
    st.bind(3, std::int64_t{a.partition});
    st.bind_blob(4, a.state);
    st.bind(5, static_cast<std::int64_t>(a.events_applied));
    st.bind(6, a.last_occurred_at_us);
    st.bind_optional(7, a.body_temp_c);
    st.bind_optional(8, a.activity_steps);
    st.bind_optional(9, a.rumination_min);
    if (auto r = run(s_.db, st, "upsert animal"); !r) return r;
    s_.co_delete.bind(1, a.animal_id);
    if (auto r = run(s_.db, s_.co_delete, "replace collars"); !r) return r;
    for (const auto& c : a.collars) {
      auto& ci = s_.co_insert;
      ci.bind(1, a.animal_id);
      ci.bind(2, c.collar_id);
      ci.bind(3, c.last_seq);
      ci.bind_optional(4, c.battery_pct);
      ci.bind_optional(5, c.rssi_dbm);
      ci.bind(6, c.last_seen_us);
      if (auto r = run(s_.db, ci, "insert collar"); !r) return r;
    }
  }
  return core::ok_v;
}

core::status sqlite_txn::upsert_alerts(std::span<const alert_row> alerts) {
  auto& st = s_.al_upsert;
  for (const auto& a : alerts) {
    st.bind(1, a.alert_id);
    st.bind(2, a.animal_id);
    st.bind(3, a.kind);
    st.bind(4, a.status);
    st.bind(5, std::int64_t{a.severity});
    st.bind(6, a.raised_at_us);
    st.bind(7, a.updated_at_us);
    st.bind_optional(8, a.resolved_at_us);
    st.bind_optional(9, a.acknowledged_at_us);
    st.bind_blob(10, a.body);
    if (auto r = run(s_.db, st, "upsert alert"); !r) return r;
  }
  return core::ok_v;
}

core::status sqlite_txn::append_outbox(std::span<const outbox_message> messages) {
  auto& st = s_.ob_insert;
  for (const auto& m : messages) {
    st.bind(1, m.topic);
    st.bind_blob(2, m.key);
    st.bind_blob(3, m.value);
    st.bind_blob(4, pack_headers(m.headers));
    if (auto r = run(s_.db, st, "append outbox"); !r) return r;
  }
  return core::ok_v;
}

core::status sqlite_txn::append_advances(std::span<const advance_row> rows) {
  auto& st = s_.adv_insert;
  for (const auto& a : rows) {
    st.bind(1, a.topic);
    st.bind(2, std::int64_t{a.partition});
    st.bind(3, a.boundary_ms);
    st.bind(4, a.offset);
    st.bind(5, a.occurred_at_us);
    st.bind(6, a.ctx_at_ms);
    st.bind(7, std::int64_t{a.temp_excess_centi});
    st.bind(8, std::int64_t{a.rum_drop_pct});
    st.bind(9, std::int64_t{a.temp_vs_recent_centi});
    st.bind(10, std::int64_t{a.rum6_drop_pct});
    st.bind(11, std::int64_t{a.animals});
    if (auto s = run(s_.db, st, "append advance"); !s) return s;
  }
  return core::ok_v;
}

core::status sqlite_txn::add_progress(std::span<const partition_progress> deltas) {
  auto& st = s_.pr_upsert;
  for (const auto& p : deltas) {
    st.bind(1, p.topic);
    st.bind(2, std::int64_t{p.partition});
    st.bind(3, p.next_offset);
    st.bind(4, static_cast<std::int64_t>(p.applied));
    st.bind(5, static_cast<std::int64_t>(p.duplicates));
    st.bind(6, static_cast<std::int64_t>(p.unknown_type));
    st.bind(7, static_cast<std::int64_t>(p.rejected));
    st.bind(8, static_cast<std::int64_t>(p.dead_lettered));
    st.bind(9, p.watermark_us);
    if (auto r = run(s_.db, st, "store progress"); !r) return r;
  }
  return core::ok_v;
}

core::status sqlite_txn::commit() {
  if (done_) return core::error::fatal("read model: commit of a finished transaction");
  const int rc = s_.commit_st.step();
  s_.commit_st.reset();
  if (rc != SQLITE_DONE) return sqlite_error(s_.db, rc, "read model: commit");  // ~ rolls back
  done_ = true;
  return core::ok_v;
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

}  // namespace

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
  if (auto st = check_schema_version(s->db); !st) {
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
