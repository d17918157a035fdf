// The outbox's dedup keys in two generations (schema.hpp): lookup, remember, forget the older
// generation, and the move of a former single dedup table into the generations at open.
#include <chrono>

#include "outbox_impl.hpp"
#include "schema.hpp"

namespace herd::buffer {

using sqlite::exec;

std::uint64_t outbox::impl::dedup_generation(std::uint64_t seq) const {
  return (seq - 1) / std::max<std::uint64_t>(dedup_window, 1);
}

void outbox::impl::prepare_dedup() {
  dedup_find = statement(db,
                         "SELECT max(seq) FROM (SELECT seq FROM dedup_0 WHERE key = ?1 "
                         "UNION ALL SELECT seq FROM dedup_1 WHERE key = ?1)");
  for (int t = 0; t < 2; ++t) {
    const std::string table = "dedup_" + std::to_string(t);
    dedup_insert[t] = statement(db, "INSERT OR REPLACE INTO " + table + "(key, seq) VALUES(?,?)");
    dedup_clear[t] = statement(db, "DELETE FROM " + table);
  }
  // The generation of the newest seq: the newest key's, or a later one. Assuming a later one only
  // keeps older keys one generation longer; it never empties a table too soon.
  if (next_seq > 1) dedup_gen = dedup_generation(next_seq - 1);
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
    // (a gap in the seqs, a smaller window), the other table is older than g - 1 as well.
    if (auto st = clear_dedup_table(t); !st) return st;
    if (!dedup_gen || g - *dedup_gen >= 2) {
      if (auto st = clear_dedup_table(1 - t); !st) return st;
    }
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
  {
    statement has(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dedup'");
    if (has.step() != SQLITE_ROW) return core::ok_v;
  }  // finalized: an open statement would keep DROP TABLE from running
  const auto started = std::chrono::steady_clock::now();
  // In key order, the tables' own: without ORDER BY SQLite scans the smaller seq index, and the
  // inserts land at random (10.7 against 1.7 s for a million keys, Python sqlite3 model).
  const std::string w = std::to_string(std::max<std::uint64_t>(dedup_window, 1));
  const auto move = [&](const char* t) {
    return std::string("INSERT OR REPLACE INTO dedup_") + t + "(key, seq) SELECT key, seq FROM dedup WHERE ((seq - 1) / " +
           w + ") % 2 = " + t + " ORDER BY key";
  };
  const std::string move0 = move("0"), move1 = move("1");
  for (const char* sql : {"BEGIN IMMEDIATE", move0.c_str(), move1.c_str(), "DROP TABLE dedup", "COMMIT"}) {
    if (const int rc = exec(db, sql); rc != SQLITE_OK) {
      auto err = sqlite_error(db, rc, "move the dedup keys into generations");
      (void)exec(db, "ROLLBACK");
      return err;
    }
  }
  log->info("moved the outbox's dedup keys into two generation tables in {:.1f} s (once, for a file "
            "made before 2026-12-03)",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return core::ok_v;
}

}  // namespace herd::buffer
