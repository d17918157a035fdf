// The durability knobs: journal mode and the timed checkpoint that bounds the power-loss window of
// synchronous = normal (and stays away with full).
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <herd/test_support/fault_vfs.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../temp_path.hpp"
#include "outbox_files.hpp"
#include "herd/buffer/outbox.hpp"

using namespace herd;
using namespace std::chrono_literals;
using test::append_one;
using test::outbox_rows;
using test::rows_after_power_cut;

namespace {

std::string pragma_text(const std::string& path, const char* pragma) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, pragma, -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// synchronous = normal with a timer tick every 50 ms, at `dir`/o.db.
std::unique_ptr<buffer::outbox> open_normal_ticking(const test::scratch_dir& dir) {
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::normal};
  o.checkpoint_interval_ms = 50;
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  return std::move(*opened);
}

}  // namespace

// Issue 15, goal 1: with synchronous = normal the timer fsyncs the WAL (what bounds the power-loss
// window) and leaves the copy to the WAL's size; a copy on every tick wrote twice the bytes.
TEST_CASE("with synchronous = normal the timer fsyncs the WAL after commits, and only then") {
  test::scratch_dir dir;
  test_support::fault_vfs vfs(dir.file(""));
  auto opened = open_normal_ticking(dir);
  auto& ob = *opened;
  const auto db_path = dir.file("o.db");
  const auto syncs = [&] { return ob.wal().timed_wal_syncs; };
  append_one(ob);  // claims a block of seqs: an fsync of its own
  REQUIRE(test_support::wait_until([&] { return syncs() >= 1; }, 5s, 10ms));
  const auto disk_syncs = vfs.syncs();
  append_one(ob);
  REQUIRE(test_support::wait_until([&] { return syncs() >= 2; }, 5s, 10ms));
  CHECK(vfs.syncs() > disk_syncs);  // a real fsync of the WAL file
  // Idle: nothing committed, so neither a sync nor a copy (no needless writes to an SD card).
  const auto after = syncs();
  std::this_thread::sleep_for(300ms);  // six intervals, to see that nothing happens
  CHECK(syncs() == after);
  // Commits at a farm's pace are synced tick after tick and never copied: the database file stays.
  const auto db_size = std::filesystem::file_size(db_path);
  for (int i = 0; i < 5; ++i) {
    const auto before = syncs();
    append_one(ob);
    REQUIRE(test_support::wait_until([&] { return syncs() > before; }, 5s, 10ms));
  }
  CHECK(buffer::outbox_test_access::timed_checkpoints(ob) == 0);
  CHECK(std::filesystem::file_size(db_path) == db_size);
}

// Issue 15, goal 1: with synchronous = full every commit is synced already, so a timed copy after
// every reading or two (at a farm's pace) only rewrote the same database pages: 18,534 bytes per
// reading against 11,674 without it (bench/outbox_bench.cpp, 1 KiB pages, 2 readings/s). Now the
// timer leaves a full-sync WAL alone, and the WAL's size still asks for a checkpoint.
TEST_CASE("with synchronous = full the timer copies nothing, half of wal_autocheckpoint_pages does") {
  test::scratch_dir dir;
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::full};
  o.checkpoint_interval_ms = 50;
  o.wal_autocheckpoint_pages = 60;  // half: 30 frames, above the new file's schema (~15) and one append
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  auto& ob = **opened;
  append_one(ob);
  std::this_thread::sleep_for(300ms);  // six intervals, to see that nothing happens
  CHECK(buffer::outbox_test_access::timed_checkpoints(ob) == 0);
  for (int i = 0; i < 30; ++i) append_one(ob);  // a few frames each: past 30 frames
  CHECK(test_support::wait_until([&] { return buffer::outbox_test_access::timed_checkpoints(ob) >= 1; }, 5s, 10ms));
}

// Review of c7f1f51: with synchronous = full and wal_autocheckpoint_pages = 0 nothing asked for a
// checkpoint any more, and the WAL grew without bound. The timer's look now copies a WAL at half
// its byte limit (max_bytes / 4 = 256 KiB here).
TEST_CASE("with synchronous = full and no page trigger the WAL is still copied at half its limit") {
  test::scratch_dir dir;
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::full};
  o.checkpoint_interval_ms = 50;
  o.wal_autocheckpoint_pages = 0;
  o.max_bytes = 1 << 20;
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  auto& ob = **opened;
  REQUIRE(ob.wal().limit_bytes == 256 * 1024);
  for (int i = 0; i < 200; ++i) append_one(ob);  // a few 1 KiB frames each: ~1 MB of WAL unchecked
  CHECK(test_support::wait_until([&] { return buffer::outbox_test_access::timed_checkpoints(ob) >= 1; }, 5s, 10ms));
  for (int i = 0; i < 200; ++i) append_one(ob);  // the reset WAL is reused from its start
  CHECK(test_support::wait_until([&] { return std::filesystem::file_size(o.path + "-wal") <= 512u * 1024u; }, 5s, 10ms));
}

// Regression (issue 15, goal 3): SQLite's automatic checkpoint ran inside the commit that passed
// wal_autocheckpoint_pages, and the timed one under the outbox lock, so a reading's commit waited
// for a checkpoint's copy and fsyncs (the tail of the ingest latency with synchronous = normal).
// Now both run on the checkpointer's own connection: here the disk holds a checkpoint's fsync of the
// WAL, and appends still commit. (Either half of the fix undone fails its case.)
TEST_CASE("checkpoints run off the ingest path: appends commit while a checkpoint waits for the disk") {
  struct trigger {
    const char* name;
    std::uint32_t interval_ms, autocheckpoint_pages;
  };
  // The WAL's size asks (the timer never fires here; a commit would checkpoint itself only at 2,000
  // pages, far beyond what this test writes), or the timer does (no size trigger; its first tick
  // comes after the hold is on, so no checkpoint is under way when it starts).
  for (const trigger t : {trigger{"wal_autocheckpoint_pages", 3600 * 1000, 2000}, trigger{"checkpoint_interval_ms", 500, 0}}) {
    const std::string name = t.name;
    CAPTURE(name);
    test::scratch_dir dir;
    test_support::fault_vfs vfs(dir.file(""));
    buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::normal};
    o.checkpoint_interval_ms = t.interval_ms;
    o.wal_autocheckpoint_pages = t.autocheckpoint_pages;
    auto opened = buffer::outbox::open(o);
    REQUIRE(opened.ok());
    auto& ob = **opened;
    for (int i = 0; i < 3; ++i) append_one(ob);  // the first claims its seqs: a sync of its own
    vfs.hold_wal_syncs();
    std::atomic<int> stored{0}, failed{0};
    std::atomic<bool> stop{false};
    std::thread ingest([&] {  // a reading a millisecond, until told to stop
      while (!stop) {
        const bool ok = ob.append("animal", "", [](std::uint64_t) { return std::string(200, 'x'); }).ok();
        (ok ? stored : failed).fetch_add(1);
        std::this_thread::sleep_for(1ms);
      }
    });
    // A checkpoint is in the disk's hands ...
    const bool checkpoint_held = test_support::wait_until([&] { return vfs.held_syncs() >= 1; }, 10s, 5ms);
    // ... and readings are stored meanwhile (before the fix the commit waited for it).
    const int before = stored;
    const bool stored_while_held = test_support::wait_until([&] { return stored >= before + 100; }, 10s, 5ms);
    stop = true;
    vfs.release();
    ingest.join();
    CHECK(checkpoint_held);
    CHECK(stored_while_held);
    CHECK(failed == 0);
    // The checkpoint (or the timer's WAL sync) completes once the disk answers, and counts.
    CHECK(test_support::wait_until(
        [&] { return buffer::outbox_test_access::timed_checkpoints(ob) + ob.wal().timed_wal_syncs >= 1; }, 10s, 10ms));
  }
}

TEST_CASE("no timed checkpoint when the interval is 0") {
  test::scratch_dir dir;
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::normal};
  o.checkpoint_interval_ms = 0;
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  append_one(**opened);
  std::this_thread::sleep_for(200ms);
  CHECK(buffer::outbox_test_access::timed_checkpoints(**opened) == 0);
}

TEST_CASE("journal_mode truncate and delete: a rollback journal, no WAL, same queue") {
  for (const auto mode : {buffer::journal_mode::truncate, buffer::journal_mode::del}) {
    test::scratch_dir dir;
    buffer::outbox_options o{.path = dir.file("o.db")};
    o.journal = mode;
    auto opened = buffer::outbox::open(o);
    REQUIRE(opened.ok());
    auto& ob = **opened;
    for (int i = 0; i < 3; ++i) append_one(ob);
    // A rollback journal is per connection (a new one would say "delete"): look at the files.
    CHECK(pragma_text(o.path, "PRAGMA journal_mode") != "wal");
    CHECK_FALSE(std::filesystem::exists(o.path + "-wal"));
    if (mode == buffer::journal_mode::truncate) {  // kept, emptied after each commit
      CHECK(std::filesystem::exists(o.path + "-journal"));
      CHECK(std::filesystem::file_size(o.path + "-journal") == 0);
    } else {  // deleted after each commit
      CHECK_FALSE(std::filesystem::exists(o.path + "-journal"));
    }
    auto rows = ob.peek(0, 10);
    REQUIRE(rows.ok());
    CHECK(rows->size() == 3);
    auto b = ob.backlog();  // the monitoring connection reads a rollback-journal file too
    REQUIRE(b.ok());
    CHECK(b->events == 3);
  }
}

TEST_CASE("split_backlog: each key's last seq after a point, and a key whose records are all acknowledged leaves") {
  test::scratch_dir dir;
  auto opened = buffer::outbox::open({.path = dir.file("o.db")});
  REQUIRE(opened.ok());
  auto& ob = **opened;
  CHECK(ob.last_seq() == 0);
  for (const char* key : {"a", "b", "a", "c", "b", "a"}) {
    REQUIRE(ob.append(key, "", [](std::uint64_t) { return std::string("v"); }).ok());
  }
  CHECK(ob.last_seq() == 6);
  const auto split_map = [&](std::uint64_t after) {
    const auto split = ob.split_backlog(after);
    CHECK(split.newest == ob.last_seq());
    return std::map<std::string, std::uint64_t>(split.last_per_key.begin(), split.last_per_key.end());
  };
  CHECK(split_map(0) == std::map<std::string, std::uint64_t>{{"a", 6}, {"b", 5}, {"c", 4}});
  CHECK(split_map(4) == std::map<std::string, std::uint64_t>{{"a", 6}, {"b", 5}});
  // From the start after acknowledgements (a producer rebuild): b's and c's records are gone.
  const std::uint64_t acked[] = {2, 4, 5, 1, 99};  // 99: not there, counts nothing
  REQUIRE(ob.ack(acked).ok());
  CHECK(split_map(0) == std::map<std::string, std::uint64_t>{{"a", 6}});
  CHECK(*ob.depth() == 2);
  CHECK(ob.backlog()->events == 2);
  // A key's newest record acknowledged before an older one: the key stays, with its newest seq.
  const std::uint64_t newest_a[] = {6};
  REQUIRE(ob.ack(newest_a).ok());
  CHECK(split_map(0) == std::map<std::string, std::uint64_t>{{"a", 6}});
  const std::uint64_t last_a[] = {3};
  REQUIRE(ob.ack(last_a).ok());
  CHECK(split_map(0).empty());
  CHECK(*ob.depth() == 0);
  CHECK(ob.backlog()->events == 0);
}

TEST_CASE("split_backlog after a reopen: counted from the file after a crash, from the marker after an orderly stop") {
  test::scratch_dir dir;
  const std::string path = dir.file("o.db");
  const auto split_map = [](buffer::outbox& ob, std::uint64_t after) {
    const auto split = ob.split_backlog(after);
    return std::map<std::string, std::uint64_t>(split.last_per_key.begin(), split.last_per_key.end());
  };
  {
    auto opened = buffer::outbox::open({.path = path});
    REQUIRE(opened.ok());
    for (const char* key : {"a", "b", "a", "d"}) {  // seqs 1..4, in the file before the next open
      REQUIRE((*opened)->append(key, "", [](std::uint64_t) { return std::string("v"); }).ok());
    }
    const std::uint64_t acked[] = {4};  // d's only record
    REQUIRE((*opened)->ack(acked).ok());
  }  // no mark_clean_stop: as after a crash
  const std::map<std::string, std::uint64_t> expected{{"a", 3}, {"b", 2}, {"c", 5}, {"e", 6}};
  {
    auto opened = buffer::outbox::open({.path = path});
    REQUIRE(opened.ok());
    auto& ob = **opened;
    CHECK(ob.report().checked);
    for (const char* key : {"c", "e"}) {  // seqs 5, 6
      REQUIRE(ob.append(key, "", [](std::uint64_t) { return std::string("v"); }).ok());
    }
    CHECK(split_map(ob, 0) == expected);
    CHECK(split_map(ob, 3) == std::map<std::string, std::uint64_t>{{"c", 5}, {"e", 6}});
    CHECK(*ob.depth() == 5);  // a, b, a from before the crash, c, e
    ob.mark_clean_stop();
  }
  {
    auto opened = buffer::outbox::open({.path = path});
    REQUIRE(opened.ok());
    CHECK_FALSE((*opened)->report().checked);  // the marker matched
    CHECK(split_map(**opened, 0) == expected);
    CHECK(*(*opened)->depth() == 5);
    (*opened)->mark_clean_stop();
  }
  // The marker's copy is what the next open takes (no scan): a plausible copy that says otherwise
  // shows (a, the oldest row's key, and e, the newest's, without b and c). One that cannot be
  // read, or that disagrees with the table's ends, is not taken: the open counts from the file.
  const std::string marker = path + ".clean-stop";
  for (const auto& [payload, want] : std::vector<std::pair<std::string, std::map<std::string, std::uint64_t>>>{
           {"keys 2\nx61 2 3\nx65 1 6\n", {{"a", 3}, {"e", 6}}},
           {"keys 1\nx7a 1 9\n", expected},   // z: not a row's key, and a seq past the last
           {"keys 1\nx61 2 3\n", expected},   // the newest row's key (e) is missing
           {"keys 2\nx61 2 3\nx65 1 5\n", expected},  // e's newest seq is older than its row
           {"keys 2\nx7a 1 9\n", expected},   // unreadable: two announced, one given
           {"keys 1\nzz 1 9\n", expected}}) {  // unreadable: not hex
    std::string identity;
    {
      std::ifstream in(marker);
      REQUIRE(std::getline(in, identity));
    }
    {
      std::ofstream out(marker, std::ios::trunc);
      out << identity << "\n" << payload;
    }
    auto opened = buffer::outbox::open({.path = path});
    REQUIRE(opened.ok());
    CHECK_FALSE((*opened)->report().checked);
    CHECK(split_map(**opened, 0) == want);
    (*opened)->mark_clean_stop();  // for the next round
  }
}

TEST_CASE("page_size applies to a new outbox, an existing one keeps its own") {
  test::scratch_dir dir;
  buffer::outbox_options o{.path = dir.file("o.db")};
  o.page_size = 1024;
  {
    auto opened = buffer::outbox::open(o);
    REQUIRE(opened.ok());
    append_one(**opened);
  }
  CHECK(pragma_text(o.path, "PRAGMA page_size") == "1024");
  o.page_size = 8192;
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  append_one(**opened);
  CHECK(pragma_text(o.path, "PRAGMA page_size") == "1024");
}

// With synchronous = normal a power cut (or a failing file system) can take back the last
// commits while the forwarder already sent them: seqs are claimed in fsynced blocks, so the next
// start never hands one out again (the remount fault test shows the loss itself).
TEST_CASE("synchronous = normal claims seqs in durable blocks: a crash leaves a gap, a clean close none") {
  test::scratch_dir dir;
  const auto seq_claimed = [](const std::string& path) {
    return pragma_text(path, "SELECT high FROM outbox_seq");
  };
  const auto next_seq = [](buffer::outbox& ob) {
    auto r = ob.append("animal", "", [](std::uint64_t) { return std::string(200, 'x'); });
    REQUIRE(r.ok());
    return r->seq;
  };
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::normal};
  {
    auto ob = buffer::outbox::open(o);
    REQUIRE(ob.ok());
    for (std::uint64_t i = 1; i <= 3; ++i) CHECK(next_seq(**ob) == i);
    CHECK(seq_claimed(o.path) == "10001");  // claimed by the first append
    // What a crash leaves: the files as they are now (the database and its WAL).
    std::filesystem::copy_file(o.path, dir.file("crash.db"));
    std::filesystem::copy_file(o.path + "-wal", dir.file("crash.db-wal"));
  }
  CHECK(seq_claimed(o.path) == "3");  // a clean close gives the rest back
  {
    auto ob = buffer::outbox::open(o);
    REQUIRE(ob.ok());
    CHECK(next_seq(**ob) == 4);  // no gap after a clean restart
  }
  buffer::outbox_options crashed = o;
  crashed.path = dir.file("crash.db");
  auto ob = buffer::outbox::open(crashed);
  REQUIRE(ob.ok());
  CHECK(next_seq(**ob) == 10002);  // after the block: whatever the crash took, no seq is reused

  buffer::outbox_options full{.path = dir.file("full.db"), .synchronous = buffer::sync_mode::full};
  auto fob = buffer::outbox::open(full);
  REQUIRE(fob.ok());
  CHECK(next_seq(**fob) == 1);
  CHECK(seq_claimed(full.path).empty());  // every commit is durable: nothing to claim ahead
}

namespace {

// An outbox opened with `o`, 50 readings stored in it.
std::unique_ptr<buffer::outbox> with_50_stored(const buffer::outbox_options& o) {
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  for (int i = 0; i < 50; ++i) append_one(**opened);
  return std::move(*opened);
}

}  // namespace

// Issue 15, goal 1: what the outbox writes may shrink, its power-loss window may not (README,
// "Durability"). A power cut is modelled by taking back every write since its file's last sync.
// An append that returned is a reading acknowledged to its broker.
TEST_CASE("a power cut takes back no stored reading with synchronous = full, at most the last interval's with normal") {
  test::scratch_dir dir;
  test_support::fault_vfs vfs(dir.file(""));
  SUBCASE("full: every stored reading survives") {
    buffer::outbox_options o{.path = dir.file("full.db"), .synchronous = buffer::sync_mode::full};
    const auto ob = with_50_stored(o);
    CHECK(rows_after_power_cut(vfs, o.path, dir.file("cut.db")) == 50);
  }
  SUBCASE("normal without a timer: the model takes back unsynced commits") {
    buffer::outbox_options o{.path = dir.file("normal0.db"), .synchronous = buffer::sync_mode::normal};
    o.checkpoint_interval_ms = 0;
    const auto ob = with_50_stored(o);
    CHECK(outbox_rows(o.path) == 50);
    const long left = rows_after_power_cut(vfs, o.path, dir.file("cut.db"));
    MESSAGE("rows left after the power cut: " << left);
    CHECK(left < 50);
  }
  SUBCASE("normal: what was stored before the timer's last sync survives") {
    buffer::outbox_options o{.path = dir.file("normal.db"), .synchronous = buffer::sync_mode::normal};
    o.checkpoint_interval_ms = 100;
    const auto ob = with_50_stored(o);
    // Within the window (100 ms, with room for a slow machine) a power cut keeps all of them.
    // (A sync seen after the appends is not enough: it may end a checkpoint begun before them.)
    const auto stored = std::chrono::steady_clock::now();
    REQUIRE(test_support::wait_until([&] { return rows_after_power_cut(vfs, o.path, dir.file("cut.db")) == 50; },
                                     5s, 20ms));
    CHECK(std::chrono::steady_clock::now() - stored < 1s);
    for (int i = 0; i < 10; ++i) append_one(*ob);  // inside the window: these may go
    CHECK(rows_after_power_cut(vfs, o.path, dir.file("cut2.db")) >= 50);
  }
}

// Review of the timed WAL fsync: a failed one was ignored, and the copy that followed fsynced
// through the same descriptor, which the kernel then reports clean: acknowledged readings could be
// gone with nothing said. Now it is sticky: every append after it fails (fatal, outbox.io), as a
// commit's own failed fsync would, so the gateway stops and its restart checks the file.
TEST_CASE("a failed timed fsync of the WAL fails every append after it") {
  test::scratch_dir dir;
  test_support::fault_vfs vfs(dir.file(""));
  auto opened = open_normal_ticking(dir);
  auto& ob = *opened;
  append_one(ob);  // claims a block of seqs: an fsync of its own, before the hold
  vfs.hold_wal_syncs();
  append_one(ob);
  REQUIRE(test_support::wait_until([&] { return vfs.held_syncs() >= 1; }, 10s, 5ms));  // the timer's
  vfs.set(test_support::storage_fault::io);
  vfs.release();
  REQUIRE(test_support::wait_until([&] { return vfs.refused() >= 1; }, 10s, 5ms));
  vfs.clear();  // the disk answers again, but what the failed fsync covered is unknown
  core::result<buffer::outbox::appended> r = core::error::retriable("none yet", "");
  CHECK(test_support::wait_until(
      [&] {
        r = ob.append("animal", "", [](std::uint64_t) { return std::string(200, 'x'); });
        return !r.ok();
      },
      10s, 5ms));
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == "outbox.io");
  CHECK(r.err().kind == core::error_kind::fatal);
  CHECK_FALSE(ob.append("animal", "", [](std::uint64_t) { return std::string(200, 'x'); }).ok());
}
