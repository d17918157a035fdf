// The disk quota (max_bytes): a real SQLITE_FULL, never a damaged outbox, and recovery by itself.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/resource.h>

#include <csignal>
#include <map>
#include <optional>
#include <random>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"

using namespace herd;

namespace {

constexpr std::uint64_t k_quota = 64 * 1024;

std::unique_ptr<buffer::outbox> open_quota(const std::string& path, buffer::full_policy policy) {
  auto ob = buffer::outbox::open({.path = path,
                                  .synchronous = buffer::sync_mode::normal,
                                  .max_bytes = k_quota,
                                  .when_full = policy});
  REQUIRE_MESSAGE(ob.ok(), (ob.ok() ? "" : ob.err().message));
  return std::move(*ob);
}

// Through a second connection, as an operator would check the file.
std::string quick_check(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, nullptr) == SQLITE_OK);
  std::string verdict = sqlite3_step(st) == SQLITE_ROW
                            ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0))
                            : "no result";
  sqlite3_finalize(st);
  sqlite3_close(db);
  return verdict;
}

std::string value_for(std::uint64_t i) {
  std::mt19937 rng(static_cast<unsigned>(i));
  std::string v(300, '\0');
  for (auto& c : v) c = static_cast<char>(rng());
  return v;
}

}  // namespace

TEST_CASE("a full quota refuses appends with a retriable error, damages nothing, and recovers after acks") {
  test::scratch_dir dir;
  const auto path = dir.file("outbox.db");
  auto ob = open_quota(path, buffer::full_policy::backpressure);
  std::map<std::uint64_t, std::string> stored;
  std::optional<core::error> full;
  for (std::uint64_t i = 0; i < 10'000 && !full; ++i) {
    auto a = ob->append("animal", "d-" + std::to_string(i), [&](std::uint64_t) { return value_for(i); });
    if (a) {
      stored[a->seq] = value_for(i);
    } else {
      full = a.err();
    }
  }
  REQUIRE(full.has_value());
  MESSAGE(stored.size() << " events fit in " << k_quota << " bytes; then: " << full->message);
  CHECK(full->kind == core::error_kind::retriable);
  CHECK(full->message.find("full") != std::string::npos);
  CHECK(stored.size() > 50);

  // Still full: the same append fails again, the sequence is not consumed.
  CHECK_FALSE(ob->append("animal", "again", [](std::uint64_t) { return value_for(1); }).ok());
  // Junk never waits for space (issue 14, case 2): with no dead letter to make room, it is dropped
  // and counted.
  auto dl = ob->add_dead_letter("t", "bad", std::string(8192, 'x'), 1);
  REQUIRE(dl.ok());
  CHECK(*dl == 0);
  CHECK(ob->dead_letters_dropped() == 1);

  // Nothing stored is damaged.
  CHECK(quick_check(path) == "ok");
  auto rows = ob->peek(0, 100'000);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == stored.size());
  for (const auto& r : *rows) CHECK(r.value == stored[r.seq]);

  // The forwarder deletes what Kafka acknowledged: the freed pages take new appends.
  std::vector<std::uint64_t> half;
  for (const auto& [seq, v] : stored) {
    if (half.size() < stored.size() / 2) half.push_back(seq);
  }
  REQUIRE(ob->ack(half).ok());
  const std::uint64_t last_seq = stored.rbegin()->first;
  auto resumed = ob->append("animal", "after", [](std::uint64_t) { return value_for(99'999); });
  REQUIRE_MESSAGE(resumed.ok(), (resumed.ok() ? "" : resumed.err().message));
  CHECK(resumed->seq == last_seq + 1);  // no seq burnt by the refused appends
  for (int i = 0; i < 10; ++i) {
    CHECK(ob->append("animal", "", [](std::uint64_t) { return value_for(7); }).ok());
  }
  CHECK(quick_check(path) == "ok");
  CHECK(ob->evicted_events() == 0);
}

TEST_CASE("evict_oldest keeps appends succeeding and drops the oldest events first") {
  test::scratch_dir dir;
  const auto path = dir.file("outbox.db");
  auto ob = open_quota(path, buffer::full_policy::evict_oldest);
  constexpr std::uint64_t n = 2000;
  std::uint64_t last = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto a = ob->append("animal", "d-" + std::to_string(i), [&](std::uint64_t) { return value_for(i); });
    REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.err().message));
    last = a->seq;
  }
  CHECK(last == n);
  // A dead letter never evicts an event (issue 14, case 2).
  const auto evicted = ob->evicted_events();
  CHECK(ob->add_dead_letter("t", "bad", std::string(8192, 'x'), 1).ok());
  CHECK(ob->evicted_events() == evicted);
  const auto depth = *ob->depth();
  MESSAGE(evicted << " evicted, " << depth << " kept within " << k_quota << " bytes");
  CHECK(evicted > 0);
  CHECK(evicted + depth == n);  // every event is either kept or counted as evicted

  auto rows = ob->peek(0, 100'000);
  REQUIRE(rows.ok());
  REQUIRE(!rows->empty());
  CHECK(rows->front().seq == evicted + 1);  // exactly the oldest ones are gone
  CHECK(rows->back().seq == n);             // the newest is there
  for (std::size_t i = 0; i < rows->size(); ++i) {
    CHECK((*rows)[i].seq == rows->front().seq + i);
    CHECK((*rows)[i].value == value_for((*rows)[i].seq - 1));
  }
  CHECK(quick_check(path) == "ok");
}

TEST_CASE("max_bytes 0 means no quota") {
  test::scratch_dir dir;
  auto ob = buffer::outbox::open({.path = dir.file("o.db"), .synchronous = buffer::sync_mode::off,
                                  .max_bytes = 0});
  REQUIRE(ob.ok());
  for (std::uint64_t i = 0; i < 1000; ++i) {
    REQUIRE((*ob)->append("k", "", [&](std::uint64_t) { return value_for(i); }).ok());
  }
  CHECK(*(*ob)->depth() == 1000);
}

TEST_CASE("a disk that refuses writes gives a retriable error, and ingest resumes once it takes them") {
  // RLIMIT_FSIZE makes the kernel refuse to grow any file of this (per-test) process past the
  // limit, as a full file system would: SQLite reports SQLITE_FULL or SQLITE_IOERR_WRITE.
  test::scratch_dir dir;
  const auto path = dir.file("outbox.db");
  auto ob = buffer::outbox::open({.path = path, .synchronous = buffer::sync_mode::normal,
                                  .max_bytes = 0});
  REQUIRE(ob.ok());
  auto& o = **ob;
  std::signal(SIGXFSZ, SIG_IGN);  // otherwise the kernel kills the process instead of failing the write
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit tight = saved;
  tight.rlim_cur = 256 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &tight) == 0);
  std::map<std::uint64_t, std::string> stored;
  std::optional<core::error> refused;
  for (std::uint64_t i = 0; i < 100'000 && !refused; ++i) {
    auto a = o.append("animal", "d-" + std::to_string(i), [&](std::uint64_t) { return value_for(i); });
    if (a) {
      stored[a->seq] = value_for(i);
    } else {
      refused = a.err();
    }
  }
  REQUIRE(setrlimit(RLIMIT_FSIZE, &saved) == 0);  // space returns
  REQUIRE(refused.has_value());
  MESSAGE(stored.size() << " events stored, then: " << refused->message);
  CHECK(refused->kind == core::error_kind::retriable);

  auto resumed = o.append("animal", "after", [](std::uint64_t) { return value_for(7); });
  REQUIRE_MESSAGE(resumed.ok(), (resumed.ok() ? "" : resumed.err().message));
  stored[resumed->seq] = value_for(7);
  auto rows = o.peek(0, 1'000'000);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == stored.size());
  for (const auto& r : *rows) CHECK(r.value == stored[r.seq]);
  CHECK(quick_check(path) == "ok");
}
