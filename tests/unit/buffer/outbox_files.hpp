#pragma once
// What the outbox tests read from an outbox's files behind its back: its rows, and its rows as a
// power cut now would leave them (test_support::fault_vfs). Thread: the test's.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <string>

#include <herd/test_support/fault_vfs.hpp>

#include "herd/buffer/outbox.hpp"

// The outbox's private counters, for the tests that read them (outbox.hpp declares the friend).
struct herd::buffer::outbox_test_access {
  static std::uint64_t timed_checkpoints(const outbox& o) { return o.timed_checkpoints(); }
  static bool acks_awaiting_sync(const outbox& o) { return o.acks_awaiting_sync(); }
};

namespace herd::test {

// Appends one 200-byte reading of the key "animal"; the append must succeed.
inline void append_one(buffer::outbox& ob) {
  REQUIRE(ob.append("animal", "", [](std::uint64_t) { return std::string(200, 'x'); }).ok());
}

// Rows in the outbox table of the database at `path` (opened read-write: SQLite rebuilds the
// -shm it finds missing, as after a reboot).
inline long outbox_rows(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox", -1, &st, nullptr) == SQLITE_OK);
  const long n = sqlite3_step(st) == SQLITE_ROW ? static_cast<long>(sqlite3_column_int64(st, 0)) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// The outbox's files (`path` and its WAL) as a power cut now would leave them, copied to `copy`
// (fault_vfs::power_cut_copy), counted.
inline long rows_after_power_cut(const test_support::fault_vfs& vfs, const std::string& path, const std::string& copy) {
  vfs.power_cut_copy({path, path + "-wal"}, {copy, copy + "-wal"});
  return outbox_rows(copy);
}

}  // namespace herd::test
