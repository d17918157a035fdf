// A corrupt outbox at start: quarantined (never deleted), readable rows salvaged, no crash loop.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"
#include "herd/test_support/temp_dir.hpp"

using namespace herd;

namespace {

std::unique_ptr<buffer::outbox> open_at(const std::string& path, const core::clock& clock) {
  auto ob = buffer::outbox::open({.path = path, .synchronous = buffer::sync_mode::normal, .clock = &clock});
  REQUIRE_MESSAGE(ob.ok(), (ob.ok() ? "" : ob.err().message));
  return std::move(*ob);
}

void exec_raw(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// 2026-11-26T06:15:00Z
constexpr std::int64_t k_now_ms = 1'795'673'700'000;

}  // namespace

TEST_CASE("a file of garbage at the outbox path is quarantined and a fresh outbox starts") {
  test::scratch_dir dir;
  core::manual_clock clock(k_now_ms);
  const auto path = dir.file("outbox.db");
  std::string garbage(10'000, '\0');
  std::mt19937 rng(7);
  for (auto& c : garbage) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << garbage;

  {
    auto ob = open_at(path, clock);
    const auto& rep = ob->report();
    CHECK(rep.quarantined);
    CHECK(rep.quarantine_path == path + ".corrupt-20261126T061500Z");
    CHECK_FALSE(rep.problem.empty());
    CHECK(rep.salvaged_events == 0);
    CHECK(test_support::read_file(rep.quarantine_path) == garbage);  // moved aside untouched, never deleted
    auto a = ob->append("k", "", [](std::uint64_t) { return std::string("v"); });
    REQUIRE(a.ok());
    CHECK(a->seq == 1);
    CHECK(*ob->depth() == 1);
  }
  auto again = open_at(path, clock);  // no crash loop: the second start finds a good file
  CHECK_FALSE(again->report().quarantined);
  CHECK(*again->depth() == 1);
  CHECK(std::filesystem::exists(path + ".corrupt-20261126T061500Z"));
  // The fresh file has the configured page size, as any new outbox (it was SQLite's 4096).
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == static_cast<int>(buffer::outbox_options{}.page_size));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_CASE("an outbox with damaged pages is quarantined and every readable row is salvaged intact") {
  test::scratch_dir dir;
  core::manual_clock clock(k_now_ms);
  const auto path = dir.file("outbox.db");
  std::map<std::uint64_t, std::pair<std::string, std::string>> appended;  // seq -> key, value
  std::mt19937 rng(42);
  {
    auto ob = open_at(path, clock);
    for (int i = 0; i < 5; ++i) {
      REQUIRE(ob->add_dead_letter("t/" + std::to_string(i), "bad", "payload", 100 + i).ok());
    }
    for (int i = 0; i < 1000; ++i) {
      const std::string key = "animal-" + std::to_string(i % 37);
      std::string value(80 + rng() % 120, '\0');
      for (auto& c : value) c = static_cast<char>(rng());
      auto a = ob->append(key, "dedup-" + std::to_string(i), [&](std::uint64_t) { return value; });
      REQUIRE(a.ok());
      appended[a->seq] = {key, value};
    }
  }
  exec_raw(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  const auto size = std::filesystem::file_size(path);
  const std::uint64_t block = 4096;  // four of the default 1 KiB pages, one of SQLite's 4 KiB ones
  REQUIRE(size > 20 * block);
  {
    // Garbage over 8 KiB of whole pages in the middle of the file (well after the schema pages).
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>((size / block / 2) * block));
    for (std::uint64_t i = 0; i < 2 * block; ++i) f.put(static_cast<char>(rng()));
  }
  const std::string corrupt_bytes = test_support::read_file(path);

  std::uint64_t salvaged = 0;
  {
    auto ob = open_at(path, clock);
    const auto& rep = ob->report();
    REQUIRE(rep.quarantined);
    MESSAGE("problem: " << rep.problem << "; salvaged " << rep.salvaged_events << " events, "
                        << rep.salvaged_dead_letters << " dead letters, " << rep.salvaged_dedup_keys
                        << " dedup keys");
    CHECK(std::filesystem::exists(rep.quarantine_path));
    CHECK(test_support::read_file(rep.quarantine_path) == corrupt_bytes);
    salvaged = rep.salvaged_events;
    CHECK(salvaged > 0);
    CHECK(salvaged < 1000);  // the damaged pages held some
    CHECK(rep.highest_seq == 1000);

    auto rows = ob->peek(0, 5000);
    REQUIRE(rows.ok());
    CHECK(rows->size() == salvaged);
    for (const auto& r : *rows) {
      REQUIRE(appended.count(r.seq) == 1);
      CHECK(r.key == appended[r.seq].first);  // byte-identical to what was appended
      CHECK(r.value == appended[r.seq].second);
      CHECK(r.created_ms == k_now_ms);
    }
    CHECK(ob->dead_letters(false, 100)->size() == rep.salvaged_dead_letters);

    // Seqs are never reused, even those of rows that were lost (and may have been sent): the
    // sequence goes on after a gap.
    auto next = ob->append("k", "", [](std::uint64_t) { return std::string("after"); });
    REQUIRE(next.ok());
    CHECK(next->seq == 1000 + 10'000 + 1);
    // A salvaged dedup key still drops a redelivery (the damage here is in the outbox's pages).
    REQUIRE(rep.salvaged_dedup_keys == 1000);
    const auto& first = rows->front();
    auto dup = ob->append("k", "dedup-" + std::to_string(first.seq - 1), [](std::uint64_t) { return std::string("x"); });
    CHECK(dup->duplicate);
  }
  auto again = open_at(path, clock);
  CHECK_FALSE(again->report().quarantined);
  CHECK(*again->depth() == salvaged + 1);
}

TEST_CASE("a healthy outbox is not quarantined") {
  test::scratch_dir dir;
  core::manual_clock clock(k_now_ms);
  const auto path = dir.file("outbox.db");
  {
    auto ob = open_at(path, clock);
    REQUIRE(ob->append("k", "", [](std::uint64_t) { return std::string("v"); }).ok());
  }
  auto ob = open_at(path, clock);
  CHECK_FALSE(ob->report().quarantined);
  CHECK(*ob->depth() == 1);
  int quarantined = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    if (e.path().string().find(".corrupt-") != std::string::npos) ++quarantined;
  }
  CHECK(quarantined == 0);
}

// A corrupt outbox made before 2026-12-03 (one dedup table with an index on seq): its dedup keys
// are salvaged into the fresh file and moved into the generations, so they still drop
// redeliveries.
TEST_CASE("a damaged outbox of the former layout is salvaged with its dedup keys") {
  test::scratch_dir dir;
  core::manual_clock clock(k_now_ms);
  const auto path = dir.file("outbox.db");
  std::string sql = R"sql(
    PRAGMA page_size=1024;
    CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, key BLOB NOT NULL, value BLOB NOT NULL,
                         created_ms INTEGER NOT NULL);
    CREATE TABLE dedup (key BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX dedup_seq ON dedup(seq);
    CREATE TABLE pad (x BLOB);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
      INSERT INTO dedup SELECT CAST('dedup-' || i AS BLOB), i FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
      INSERT INTO outbox SELECT i, CAST('animal' AS BLOB), randomblob(100), 1 FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
      INSERT INTO pad SELECT randomblob(500) FROM n;
  )sql";
  exec_raw(path, sql.c_str());
  {
    // Garbage over the last 8 KiB: pages of the padding table, created last.
    const auto size = std::filesystem::file_size(path);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 8192));
    for (int i = 0; i < 8192; ++i) f.put('\x5a');
  }
  auto ob = open_at(path, clock);
  const auto& rep = ob->report();
  REQUIRE(rep.quarantined);
  CHECK(rep.salvaged_events == 200);
  CHECK(rep.salvaged_dedup_keys == 200);
  CHECK(rep.highest_seq == 200);
  for (const char* key : {"dedup-1", "dedup-200"}) {
    auto again = ob->append("animal", key, [](std::uint64_t) { return std::string("v"); });
    REQUIRE(again.ok());
    CHECK(again->duplicate);
  }
  auto next = ob->append("animal", "dedup-201", [](std::uint64_t) { return std::string("v"); });
  REQUIRE(next.ok());
  CHECK_FALSE(next->duplicate);
  CHECK(next->seq == 200 + 10'000 + 1);
}
