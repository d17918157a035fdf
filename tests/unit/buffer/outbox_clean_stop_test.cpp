// The start-up check after a clean stop (issue 15, goal 7): the whole-file quick_check is skipped
// only when the last close was orderly and the file is unchanged since; anything else checks.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"

using namespace herd;

namespace {

std::unique_ptr<buffer::outbox> open_outbox(const std::string& path,
                                            buffer::start_check check = buffer::start_check::after_unclean_stop) {
  auto ob = buffer::outbox::open({.path = path, .synchronous = buffer::sync_mode::normal, .check_at_start = check});
  REQUIRE_MESSAGE(ob.ok(), (ob.ok() ? "" : ob.err().message));
  return std::move(*ob);
}

// An outbox with `n` events, stopped cleanly (mark_clean_stop) or not.
void fill(const std::string& path, int n, bool clean) {
  auto ob = open_outbox(path);
  for (int i = 0; i < n; ++i) {
    REQUIRE(ob->append("animal-" + std::to_string(i % 7), "d-" + path + std::to_string(i),
                       [&](std::uint64_t seq) { return "value-" + std::to_string(seq); })
                .ok());
  }
  if (clean) ob->mark_clean_stop();
}

bool marker_exists(const std::string& path) { return std::filesystem::exists(path + ".clean-stop"); }

// Garbage over everything after the first 4 KiB (the header and the schema pages stay), its size
// and modification time put back as they were: bit rot on a card changes neither.
void rot_in_place(const std::string& path) {
  struct stat before {};
  REQUIRE(::stat(path.c_str(), &before) == 0);
  const auto size = std::filesystem::file_size(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    std::mt19937 rng(5);
    for (std::uintmax_t i = 4096; i < size; ++i) f.put(static_cast<char>(rng()));
  }
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("after a clean stop the next open skips the whole-file check and takes the marker") {
  test::scratch_dir dir;
  const auto path = dir.file("outbox.db");
  fill(path, 2000, true);
  CHECK(marker_exists(path));
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));  // the marker is written after the last close
  auto ob = open_outbox(path);
  CHECK_FALSE(ob->report().checked);
  CHECK_FALSE(marker_exists(path));  // taken at open: a crash of this run leaves none
  CHECK(*ob->depth() == 2000);
}

TEST_CASE("without a clean stop, or with check_at_start = always, the whole file is checked") {
  test::scratch_dir dir;
  const auto path = dir.file("outbox.db");
  SUBCASE("a stop that was not declared clean (a fatal error, a crash) leaves no marker") {
    fill(path, 500, false);
    CHECK_FALSE(marker_exists(path));
    CHECK(open_outbox(path)->report().checked);
  }
  SUBCASE("always") {
    fill(path, 500, true);
    REQUIRE(marker_exists(path));
    CHECK(open_outbox(path, buffer::start_check::always)->report().checked);
    CHECK_FALSE(marker_exists(path));
  }
  SUBCASE("a run that crashed after a clean start: its marker was taken at open") {
    fill(path, 500, true);
    { auto ob = open_outbox(path); }  // destroyed without mark_clean_stop: as after a crash
    CHECK(open_outbox(path)->report().checked);
  }
}

TEST_CASE("a file changed after the clean stop is checked, and a damaged one quarantined") {
  test::scratch_dir dir;
  const auto path = dir.file("outbox.db");
  fill(path, 2000, true);
  REQUIRE(marker_exists(path));
  SUBCASE("written by another program (its size or modification time moved)") {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "DELETE FROM outbox WHERE seq < 10", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(open_outbox(path)->report().checked);
  }
  SUBCASE("garbage written over pages, then the size and modification time put back: the marker "
          "cannot see it; the first read of a damaged page fails as corrupt, and the next start checks") {
    rot_in_place(path);
    {
      auto ob = buffer::outbox::open({.path = path, .synchronous = buffer::sync_mode::normal});
      if (ob.ok()) {
        CHECK_FALSE((*ob)->report().checked);  // the documented price of skipping the check
        auto rows = (*ob)->peek(0, 5000);
        REQUIRE_FALSE(rows.ok());
        CHECK(rows.err().code == "outbox.corrupt");
      } else {
        INFO(ob.err().message);
        CHECK(ob.err().code == "outbox.corrupt");  // found while opening: the start fails
      }
    }  // a fatal storage error: the gateway never declares this stop clean
    CHECK_FALSE(marker_exists(path));
    auto next = open_outbox(path);
    CHECK(next->report().checked);
    CHECK(next->report().quarantined);
  }
}
