// Issue 15, goal 2: with synchronous = full an acknowledgement's delete is not fsynced on the
// forwarder's thread (an fsync per ack transaction halved the drain); the next append's fsync or
// the checkpointer's tick makes it durable. What a power cut may do in between: bring acknowledged
// rows back, to be sent again; never take a stored one.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <thread>
#include <vector>

#include <herd/test_support/fault_vfs.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"
#include "outbox_files.hpp"

using namespace herd;
using namespace std::chrono_literals;
using test::append_one;
using test::rows_after_power_cut;

namespace {

// synchronous = full (the default) with a timer tick every 50 ms, at `dir`/o.db, `n` readings stored.
std::unique_ptr<buffer::outbox> open_full_ticking(const test::scratch_dir& dir, int n) {
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::full};
  o.checkpoint_interval_ms = 50;
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  for (int i = 0; i < n; ++i) append_one(**opened);
  return std::move(*opened);
}

}  // namespace

TEST_CASE("with synchronous = full an acknowledgement returns without an fsync, and the timer fsyncs it") {
  test::scratch_dir dir;
  test_support::fault_vfs vfs(dir.file(""));
  test::scratch_dir copies;  // outside the VFS's target: opening a copy is not held
  auto ob = open_full_ticking(dir, 4);  // seqs 1..4, each commit fsynced
  const std::string path = dir.file("o.db");
  vfs.hold_wal_syncs();  // a disk that does not answer an fsync of the WAL
  auto acked = std::async(std::launch::async, [&] {
    const std::uint64_t seqs[] = {1, 2};
    return ob->ack(seqs).ok();
  });
  const bool returned = acked.wait_for(5s) == std::future_status::ready;
  CHECK(returned);  // before: the ack's commit waited for the held fsync
  // With nothing appended after it, the timer fsyncs the WAL for the ack (held here).
  CHECK(test_support::wait_until([&] { return vfs.held_syncs() >= 1; }, 5s, 5ms));
  // Meanwhile a power cut brings the acknowledged rows back (sent again, with their event_id) and
  // keeps every stored one.
  CHECK(rows_after_power_cut(vfs, path, copies.file("cut1.db")) == 4);
  vfs.release();
  REQUIRE(acked.get());
  CHECK(test_support::wait_until([&] { return rows_after_power_cut(vfs, path, copies.file("cut2.db")) == 2; }, 5s, 20ms));
}

// At a farm's pace a reading follows every acknowledgement: its fsync covers the deletes, and the
// timer adds none. A commit that writes nothing (a duplicate reading) fsyncs nothing: it does not
// count (review of d43e9fc).
TEST_CASE("with synchronous = full an append after acknowledgements covers them: the timer adds no fsync") {
  test::scratch_dir dir;
  test_support::fault_vfs vfs(dir.file(""));
  auto ob = open_full_ticking(dir, 3);
  const auto waiting = [&] { return buffer::outbox_test_access::acks_awaiting_sync(*ob); };
  const auto keyed = [&](const std::string& dedup_key) {
    return ob->append("animal", dedup_key, [](std::uint64_t) { return std::string(200, 'x'); });
  };
  REQUIRE(keyed("reading-1").ok());  // seq 4
  CHECK_FALSE(waiting());
  const std::uint64_t first[] = {1};
  REQUIRE(ob->ack(first).ok());
  CHECK(waiting());
  const auto dup = keyed("reading-1");  // a redelivery: stored already, nothing written
  REQUIRE(dup.ok());
  REQUIRE(dup->duplicate);
  CHECK(waiting());
  append_one(*ob);  // its fsync makes the delete before it durable too
  CHECK_FALSE(waiting());
  CHECK(rows_after_power_cut(vfs, dir.file("o.db"), dir.file("cut.db")) == 4);
  const std::uint64_t gone[] = {1};  // deletes nothing: no fsync owed
  REQUIRE(ob->ack(gone).ok());
  CHECK_FALSE(waiting());
  const auto before = ob->wal().timed_wal_syncs;
  const std::uint64_t second[] = {2};
  REQUIRE(ob->ack(second).ok());  // nothing after it: the timer syncs
  CHECK(test_support::wait_until([&] { return ob->wal().timed_wal_syncs > before && !waiting(); }, 5s, 5ms));
}

// An acknowledgement's commit never checkpoints inside it: the forwarder does not wait for a copy
// and its fsyncs. A WAL at wal_autocheckpoint_pages is left to the checkpointer then.
TEST_CASE("an acknowledgement that fills the WAL does not checkpoint inside its unsynced commit") {
  test::scratch_dir dir;
  buffer::outbox_options o{.path = dir.file("o.db"), .synchronous = buffer::sync_mode::full};
  {
    auto opened = buffer::outbox::open(o);
    REQUIRE(opened.ok());
    for (int i = 0; i < 300; ++i) {  // one row per 1 KiB leaf
      REQUIRE((*opened)->append("animal", "", [](std::uint64_t) { return std::string(900, 'x'); }).ok());
    }
  }  // the close copies the WAL into the file: the next open starts with an empty one
  o.checkpoint_interval_ms = 60'000;  // no tick during the test: only the size asks
  o.wal_autocheckpoint_pages = 40;
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  auto& ob = **opened;
  std::vector<std::uint64_t> seqs;
  for (std::uint64_t s = 1; s <= 300; s += 2) seqs.push_back(s);  // ~150 leaves: a WAL past 40 pages
  REQUIRE(ob.ack(seqs).ok());
  CHECK(ob.wal().checkpoints_in_commit == 0);
  append_one(ob);  // a synced commit may
  CHECK(*ob.depth() == 151);
}
