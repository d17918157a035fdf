#include "recovery.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>

#include "herd/core/time_format.hpp"
#include "herd/sqlite/sqlite_db.hpp"
#include "outbox_errors.hpp"
#include "schema.hpp"

namespace herd::buffer::detail {

using sqlite::exec;
using sqlite::statement;

namespace {

namespace fs = std::filesystem;

struct db_handle {
  sqlite3* db = nullptr;
  ~db_handle() { sqlite3_close_v2(db); }
};

bool is_corruption(int rc) {
  // A read error inside the file (a bad SD-card sector) is as unrecoverable as a torn page.
  return (rc & 0xFF) == SQLITE_CORRUPT || (rc & 0xFF) == SQLITE_NOTADB || rc == SQLITE_IOERR_READ ||
         rc == SQLITE_IOERR_SHORT_READ;
}

// "2026-11-26T06:15:00.123Z" -> "20261126T061500Z"
std::string compact_utc(std::int64_t ms) {
  std::string out;
  for (const char c : core::iso8601_utc_ms(ms)) {
    if (c == '.') break;
    if (c != '-' && c != ':') out += c;
  }
  return out + "Z";
}

// Reads every row of `sql` (shape: "... WHERE k > ?1 ORDER BY k", k in column 0) that SQLite can
// still read. A scan stops at the first unreadable page, so where one fails this probes for the
// next key it can seek to (growing steps, then bisection) and carries on from there: only the
// rows on damaged pages are lost. `row` returns whether it kept the row.
std::uint64_t salvage_rows(sqlite3* src, const char* sql, const std::function<bool(statement&)>& row) {
  statement st;
  try {
    st = statement(src, sql);
  } catch (const std::exception&) {
    return 0;  // the schema itself is unreadable: nothing to salvage from this table
  }
  const auto readable_after = [&](std::int64_t k) {
    st.bind(1, k);
    const int rc = st.step();
    st.reset();
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
  };
  constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
  std::int64_t after = 0;  // seqs and ids start at 1
  std::uint64_t kept = 0;
  for (;;) {
    st.bind(1, after);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      const std::int64_t k = st.column_int(0);
      if (k <= after) {  // a damaged page can yield keys out of order: treat as unreadable
        rc = SQLITE_CORRUPT;
        break;
      }
      after = k;
      if (row(st)) ++kept;
    }
    st.reset();
    if (rc == SQLITE_DONE) return kept;
    std::int64_t bad = after;
    std::optional<std::int64_t> good;
    for (std::int64_t step = 1; step > 0 && after <= k_max - step; step *= 2) {
      if (readable_after(after + step)) {
        good = after + step;
        break;
      }
      bad = after + step;
      if (step > k_max / 2) break;
    }
    if (!good) return kept;
    while (*good - bad > 1) {
      const std::int64_t mid = bad + (*good - bad) / 2;
      if (readable_after(mid)) {
        good = mid;
      } else {
        bad = mid;
      }
    }
    after = *good;
  }
}

// Seqs skipped after a salvage (see salvage_into): the gap a crash in a claimed block leaves too.
constexpr std::int64_t k_salvage_gap = 10'000;

std::optional<std::int64_t> read_sequence(sqlite3* src, const char* table) {
  try {
    statement st(src, "SELECT seq FROM sqlite_sequence WHERE name = ?");
    st.bind(1, std::string_view(table));
    if (st.step() == SQLITE_ROW && st.column_type(0) == SQLITE_INTEGER) return st.column_int(0);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

bool has_table(sqlite3* src, const char* name) {
  try {
    statement st(src, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    st.bind(1, std::string_view(name));
    return st.step() == SQLITE_ROW;
  } catch (const std::exception&) {
    return false;
  }
}

// outbox_seq.high of `src` (schema.hpp), when it still reads.
std::optional<std::int64_t> read_high(sqlite3* src) {
  try {
    statement st(src, "SELECT high FROM outbox_seq");
    if (st.step() == SQLITE_ROW && st.column_type(0) == SQLITE_INTEGER) return st.column_int(0);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Raises the AUTOINCREMENT counter of `table` to at least `at_least`.
core::status keep_sequence(sqlite3* dst, const char* table, std::int64_t at_least) {
  statement upd(dst, "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2");
  upd.bind(1, at_least);
  upd.bind(2, std::string_view(table));
  int rc = upd.step();
  if (rc != SQLITE_DONE) return sqlite_error(dst, rc, "salvage: sequence");
  if (sqlite3_changes(dst) > 0) return core::ok_v;
  statement ins(dst, "INSERT INTO sqlite_sequence(name, seq) VALUES(?2, ?1)");
  ins.bind(1, at_least);
  ins.bind(2, std::string_view(table));
  rc = ins.step();
  if (rc != SQLITE_DONE) return sqlite_error(dst, rc, "salvage: sequence");
  return core::ok_v;
}

// Builds the fresh outbox at `dst_path` from what `src` still yields, in one transaction.
core::status salvage_into(sqlite3* src, const std::string& dst_path, std::uint32_t page_size, open_report& report) {
  db_handle dst;
  int rc = sqlite3_open_v2(dst_path.c_str(), &dst.db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(dst.db, rc, "salvage: create " + dst_path);
  sqlite3_extended_result_codes(dst.db, 1);
  // Rollback journal while building: the result is one self-contained file to rename into place
  // (open() switches it to WAL). FULL: it must be on disk before the corrupt file moves aside.
  // The configured page size, as for any new outbox (before the first table fixes it).
  if (page_size != 0) {
    rc = exec(dst.db, ("PRAGMA page_size=" + std::to_string(page_size)).c_str());
    if (rc != SQLITE_OK) return sqlite_error(dst.db, rc, "salvage: page_size");
  }
  for (const char* sql : {"PRAGMA journal_mode=DELETE", "PRAGMA synchronous=FULL", k_schema, "BEGIN"}) {
    rc = exec(dst.db, sql);
    if (rc != SQLITE_OK) return sqlite_error(dst.db, rc, std::string("salvage: ") + sql);
  }
  try {
    std::int64_t max_seq = 0;
    statement ins(dst.db, "INSERT OR IGNORE INTO outbox(seq, key, value, created_ms) VALUES(?,?,?,?)");
    report.salvaged_events = salvage_rows(
        src, "SELECT seq, key, value, created_ms FROM outbox WHERE seq > ?1 ORDER BY seq",
        [&](statement& r) {
          if (r.column_type(1) != SQLITE_BLOB || r.column_type(2) != SQLITE_BLOB ||
              r.column_type(3) != SQLITE_INTEGER) {
            return false;  // not what append() writes: a damaged cell
          }
          ins.bind(1, r.column_int(0));
          ins.bind_blob(2, r.column_blob(1));
          ins.bind_blob(3, r.column_blob(2));
          ins.bind(4, r.column_int(3));
          const int irc = ins.step();
          ins.reset();
          if (irc != SQLITE_DONE || sqlite3_changes(dst.db) == 0) return false;
          max_seq = std::max(max_seq, r.column_int(0));
          return true;
        });

    statement dl(dst.db,
                 "INSERT OR IGNORE INTO dead_letter(id, received_ms, source, reason, payload, forwarded)"
                 " VALUES(?,?,?,?,?,?)");
    std::int64_t max_dl = 0;
    report.salvaged_dead_letters = salvage_rows(
        src,
        "SELECT id, received_ms, source, reason, payload, forwarded FROM dead_letter WHERE id > ?1 "
        "ORDER BY id",
        [&](statement& r) {
          if (r.column_type(1) != SQLITE_INTEGER || r.column_type(5) != SQLITE_INTEGER) return false;
          dl.bind(1, r.column_int(0));
          dl.bind(2, r.column_int(1));
          dl.bind(3, std::string_view(r.column_text(2)));
          dl.bind(4, std::string_view(r.column_text(3)));
          dl.bind_blob(5, r.column_blob(4));
          dl.bind(6, r.column_int(5) != 0 ? 1 : 0);
          const int irc = dl.step();
          dl.reset();
          if (irc != SQLITE_DONE || sqlite3_changes(dst.db) == 0) return false;
          max_dl = std::max(max_dl, r.column_int(0));
          return true;
        });

    // The dedup keys keep redeliveries of already stored readings from being stored twice. A file
    // made before 2026-12-03 has one table with an index on seq: salvaged around damaged pages,
    // copied as it is, and open() moves it into the generations. A generation table has no index
    // on seq, so it is read once in its own order and given up at its first damaged page.
    std::int64_t max_dedup = 0;
    statement legacy_insert;
    if (src != nullptr && has_table(src, "dedup")) {
      if (exec(dst.db, k_legacy_dedup) != SQLITE_OK) return sqlite_error(dst.db, SQLITE_ERROR, "salvage: dedup");
      legacy_insert = statement(dst.db, "INSERT OR IGNORE INTO dedup(key, seq) VALUES(?,?)");
      report.salvaged_dedup_keys += salvage_rows(
          src, "SELECT seq, key FROM dedup WHERE seq > ?1 ORDER BY seq", [&](statement& r) {
            if (r.column_type(1) != SQLITE_BLOB) return false;
            legacy_insert.bind_blob(1, r.column_blob(1));
            legacy_insert.bind(2, r.column_int(0));
            const int irc = legacy_insert.step();
            legacy_insert.reset();
            if (irc != SQLITE_DONE || sqlite3_changes(dst.db) == 0) return false;
            max_dedup = std::max(max_dedup, r.column_int(0));
            return true;
          });
    }
    for (const char* table : {"dedup_0", "dedup_1"}) {
      const std::string name = table;
      statement read;
      try {
        read = statement(src, "SELECT seq, key FROM " + name);
      } catch (const std::exception&) {
        continue;  // no such table, or an unreadable schema
      }
      statement dd(dst.db, "INSERT OR IGNORE INTO " + name + "(key, seq) VALUES(?,?)");
      while (read.step() == SQLITE_ROW) {
        if (read.column_type(0) != SQLITE_INTEGER || read.column_type(1) != SQLITE_BLOB) continue;
        dd.bind_blob(1, read.column_blob(1));
        dd.bind(2, read.column_int(0));
        const int irc = dd.step();
        dd.reset();
        if (irc != SQLITE_DONE) return sqlite_error(dst.db, irc, "salvage: dedup");
        if (sqlite3_changes(dst.db) == 0) continue;
        ++report.salvaged_dedup_keys;
        max_dedup = std::max(max_dedup, read.column_int(0));
      }
    }

    // Seqs already handed downstream (gateway_seq) must never come back: the counter goes on after
    // the highest the corrupt file still shows (rows, dedup keys, the high-water mark; an outbox
    // table made before 2026-12-03 kept it in sqlite_sequence), even if those rows were
    // acknowledged, and after a gap: with synchronous = full the mark moves only when deletes need
    // it, so the rows on the damaged pages may be newer than anything readable, and sent already.
    max_seq = std::max({max_seq, max_dedup, read_sequence(src, "outbox").value_or(0), read_high(src).value_or(0)});
    max_dl = std::max(max_dl, read_sequence(src, "dead_letter").value_or(0));
    statement high(dst.db, "INSERT INTO outbox_seq(one, high) VALUES(1, ?)");
    high.bind(1, max_seq > 0 ? max_seq + k_salvage_gap : 0);  // nothing readable: nothing to go after
    if (rc = high.step(); rc != SQLITE_DONE) return sqlite_error(dst.db, rc, "salvage: seq high-water mark");
    if (auto st = keep_sequence(dst.db, "dead_letter", max_dl); !st) return st;
    report.highest_seq = static_cast<std::uint64_t>(max_seq);
  } catch (const std::exception& e) {
    return core::error::fatal(std::string("salvage: ") + e.what());
  }
  rc = exec(dst.db, "COMMIT");
  if (rc != SQLITE_OK) return sqlite_error(dst.db, rc, "salvage: commit");
  return core::ok_v;
}

core::error errno_error(const std::string& what) {
  return core::error::fatal(what + ": " + std::strerror(errno));
}

// Moves the corrupt file aside and the salvaged one into place. The corrupt file is hard-linked
// to its quarantine name first, so at every instant one of the two names holds it; its -wal is
// moved before the fresh file takes the name, so no stale WAL is ever replayed into it (a crash
// between the two leaves the old file without its WAL at `path`: the next start checks it again).
core::status swap_in(const std::string& path, const std::string& fresh, const std::string& quarantine) {
  const bool linked = ::link(path.c_str(), quarantine.c_str()) == 0;
  for (const char* side : {"-wal", "-shm"}) {
    const std::string from = path + side;
    if (!fs::exists(from)) continue;
    const std::string to = quarantine + side;
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_error("quarantine " + from);
  }
  if (!linked) {
    // No hard links on this file system: a plain rename (a crash right here leaves no outbox,
    // and the next start creates an empty one; the quarantined file keeps every row).
    if (::rename(path.c_str(), quarantine.c_str()) != 0) return errno_error("quarantine " + path);
  }
  if (::rename(fresh.c_str(), path.c_str()) != 0) return errno_error("install salvaged " + path);
  fsync_dir(path);
  return core::ok_v;
}

}  // namespace

void fsync_dir(const std::string& file) {
  const auto dir = fs::path(file).parent_path();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

core::result<std::optional<std::string>> find_corruption(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<std::string>();
  db_handle h;
  int rc = sqlite3_open_v2(path.c_str(), &h.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    if (is_corruption(rc)) return std::optional<std::string>(sqlite3_errstr(rc));
    return sqlite_error(h.db, rc, "open " + path);
  }
  sqlite3_extended_result_codes(h.db, 1);
  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(h.db, "PRAGMA quick_check(1)", -1, &st, nullptr);
  std::optional<std::string> problem;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      std::string verdict = text != nullptr ? text : "";
      std::replace(verdict.begin(), verdict.end(), '\n', ' ');  // one log line
      if (verdict != "ok") problem = "quick_check: " + verdict;
      rc = SQLITE_OK;
    }
  }
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    if (is_corruption(rc)) {
      problem = sqlite3_errmsg(h.db);
    } else {
      auto err = sqlite_error(h.db, rc, "quick_check " + path);
      sqlite3_finalize(st);
      return err;
    }
  }
  sqlite3_finalize(st);
  return problem;
}

core::status quarantine_and_salvage(const std::string& path, std::int64_t now_ms, std::uint32_t page_size,
                                    open_report& report) {
  const std::string fresh = path + ".salvage";
  std::error_code ec;
  fs::remove(fresh, ec);  // left by a start that crashed while salvaging: built again from scratch
  fs::remove(fresh + "-journal", ec);
  {
    // Read-only: reading never checkpoints or otherwise writes into the corrupt file.
    db_handle src;
    const int rc =
        sqlite3_open_v2(path.c_str(), &src.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_extended_result_codes(src.db, 1);
      if (auto st = salvage_into(src.db, fresh, page_size, report); !st) return st;
    } else if (auto st = salvage_into(nullptr, fresh, page_size, report); !st) {
      return st;
    }
  }
  std::string quarantine = path + ".corrupt-" + compact_utc(now_ms);
  for (int n = 2; fs::exists(quarantine, ec); ++n) {
    quarantine = path + ".corrupt-" + compact_utc(now_ms) + "-" + std::to_string(n);
  }
  if (auto st = swap_in(path, fresh, quarantine); !st) return st;
  report.quarantined = true;
  report.quarantine_path = quarantine;
  return core::ok_v;
}

}  // namespace herd::buffer::detail
