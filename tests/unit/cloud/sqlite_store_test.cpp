// The read-model store contract against the SQLite back-end, plus what only SQLite has.
#include <sqlite3.h>

#include <fstream>

#include "herd/read_model/sqlite_store.hpp"
#include "herd/test_support/temp_dir.hpp"
#include "herd/read_model/sqlite_queries.hpp"
#include "queries_suite.hpp"
#include "store_suite.hpp"

namespace {

struct sqlite_fixture {
  static constexpr const char* name = "sqlite";
  herd::test_support::temp_dir dir;
  std::unique_ptr<herd::read_model::store> open() {
    auto s = herd::read_model::open_sqlite_store({.path = (dir / "read_model.db").string()});
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
    return std::move(*s);
  }
  std::unique_ptr<herd::read_model::queries> open_queries() {
    auto q = herd::read_model::open_sqlite_queries({.path = (dir / "read_model.db").string()});
    REQUIRE_MESSAGE(q.ok(), (q.ok() ? "" : q.err().message));
    return std::move(*q);
  }
};

}  // namespace

TYPE_TO_STRING(sqlite_fixture);
HERD_STORE_SUITE(sqlite_fixture);
HERD_QUERIES_SUITE(sqlite_fixture);

TEST_CASE("sqlite queries: a read model not created yet is retriable, never created by the reader") {
  herd::test_support::temp_dir dir;
  auto q = herd::read_model::open_sqlite_queries({.path = (dir / "none.db").string()});
  REQUIRE(!q.ok());
  CHECK(q.err().kind == herd::core::error_kind::retriable);
  CHECK(!std::filesystem::exists(dir / "none.db"));
}

TEST_CASE("sqlite store: a file that is not a read model is refused as fatal") {
  herd::test_support::temp_dir dir;
  const auto path = (dir / "junk.db").string();
  {
    std::ofstream f(path);
    f << "this is not a database, just some bytes that are long enough to have a header.....";
  }
  auto s = herd::read_model::open_sqlite_store({.path = path});
  REQUIRE(!s.ok());
  CHECK(s.err().kind == herd::core::error_kind::fatal);
}

TEST_CASE("sqlite store: another schema version is refused as fatal") {
  herd::test_support::temp_dir dir;
  const auto path = (dir / "rm.db").string();
  { REQUIRE(herd::read_model::open_sqlite_store({.path = path}).ok()); }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto s = herd::read_model::open_sqlite_store({.path = path});
  REQUIRE(!s.ok());
  CHECK(s.err().kind == herd::core::error_kind::fatal);
  CHECK(s.err().message.find("99") != std::string::npos);
}

TEST_CASE("sqlite store: a second writer waits, then gets a retriable error") {
  herd::test_support::temp_dir dir;
  const auto path = (dir / "rm.db").string();
  auto a = herd::read_model::open_sqlite_store({.path = path});
  auto b = herd::read_model::open_sqlite_store({.path = path, .busy_timeout_ms = 50});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto ta = (*a)->begin();
  REQUIRE(ta.ok());
  auto tb = (*b)->begin();
  REQUIRE(!tb.ok());
  CHECK(tb.err().kind == herd::core::error_kind::retriable);
}
