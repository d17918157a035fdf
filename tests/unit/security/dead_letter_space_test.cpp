// Issue 14, case 2: dead letters have their own bounded space; junk never displaces or blocks a
// valid reading, forwarded ones are pruned, drops are counted.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"

using namespace herd;

namespace {

std::unique_ptr<buffer::outbox> open_outbox(const std::string& path, std::uint64_t max_bytes,
                                             buffer::full_policy policy, std::uint64_t dl_count = 10'000) {
  buffer::outbox_options o;
  o.path = path;
  o.synchronous = buffer::sync_mode::off;
  o.max_bytes = max_bytes;
  o.when_full = policy;
  o.dead_letter_max_count = dl_count;
  o.dead_letter_keep_forwarded = 5;
  auto ob = buffer::outbox::open(o);
  REQUIRE_MESSAGE(ob.ok(), (ob.ok() ? "" : ob.err().message));
  return std::move(*ob);
}

core::result<buffer::outbox::appended> reading(buffer::outbox& ob, int i) {
  return ob.append("cow-" + std::to_string(i % 7), "k-" + std::to_string(i),
                   [&](std::uint64_t) { return std::string(2000, static_cast<char>('a' + i % 26)); });
}

std::size_t stored_dead_letters(buffer::outbox& ob) { return ob.dead_letters(false, 1'000'000)->size(); }

}  // namespace

TEST_CASE("junk beyond a 2 MiB quota (40 messages of 64 KiB) cannot fill it: valid readings keep their room") {
  // The 31 junk messages of 70 KB filled a 2 MiB quota and then held a valid reading.
  // In an empty outbox 32 x 64 KiB fill 2 MiB, so 40 leave no doubt; a single small reading could
  // still slip into the last page gap, so the check is that readings keep the room a backlog
  // needs: 500 of them (about 1 MB, half the quota) must fit after the junk.
  test::scratch_dir dir;
  auto ob = open_outbox(dir.file("o.db"), 2u << 20, buffer::full_policy::backpressure);
  for (int i = 0; i < 40; ++i) {
    // Junk is never refused either (it is dropped and counted instead); CHECK so the readings are
    // still tried if that breaks.
    CHECK(ob->add_dead_letter("farm/f/collar/x/telemetry", "payload over 4 KiB",
                              std::string(64 * 1024, 'j'), 1).ok());
  }
  // The dead-letter space is at most a quarter of the quota.
  CHECK(stored_dead_letters(*ob) <= (2u << 20) / 4 / (64 * 1024));
  CHECK(ob->dead_letters_dropped() > 0);
  for (int i = 0; i < 500; ++i) {
    auto a = reading(*ob, i);
    REQUIRE_MESSAGE(a.ok(), "reading " << i << " after the junk: " << (a.ok() ? "" : a.err().message));
  }
  CHECK(*ob->depth() == 500);
}

TEST_CASE("with evict_oldest, junk never evicts real unsent readings, and readings take junk's room") {
  test::scratch_dir dir;
  auto ob = open_outbox(dir.file("o.db"), 1u << 20, buffer::full_policy::evict_oldest);
  int stored = 0;
  for (int i = 0; i < 200; ++i, ++stored) REQUIRE(reading(*ob, i).ok());
  for (int i = 0; i < 200; ++i) {
    // CHECK, not REQUIRE: if junk cannot be stored, the counts below still say what it displaced.
    CHECK(ob->add_dead_letter("t", "junk", std::string(60 * 1024, 'j'), 1).ok());
  }
  CHECK(ob->evicted_events() == 0);
  CHECK(*ob->depth() == 200);
  // Readings until the file is full: the dead letters make room before any event is evicted.
  while (stored_dead_letters(*ob) > 0 && stored < 20'000) REQUIRE(reading(*ob, stored++).ok());
  CHECK(stored_dead_letters(*ob) == 0);
  CHECK(ob->evicted_events() == 0);
  CHECK(*ob->depth() == static_cast<std::uint64_t>(stored));
}

TEST_CASE("dead letters are capped by count, forwarded ones go first and are pruned, drops are counted") {
  test::scratch_dir dir;
  auto ob = open_outbox(dir.file("o.db"), 0, buffer::full_policy::backpressure, 20);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(*ob->add_dead_letter("t", "junk", "x" + std::to_string(i), i));
  // 10 forwarded: only the newest 5 (keep_forwarded) stay.
  REQUIRE(ob->mark_dead_letters_forwarded(ids).ok());
  CHECK(stored_dead_letters(*ob) == 5);
  for (int i = 10; i < 35; ++i) REQUIRE(ob->add_dead_letter("t", "junk", "y" + std::to_string(i), i).ok());
  CHECK(stored_dead_letters(*ob) == 20);
  // The 5 forwarded went first (not counted), then 5 unforwarded (counted).
  CHECK(ob->dead_letters_dropped() == 5);
  auto all = ob->dead_letters(false, 100);
  REQUIRE(all.ok());
  CHECK(all->front().payload == "y15");
  CHECK(all->back().payload == "y34");
  for (const auto& d : *all) CHECK_FALSE(d.forwarded);
}

TEST_CASE("a stream of junk does not grow the outbox beyond the dead-letter space") {
  test::scratch_dir dir;
  auto ob = open_outbox(dir.file("o.db"), 0, buffer::full_policy::backpressure, 500);
  const std::string junk(4000, 'j');
  for (int i = 0; i < 5'000; ++i) REQUIRE(ob->add_dead_letter("t", "junk", junk, i).ok());
  for (int i = 0; i < 5'000; ++i) REQUIRE(ob->add_dead_letter("t", "junk", junk, i).ok());
  CHECK(stored_dead_letters(*ob) == 500);
  CHECK(ob->dead_letters_dropped() == 9'500);
  // 10,000 x 4 KB would be 40 MB; 500 of them plus a full WAL stay well below 8 MiB.
  MESSAGE("outbox after 10,000 junk messages: " << ob->file_bytes() << " bytes");
  CHECK(ob->file_bytes() < (8u << 20));
}
