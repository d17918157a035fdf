// Regression (issue 13, case 3): another process holding a read transaction on the outbox (a
// backup tool, an operator's sqlite3 shell left in a transaction) pinned the WAL: with max_bytes =
// 1 MiB the -wal file reached 19 MB and never shrank, unseen by the quota, the log and /health.
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/buffer/outbox.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("a WAL pinned by another process's read transaction is bounded by the quota and reset once it lets go") {
  test_support::temp_dir dir;
  buffer::outbox_options o{.path = (dir / "o.db").string(), .synchronous = buffer::sync_mode::normal};
  o.max_bytes = 1 << 20;
  o.checkpoint_interval_ms = 50;
  auto opened = buffer::outbox::open(o);
  REQUIRE(opened.ok());
  auto& ob = **opened;
  const auto append = [&] { return ob.append("animal", "", [](std::uint64_t) { return std::string(200, 'x'); }); };
  for (int i = 0; i < 10; ++i) REQUIRE(append().ok());

  // The sqlite3 shell: a read transaction (BEGIN, then a SELECT takes the snapshot), left open.
  auto reader = std::make_optional<test_support::child_process>(
      "/usr/bin/sqlite3", std::vector<std::string>{o.path, "BEGIN", "SELECT count(*) FROM outbox",
                                                   ".shell echo in-transaction; sleep 120"},
      dir.path(), std::map<std::string, std::string>{}, "sqlite3.log");
  REQUIRE(test_support::wait_until([&] { return reader->log_text().find("in-transaction") != std::string::npos; }, 10s));

  // Readings keep coming (one a millisecond): before the fix every one was stored and the WAL
  // grew by a few pages each (3,000 of them: ~24 MB). Now the WAL counts in the quota.
  std::optional<core::error> refused;
  int stored = 0;
  test_support::wait_until([&] {
    auto r = append();
    if (!r) refused = r.err();
    else ++stored;
    return refused.has_value() || stored >= 3000;
  }, 30s, 1ms);
  const auto wal = ob.wal();
  INFO("stored ", stored, " while pinned; WAL ", wal.bytes, " bytes; limit ", wal.limit_bytes);
  REQUIRE(refused.has_value());
  CHECK(refused->code == "outbox.wal_pinned");
  CHECK(refused->kind == core::error_kind::retriable);  // the caller holds its reading
  CHECK(wal.pinned_since_ms != 0);
  CHECK(wal.limit_bytes == 256 * 1024);  // max_bytes / 4
  // Bounded: the quota plus what one checkpoint interval let through.
  CHECK(std::filesystem::file_size(o.path + "-wal") < 2u * o.max_bytes);

  reader.reset();  // the shell goes away (kill -9): its read lock with it
  REQUIRE(test_support::wait_until([&] { return ob.wal().pinned_since_ms == 0; }, 10s, 10ms));
  CHECK(ob.wal().bytes <= ob.wal().limit_bytes);
  CHECK(std::filesystem::file_size(o.path + "-wal") <= ob.wal().limit_bytes);
  CHECK(append().ok());  // ingest goes on
}
