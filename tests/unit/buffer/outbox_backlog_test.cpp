#include <doctest/doctest.h>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"

using namespace herd;

TEST_CASE("backlog() counts what is unacknowledged and dates the oldest, and file_bytes() includes the WAL") {
  test::scratch_dir dir;
  core::manual_clock clock(1'000'000);
  const std::string path = dir.file("o.db");
  auto opened = buffer::outbox::open({path, buffer::sync_mode::full, &clock});
  REQUIRE(opened.ok());
  auto& ob = **opened;

  auto b = ob.backlog();
  REQUIRE(b.ok());
  CHECK(b->events == 0);
  CHECK_FALSE(b->oldest_created_ms.has_value());

  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 3; ++i) {
    auto r = ob.append("animal", "", [](std::uint64_t) { return std::string(100, 'x'); });
    REQUIRE(r.ok());
    seqs.push_back(r->seq);
    clock.advance(1000);
  }
  const std::uint64_t first = seqs[0];
  REQUIRE(ob.ack(std::span<const std::uint64_t>(&first, 1)).ok());

  b = ob.backlog();
  REQUIRE(b.ok());
  CHECK(b->events == 2);
  CHECK(b->oldest_created_ms == 1'001'000);
  CHECK(b->events == *ob.depth());

  // Recent commits live in the WAL until a checkpoint: the size must count them.
  std::error_code ec;
  const auto wal = std::filesystem::file_size(path + "-wal", ec);
  CHECK(ob.file_bytes() == std::filesystem::file_size(path) + (ec ? 0 : wal));
  CHECK(ob.file_bytes() > 0);
}

// ack() reads and deletes runs of consecutive seqs by range (a drain's acknowledgements): runs
// with rows already gone inside, repeated and unsorted seqs, short runs and single seqs delete
// exactly the rows named, and the per-animal row counts (depth(), split_backlog) follow.
TEST_CASE("ack() of runs, holes, repeats and unsorted seqs deletes exactly the rows named") {
  test::scratch_dir dir;
  auto opened = buffer::outbox::open({dir.file("o.db"), buffer::sync_mode::full});
  REQUIRE(opened.ok());
  auto& ob = **opened;
  // seq 1..60: animal "a", "b" or "c" by seq % 3; seq 61..70: animal "d" only.
  for (int i = 1; i <= 70; ++i) {
    const std::string key = i > 60 ? "d" : std::string(1, static_cast<char>('a' + i % 3));
    auto r = ob.append(key, "", [](std::uint64_t) { return std::string(50, 'x'); });
    REQUIRE(r.ok());
    REQUIRE(r->seq == static_cast<std::uint64_t>(i));
  }
  const std::uint64_t five = 5;
  REQUIRE(ob.ack(std::span<const std::uint64_t>(&five, 1)).ok());  // a hole in the run below
  std::vector<std::uint64_t> acks;
  for (std::uint64_t s = 30; s >= 1; --s) acks.push_back(s);  // 1..30 backwards, 5 again
  acks.push_back(40);                                           // a single seq
  for (std::uint64_t s = 45; s <= 47; ++s) acks.push_back(s);   // a run too short for a range
  for (std::uint64_t s = 48; s <= 59; ++s) acks.push_back(s);   // continues it: 45..59 is one run
  acks.push_back(45);                                           // repeated
  for (std::uint64_t s = 61; s <= 70; ++s) acks.push_back(s);   // every row of animal "d"
  acks.push_back(1000);                                         // never appended
  REQUIRE(ob.ack(acks).ok());

  auto rows = ob.peek(0, 100);
  REQUIRE(rows.ok());
  std::vector<std::uint64_t> left;
  for (const auto& r : *rows) left.push_back(r.seq);
  CHECK(left == std::vector<std::uint64_t>{31, 32, 33, 34, 35, 36, 37, 38, 39, 41, 42, 43, 44, 60});
  CHECK(*ob.depth() == 14);  // the per-animal counts, not the table
  bool d_listed = false;
  for (const auto& [key, last] : ob.split_backlog(0).last_per_key) d_listed = d_listed || key == "d";
  CHECK_FALSE(d_listed);  // no row of "d" left: forgotten

  // The same run again: no row in its range, nothing changes.
  std::vector<std::uint64_t> again;
  for (std::uint64_t s = 61; s <= 70; ++s) again.push_back(s);
  REQUIRE(ob.ack(again).ok());
  CHECK(*ob.depth() == 14);
  // The newest rows went by range: their seqs never come back, also after a reopen.
  opened->reset();
  auto reopened = buffer::outbox::open({dir.file("o.db"), buffer::sync_mode::full});
  REQUIRE(reopened.ok());
  auto next = (*reopened)->append("e", "", [](std::uint64_t) { return std::string(50, 'x'); });
  REQUIRE(next.ok());
  CHECK(next->seq == 71);
}
