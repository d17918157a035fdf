#include <doctest/doctest.h>

#include <sqlite3.h>

#include <filesystem>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"

using namespace herd;

namespace {

std::unique_ptr<buffer::outbox> open_at(const std::string& path, const core::clock* clock = nullptr) {
  auto ob = buffer::outbox::open({path, buffer::sync_mode::full, clock});
  REQUIRE_MESSAGE(ob.ok(), (ob.ok() ? "" : ob.err().message));
  return std::move(*ob);
}

std::uint64_t append(buffer::outbox& ob, const std::string& key, const std::string& value,
                     const std::string& dedup = "") {
  auto r = ob.append(key, dedup, [&](std::uint64_t seq) { return value + "#" + std::to_string(seq); });
  REQUIRE(r.ok());
  return r->seq;
}

std::string journal_mode(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  sqlite3_step(st);
  std::string mode = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return mode;
}

}  // namespace

TEST_CASE("append, peek in order, ack deletes only what was acknowledged") {
  test::scratch_dir dir;
  core::manual_clock clock(1'000'000);
  auto ob = open_at(dir.file("outbox.db"), &clock);
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 10; ++i) seqs.push_back(append(*ob, "animal-" + std::to_string(i % 3), "v" + std::to_string(i)));
  for (std::size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i] == seqs[i - 1] + 1);

  auto rows = ob->peek(0, 100);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 10);
  for (std::size_t i = 0; i < rows->size(); ++i) {
    CHECK((*rows)[i].seq == seqs[i]);
    // build() saw the seq the row was stored under
    CHECK((*rows)[i].value == "v" + std::to_string(i) + "#" + std::to_string(seqs[i]));
    CHECK((*rows)[i].key == "animal-" + std::to_string(i % 3));
    CHECK((*rows)[i].created_ms == 1'000'000);
  }
  auto tail = ob->peek(seqs[6], 2);
  REQUIRE(tail->size() == 2);
  CHECK((*tail)[0].seq == seqs[7]);

  const std::vector<std::uint64_t> acked = {seqs[0], seqs[2], seqs[3]};
  REQUIRE(ob->ack(acked).ok());
  CHECK(*ob->depth() == 7);
  rows = ob->peek(0, 100);
  CHECK((*rows)[0].seq == seqs[1]);
  CHECK((*rows)[1].seq == seqs[4]);
  CHECK(journal_mode(dir.file("outbox.db")) == "wal");
}

TEST_CASE("peek into a caller's rows replaces them: fewer, more, longer and shorter values") {
  test::scratch_dir dir;
  core::manual_clock clock(2'000'000);
  auto ob = open_at(dir.file("outbox.db"), &clock);
  const auto a = append(*ob, "animal-a", std::string(300, 'a'));
  const auto b = append(*ob, "b", "short");
  const auto c = append(*ob, "animal-c", std::string(40, 'c'));
  std::vector<buffer::record> rows(5, buffer::record{99, "stale key", std::string(500, 's'), 7});
  REQUIRE(ob->peek(0, 2, rows).ok());  // five stale rows -> the first two stored
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].seq == a);
  CHECK(rows[0].key == "animal-a");
  CHECK(rows[0].value == std::string(300, 'a') + "#" + std::to_string(a));
  CHECK(rows[0].created_ms == 2'000'000);
  CHECK(rows[1].key == "b");
  CHECK(rows[1].value == "short#" + std::to_string(b));
  REQUIRE(ob->peek(a, 10, rows).ok());  // two rows -> two others, their values' lengths swapped around
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].seq == b);
  CHECK(rows[0].value == "short#" + std::to_string(b));
  CHECK(rows[1].seq == c);
  CHECK(rows[1].key == "animal-c");
  CHECK(rows[1].value == std::string(40, 'c') + "#" + std::to_string(c));
  REQUIRE(ob->peek(c, 10, rows).ok());  // nothing after the last: empty
  CHECK(rows.empty());
  rows.assign(1, buffer::record{99, "stale", "stale", 7});
  REQUIRE(ob->peek(0, 10, rows).ok());  // one stale row -> all three: grown
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].seq == a);
  CHECK(rows[0].key == "animal-a");
  CHECK(rows[2].seq == c);
  CHECK(rows[2].value == std::string(40, 'c') + "#" + std::to_string(c));
}

TEST_CASE("the outbox survives a reopen and never reuses a sequence number") {
  test::scratch_dir dir;
  std::uint64_t last = 0;
  {
    auto ob = open_at(dir.file("o.db"));
    for (int i = 0; i < 5; ++i) last = append(*ob, "k", "v");
    std::vector<std::uint64_t> first_two = {1, 2};
    REQUIRE(ob->ack(first_two).ok());
  }
  {
    auto ob = open_at(dir.file("o.db"));
    auto rows = ob->peek(0, 10);
    REQUIRE(rows->size() == 3);
    CHECK(rows->front().seq == 3);
    CHECK(rows->back().seq == last);
    std::vector<std::uint64_t> all;
    for (const auto& r : *rows) all.push_back(r.seq);
    REQUIRE(ob->ack(all).ok());
    CHECK(*ob->depth() == 0);
  }
  auto ob = open_at(dir.file("o.db"));
  CHECK(append(*ob, "k", "v") == last + 1);  // empty outbox, yet the sequence goes on
}

TEST_CASE("a dedup key is stored once") {
  test::scratch_dir dir;
  auto ob = open_at(dir.file("o.db"));
  const auto first = append(*ob, "k", "v", "farm/c1/7/100");
  auto again = ob->append("k", "farm/c1/7/100", [](std::uint64_t) { return std::string("other"); });
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  CHECK(again->seq == first);
  CHECK(*ob->depth() == 1);
  CHECK_FALSE(ob->append("k", "farm/c1/8/100", [](std::uint64_t) { return std::string("x"); })->duplicate);
  CHECK(*ob->depth() == 2);
}

TEST_CASE("refresh mode stores an ambiguous key again and remembers it") {
  test::scratch_dir dir;
  auto ob = open_at(dir.file("o.db"));
  const auto first = append(*ob, "k", "v", "farm/c1/0/0");
  auto again = ob->append("k", "farm/c1/0/0", [](std::uint64_t) { return std::string("v2"); },
                          buffer::outbox::dedup_mode::refresh);
  REQUIRE(again.ok());
  CHECK_FALSE(again->duplicate);
  CHECK(again->seq == first + 1);
  auto redelivery = ob->append("k", "farm/c1/0/0", [](std::uint64_t) { return std::string("v3"); });
  CHECK(redelivery->duplicate);
  CHECK(redelivery->seq == first + 1);  // points at the newest reading with that key
  CHECK(*ob->depth() == 2);
}

namespace {

bool stored_as_new(buffer::outbox& o, const std::string& dedup_key) {
  auto r = o.append("k", dedup_key, [](std::uint64_t) { return std::string("v"); });
  REQUIRE(r.ok());
  return !r->duplicate;
}

void others(buffer::outbox& o, int from, int to) {
  for (int i = from; i < to; ++i) REQUIRE(stored_as_new(o, "other-" + std::to_string(i)));
}

}  // namespace

TEST_CASE("dedup keys are remembered for a window across a generation's start, then forgotten") {
  test::scratch_dir dir;
  auto ob = buffer::outbox::open({dir.file("o.db"), buffer::sync_mode::full, nullptr, 16});
  REQUIRE(ob.ok());
  auto& o = **ob;
  others(o, 0, 15);                       // seqs 1..15
  REQUIRE(stored_as_new(o, "key-16"));    // seq 16, the last of generation 0
  others(o, 15, 30);                      // seqs 17..31: generation 1 began
  CHECK_FALSE(stored_as_new(o, "key-16"));  // 15 appends later: still known
  others(o, 30, 50);                      // seqs 32..51: generation 2 empties generation 0's table
  CHECK(stored_as_new(o, "key-16"));
  CHECK_FALSE(stored_as_new(o, "other-49"));
}

// With synchronous = normal a crash skips up to a claimed block of 10,000 seqs; a smaller window
// would then forget every key before the crash at the first append after it.
TEST_CASE("with synchronous = normal the dedup window spans at least a claimed block of seqs") {
  test::scratch_dir dir;
  auto ob = buffer::outbox::open({dir.file("o.db"), buffer::sync_mode::normal, nullptr, 16});
  REQUIRE(ob.ok());
  REQUIRE(stored_as_new(**ob, "key-1"));
  others(**ob, 0, 100);
  CHECK_FALSE(stored_as_new(**ob, "key-1"));
}

// The generation a key is filed in depends on the window; a changed window refiles them at open.
TEST_CASE("dedup keys within the window survive a restart with a smaller or a larger window") {
  for (const auto& [before, after] : {std::pair<std::uint64_t, std::uint64_t>{2000, 1000}, {1000, 2000}}) {
    CAPTURE(before);
    CAPTURE(after);
    test::scratch_dir dir;
    const auto path = dir.file("o.db");
    {
      auto ob = buffer::outbox::open({path, buffer::sync_mode::full, nullptr, before});
      REQUIRE(ob.ok());
      others(**ob, 0, 2999);  // seqs 1..2999
      REQUIRE(stored_as_new(**ob, "key-3000"));
    }
    auto ob = buffer::outbox::open({path, buffer::sync_mode::full, nullptr, after});
    REQUIRE(ob.ok());
    others(**ob, 3000, 3000 + static_cast<int>(after) - 1);  // a window less one later
    CHECK_FALSE(stored_as_new(**ob, "key-3000"));
  }
}

TEST_CASE("dead letters keep their bytes and reason, and track forwarding") {
  test::scratch_dir dir;
  auto ob = open_at(dir.file("o.db"));
  const std::string bytes("\x00\xff{not json", 11);
  auto id = ob->add_dead_letter("farm/f/collar/x/telemetry", "payload is not valid JSON", bytes, 42);
  REQUIRE(id.ok());
  REQUIRE(ob->add_dead_letter("t2", "unknown collar", "{}", 43).ok());
  auto all = ob->dead_letters(false, 10);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].payload == bytes);
  CHECK((*all)[0].reason == "payload is not valid JSON");
  CHECK((*all)[0].source == "farm/f/collar/x/telemetry");
  CHECK((*all)[0].received_ms == 42);
  const std::vector<std::int64_t> ids = {*id};
  REQUIRE(ob->mark_dead_letters_forwarded(ids).ok());
  auto pending = ob->dead_letters(true, 10);
  REQUIRE(pending->size() == 1);
  CHECK((*pending)[0].reason == "unknown collar");
  CHECK(*ob->depth() == 0);  // dead letters are not events
}

TEST_CASE("a failed build leaves nothing behind and the seq is not consumed") {
  test::scratch_dir dir;
  auto ob = open_at(dir.file("o.db"));
  append(*ob, "k", "v");
  CHECK_THROWS(ob->append("k", "d1", [](std::uint64_t) -> std::string { throw std::runtime_error("boom"); }));
  CHECK(append(*ob, "k", "v", "d1") == 2);  // consecutive, and "d1" was not remembered
  CHECK(*ob->depth() == 2);
}

namespace {

std::int64_t count_of(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  const std::int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

}  // namespace

// Issue 15, goal 1: AUTOINCREMENT rewrote sqlite_sequence's page in every append's commit. A new
// outbox keeps its high-water mark in outbox_seq, written only by the deletes that need it.
TEST_CASE("appends do not touch a sequence table, and the newest acknowledged seq still never comes back") {
  test::scratch_dir dir;
  const auto path = dir.file("o.db");
  auto ob = open_at(path);
  for (int i = 0; i < 3; ++i) append(*ob, "k", "v");
  CHECK(count_of(path, "SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox'") == 0);
  CHECK(count_of(path, "SELECT count(*) FROM outbox_seq") == 0);
  std::vector<std::uint64_t> oldest = {1};
  REQUIRE(ob->ack(oldest).ok());
  CHECK(count_of(path, "SELECT high FROM outbox_seq") == 1);
  std::vector<std::uint64_t> rest = {2, 3};
  REQUIRE(ob->ack(rest).ok());
  CHECK(count_of(path, "SELECT high FROM outbox_seq") == 3);
  // What kill -9 would leave now (synchronous = full: every commit is in the files), opened.
  std::filesystem::copy_file(path, dir.file("crash.db"));
  std::filesystem::copy_file(path + "-wal", dir.file("crash.db-wal"));
  auto crashed = open_at(dir.file("crash.db"));
  CHECK(append(*crashed, "k", "v") == 4);
}

// An outbox file made before 2026-12-03 has an AUTOINCREMENT outbox table, whose counter lives in
// sqlite_sequence (and, with synchronous = normal, held a claimed block). It opens as it is.
TEST_CASE("an outbox file with the former AUTOINCREMENT table goes on with its sequence") {
  test::scratch_dir dir;
  const auto path = dir.file("old.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* old = R"sql(
      PRAGMA journal_mode=WAL;
      CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, key BLOB NOT NULL,
                           value BLOB NOT NULL, created_ms INTEGER NOT NULL);
      INSERT INTO outbox VALUES (5, x'6b', x'76', 1);
      UPDATE sqlite_sequence SET seq = 10005 WHERE name = 'outbox';  -- a block claimed, then a crash
      CREATE TABLE dedup (key BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX dedup_seq ON dedup(seq);
      INSERT INTO dedup VALUES (CAST('farm/c1/4/100' AS BLOB), 999), (CAST('farm/c1/5/200' AS BLOB), 1004);
    )sql";
    REQUIRE(sqlite3_exec(db, old, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    auto opened = buffer::outbox::open({path, buffer::sync_mode::full, nullptr, 1000});
    REQUIRE(opened.ok());
    auto& ob = *opened;
    CHECK(*ob->depth() == 1);
    // Its dedup keys moved into the generations (seq 999: the first, 1004: the second), and the
    // old table with its index is gone.
    CHECK(count_of(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('dedup', 'dedup_seq')") == 0);
    CHECK(count_of(path, "SELECT seq FROM dedup_0") == 999);
    CHECK(count_of(path, "SELECT seq FROM dedup_1") == 1004);
    for (const char* key : {"farm/c1/4/100", "farm/c1/5/200"}) {
      auto again = ob->append("k", key, [](std::uint64_t) { return std::string("v"); });
      REQUIRE(again.ok());
      CHECK(again->duplicate);
    }
    CHECK(append(*ob, "k", "v") == 10006);
    std::vector<std::uint64_t> all = {5, 10006};
    REQUIRE(ob->ack(all).ok());
  }
  auto ob = open_at(path);
  CHECK(append(*ob, "k", "v") == 10007);
}

// The append that starts a dedup generation empties the table it reuses. With Debian's SQLite
// default (secure_delete on) that wrote every freed page zeroed: as many bytes as the keys took.
TEST_CASE("starting a dedup generation writes a few pages, not every page of the one it empties") {
  test::scratch_dir dir;
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::full};
  o.dedup_window = 3000;
  o.checkpoint_interval_ms = 0;
  o.wal_autocheckpoint_pages = 0;  // the WAL only grows: its size is what each commit wrote
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  auto& ob = **opened;
  const auto add = [&](int i) {
    REQUIRE(ob.append("k", "farm/collar-" + std::to_string(i) + "/" + std::to_string(i * 600),
                      [](std::uint64_t) { return std::string("v"); })
                .ok());
  };
  for (int i = 1; i <= 6000; ++i) add(i);  // generations 0 and 1: ~150 KB of keys in dedup_0
  const auto wal = o.path + "-wal";
  const auto before = std::filesystem::file_size(wal);
  add(6001);  // generation 2: dedup_0 is emptied
  const auto written = std::filesystem::file_size(wal) - before;
  MESSAGE("the commit that emptied 3,000 keys wrote " << written << " bytes of WAL");
  CHECK(written < 16 * 1024);
  CHECK(count_of(o.path, "SELECT count(*) FROM dedup_0") == 1);
}
