// The outbox's dedup keys in two generations (schema.hpp): lookup, remember, forget the older
// generation; at open, the move of a former single dedup table into the generations and the
// refiling of the keys when dedup_window changed.
#include <chrono>

#include "outbox_impl.hpp"
#include "schema.hpp"

namespace herd::buffer {

using sqlite::exec;

namespace {

// ((seq - 1) / w) % 2, as SQL text for generation tables filed by window `w`.
std::string parity_sql(std::uint64_t w) { return "((seq - 1) / " + std::to_string(w) + ") % 2"; }

}  // namespace

std::uint64_t outbox::impl::dedup_generation(std::uint64_t seq) const { return (seq - 1) / dedup_window; }

core::status outbox::impl::run_script(const std::vector<std::string>& sql, std::string_view what) {
  for (const auto& s : sql) {
    if (const int rc = exec(db, s.c_str()); rc != SQLITE_OK) {
      auto err = sqlite_error(db, rc, what);
      (void)exec(db, "ROLLBACK");
      return err;
    }
  }
  return core::ok_v;
}

core::status outbox::impl::open_dedup() {
  bool legacy = false;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> state;  // window, generation
  {
    statement has(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dedup'");
    const int rc = has.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(db, rc, "dedup: read the schema");
    legacy = rc == SQLITE_ROW;
    statement st(db, "SELECT dedup_window, generation FROM dedup_state");
    if (st.step() == SQLITE_ROW) {
      state.emplace(static_cast<std::uint64_t>(st.column_int(0)), static_cast<std::uint64_t>(st.column_int(1)));
    }
  }  // finalized: an open statement would keep DROP TABLE from running
  if (legacy) {
    if (auto st = migrate_legacy_dedup(); !st) return st;
    state.reset();
  }
  if (state && state->first != dedup_window) {
    if (auto st = refile_dedup(state->first); !st) return st;
    state.reset();
  }
  if (state) {
    dedup_gen = state->second;
  } else {
    // Keys filed by this window but no generation on record (a migration, a refiling, a
    // salvaged file): the newest key's. Reads both tables whole, once.
    statement newest(db, "SELECT max(seq) FROM (SELECT max(seq) AS seq FROM dedup_0 UNION ALL SELECT max(seq) FROM dedup_1)");
    const int rc = newest.step();
    if (rc != SQLITE_ROW) return sqlite_error(db, rc, "dedup: the newest key");
    if (newest.column_type(0) == SQLITE_INTEGER) {
      const std::uint64_t g = dedup_generation(static_cast<std::uint64_t>(newest.column_int(0)));
      newest.reset();
      const std::string below = " WHERE (seq - 1) / " + std::to_string(dedup_window) + " + 1 < " + std::to_string(g);
      // Older than the previous generation: forgotten, as the next generation's start would.
      if (auto st = run_script({"BEGIN IMMEDIATE", "DELETE FROM dedup_0" + below, "DELETE FROM dedup_1" + below,
                                "INSERT INTO dedup_state(one, dedup_window, generation) VALUES(1, " +
                                    std::to_string(dedup_window) + ", " + std::to_string(g) +
                                    ") ON CONFLICT(one) DO UPDATE SET dedup_window = excluded.dedup_window, "
                                    "generation = excluded.generation",
                                "COMMIT"},
                               "dedup: record the generation");
          !st) {
        return st;
      }
      dedup_gen = g;
    }
  }
  dedup_find = statement(db,
                         "SELECT max(seq) FROM (SELECT seq FROM dedup_0 WHERE key = ?1 "
                         "UNION ALL SELECT seq FROM dedup_1 WHERE key = ?1)");
  for (int t = 0; t < 2; ++t) {
    const std::string table = "dedup_" + std::to_string(t);
    dedup_insert[t] = statement(db, "INSERT OR REPLACE INTO " + table + "(key, seq) VALUES(?,?)");
    dedup_clear[t] = statement(db, "DELETE FROM " + table);
  }
  dedup_state_set = statement(db,
                              "INSERT INTO dedup_state(one, dedup_window, generation) VALUES(1, ?, ?) "
                              "ON CONFLICT(one) DO UPDATE SET dedup_window = excluded.dedup_window, "
                              "generation = excluded.generation");
  return core::ok_v;
}

core::result<std::optional<std::uint64_t>> outbox::impl::dedup_lookup(const std::string& key) {
  dedup_find.bind_blob(1, key);
  const int rc = dedup_find.step();
  std::optional<std::uint64_t> seen;
  if (rc == SQLITE_ROW && dedup_find.column_type(0) == SQLITE_INTEGER) {
    seen = static_cast<std::uint64_t>(dedup_find.column_int(0));
  }
  dedup_find.reset();
  if (rc != SQLITE_ROW) return fail(rc, "dedup lookup");
  return seen;
}

core::status outbox::impl::clear_dedup_table(int t) {
  const int rc = dedup_clear[t].step();
  dedup_clear[t].reset();
  if (rc != SQLITE_DONE) return fail(rc, "dedup: empty a generation");
  return core::ok_v;
}

core::status outbox::impl::dedup_remember(const std::string& key, std::uint64_t seq) {
  const std::uint64_t g = dedup_generation(seq);
  const int t = static_cast<int>(g % 2);
  if (dedup_gen != g) {
    // A new generation: its table holds generation g - 2 or older. After a jump of more than one
    // (a gap in the seqs), the other table is older than g - 1 as well.
    if (auto st = clear_dedup_table(t); !st) return st;
    if (!dedup_gen || g - *dedup_gen >= 2) {
      if (auto st = clear_dedup_table(1 - t); !st) return st;
    }
    dedup_state_set.bind(1, static_cast<std::int64_t>(dedup_window));
    dedup_state_set.bind(2, static_cast<std::int64_t>(g));
    const int rc = dedup_state_set.step();
    dedup_state_set.reset();
    if (rc != SQLITE_DONE) return fail(rc, "dedup: record the generation");
  }
  dedup_insert[t].bind_blob(1, key);
  dedup_insert[t].bind(2, static_cast<std::int64_t>(seq));
  const int rc = dedup_insert[t].step();
  dedup_insert[t].reset();
  if (rc != SQLITE_DONE) return fail(rc, "dedup insert");
  return core::ok_v;
}

core::status outbox::impl::dedup_forget_older() {
  if (!dedup_gen) return core::ok_v;
  return clear_dedup_table(static_cast<int>((*dedup_gen + 1) % 2));
}

core::status outbox::impl::migrate_legacy_dedup() {
  const auto started = std::chrono::steady_clock::now();
  // In key order, the tables' own: without ORDER BY SQLite scans the smaller seq index, and the
  // inserts land at random (10.7 against 1.7 s for a million keys, Python sqlite3 model).
  const auto move = [&](const char* t) {
    return std::string("INSERT OR REPLACE INTO dedup_") + t + "(key, seq) SELECT key, seq FROM dedup WHERE " +
           parity_sql(dedup_window) + " = " + t + " ORDER BY key";
  };
  auto st = run_script({"BEGIN IMMEDIATE", move("0"), move("1"), "DROP TABLE dedup", "COMMIT"},
                       "move the dedup keys into generations");
  if (!st && st.err().code == "outbox.full") {
    // The copy needs room for the keys before the old table goes: without it the file would fail
    // to open at every start. A gateway short of disk gives up its dedup keys instead.
    if (auto dropped = run_script({"DROP TABLE dedup"}, "drop the former dedup table"); !dropped) return dropped;
    log->warn("no room to move the outbox's dedup keys into generations ({}); dropped them: a "
              "redelivery of a reading stored before this start is stored again",
              st.err().message);
    return core::ok_v;
  }
  if (!st) return st;
  log->info("moved the outbox's dedup keys into two generation tables in {:.1f} s (once, for a file "
            "made before 2026-12-03)",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return core::ok_v;
}

core::status outbox::impl::refile_dedup(std::uint64_t old_window) {
  const std::string p = parity_sql(dedup_window);
  const std::string upsert = " ON CONFLICT(key) DO UPDATE SET seq = max(seq, excluded.seq)";
  auto st = run_script(
      {"BEGIN IMMEDIATE",
       "CREATE TEMP TABLE dedup_refile (key BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID",
       "INSERT INTO temp.dedup_refile SELECT key, seq FROM dedup_0 WHERE " + p + " = 1" + upsert,
       "INSERT INTO temp.dedup_refile SELECT key, seq FROM dedup_1 WHERE " + p + " = 0" + upsert,
       "DELETE FROM dedup_0 WHERE " + p + " = 1", "DELETE FROM dedup_1 WHERE " + p + " = 0",
       "INSERT INTO dedup_0 SELECT key, seq FROM temp.dedup_refile WHERE " + p + " = 0" + upsert,
       "INSERT INTO dedup_1 SELECT key, seq FROM temp.dedup_refile WHERE " + p + " = 1" + upsert,
       "DROP TABLE temp.dedup_refile", "DELETE FROM dedup_state", "COMMIT"},
      "refile the dedup keys");
  if (!st) return st;
  log->info("outbox dedup_window changed from {} to {}: dedup keys refiled", old_window, dedup_window);
  return core::ok_v;
}

}  // namespace herd::buffer
