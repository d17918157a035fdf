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
