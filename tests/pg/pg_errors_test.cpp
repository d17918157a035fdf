// How the PostgreSQL store classifies failures (herd/pg/errors.hpp), against a real server:
// unreachable / restarted = retriable (the projector backs off, never dead-letters), refused
// credentials or another schema = fatal, bad data = permanent.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/net.hpp>
#include <herd/test_support/temp_dir.hpp>

#include "herd/pg/connection.hpp"
#include "herd/pg/errors.hpp"
#include "pg_fixture.hpp"

using namespace herd;
using core::error_kind;

namespace {

error_kind open_error(const std::string& conninfo) {
  auto s = read_model::open_pg_store(pg_test::options_for(conninfo));
  REQUIRE_FALSE(s.ok());
  INFO(s.err().message);
  return s.err().kind;
}

read_model::stored_event event(const std::string& id) {
  read_model::stored_event e;
  e.event_id = id;
  e.animal_id = "276000000000001";
  e.event_type = "collar.reading.v1";
  e.gateway_id = "gw-1";
  e.topic = "herd.events";
  return e;
}

}  // namespace

TEST_CASE("pg errors: SQLSTATE classes") {
  CHECK(pg::classify_sqlstate("08006") == error_kind::retriable);  // connection failure
  CHECK(pg::classify_sqlstate("40001") == error_kind::retriable);  // serialization failure
  CHECK(pg::classify_sqlstate("40P01") == error_kind::retriable);  // deadlock
  CHECK(pg::classify_sqlstate("53100") == error_kind::retriable);  // disk full
  CHECK(pg::classify_sqlstate("53300") == error_kind::retriable);  // too many connections
  CHECK(pg::classify_sqlstate("55P03") == error_kind::retriable);  // lock_timeout
  CHECK(pg::classify_sqlstate("57P01") == error_kind::retriable);  // admin shutdown
  CHECK(pg::classify_sqlstate("57P03") == error_kind::retriable);  // cannot connect now
  CHECK(pg::classify_sqlstate("58030") == error_kind::retriable);  // I/O error
  CHECK(pg::classify_sqlstate("23505") == error_kind::permanent);  // unique violation
  CHECK(pg::classify_sqlstate("22021") == error_kind::permanent);  // bad UTF-8
  CHECK(pg::classify_sqlstate("28P01") == error_kind::fatal);      // bad password
  CHECK(pg::classify_sqlstate("3D000") == error_kind::fatal);      // no such database
  CHECK(pg::classify_sqlstate("42P01") == error_kind::fatal);      // no such table
  CHECK(pg::classify_sqlstate("42501") == error_kind::fatal);      // insufficient privilege
  CHECK(pg::classify_sqlstate("XX000") == error_kind::fatal);
  CHECK(pg::classify_sqlstate("") == error_kind::fatal);
}

TEST_CASE("pg errors: a password never reaches a message") {
  CHECK(pg::redact_conninfo("host=db password=s3cret user=p") == "host=db password=*** user=p");
  CHECK(pg::redact_conninfo("password = 'a b\\' c' host=x") == "password = *** host=x");
  CHECK(pg::redact_conninfo("postgresql://proj:s3cret@db1:5432/herd") ==
        "postgresql://proj:***@db1:5432/herd");
  CHECK(pg::redact_conninfo("postgresql://db1/herd") == "postgresql://db1/herd");
}

TEST_CASE("pg errors: connecting - unreachable is retriable, refused or misconfigured is fatal") {
  const std::uint16_t closed = test_support::free_port();
  CHECK(open_error("host=127.0.0.1 port=" + std::to_string(closed) + " user=postgres") ==
        error_kind::retriable);
  CHECK(open_error(pg_test::server().conninfo("no_such_database")) == error_kind::fatal);
  CHECK(open_error("host=127.0.0.1 port=" + std::to_string(pg_test::server().port()) +
                   " user=no_such_role dbname=postgres") == error_kind::fatal);
  CHECK(open_error("host=127.0.0.1 port=notaport") == error_kind::fatal);
  CHECK(open_error("this is = not a conninfo") == error_kind::fatal);
}

TEST_CASE("pg errors: another schema version or a database that is not a read model is fatal") {
  const std::string db = pg_test::fresh_database();
  { pg_test::open_store(pg_test::options_for(db)); }
  auto c = pg::connection::open(db);
  REQUIRE(c.ok());
  REQUIRE((*c)->execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'").ok());
  CHECK(open_error(db) == error_kind::fatal);

  const std::string other = pg_test::fresh_database();
  auto o = pg::connection::open(other);
  REQUIRE(o.ok());
  REQUIRE((*o)->execute("CREATE TABLE events (id int)").ok());  // someone else's table
  CHECK(open_error(other) == error_kind::fatal);
}

TEST_CASE("pg errors: text PostgreSQL cannot hold is permanent, bytes are fine") {
  auto s = pg_test::open_store(pg_test::options_for(pg_test::fresh_database()));
  {
    auto t = s->begin();
    REQUIRE(t.ok());
    const auto bad = event(std::string("id-with-\0-nul", 13));
    auto r = (*t)->append_events({&bad, 1});
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().kind == error_kind::permanent);
    auto second = s->begin();  // one transaction per store at a time (store.hpp)
    REQUIRE_FALSE(second.ok());
    CHECK(second.err().kind == error_kind::fatal);
  }

  auto t2 = s->begin();
  REQUIRE(t2.ok());
  auto invalid_utf8 = event("id-1");
  invalid_utf8.gateway_id = "gw-\xff\xfe";
  auto r2 = (*t2)->append_events({&invalid_utf8, 1});
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.err().kind == error_kind::permanent);  // 22021 from the server
}

TEST_CASE("pg errors: a server restart is retriable, and the same store carries on after it") {
  test_support::postgres_server own;  // not the shared one: this test stops it
  const std::string db = own.create_database("restart");
  auto s = pg_test::open_store(pg_test::options_for(db));

  auto t = s->begin();
  REQUIRE(t.ok());
  const auto e1 = event("before-restart");
  REQUIRE((*t)->append_events({&e1, 1}).ok());
  own.stop();  // fast shutdown: the open transaction is rolled back, the link dropped

  CHECK((*t)->commit().err().kind == error_kind::retriable);
  t->reset();
  auto down = s->begin();
  REQUIRE_FALSE(down.ok());
  CHECK(down.err().kind == error_kind::retriable);
  auto reads_down = s->load_progress();
  REQUIRE_FALSE(reads_down.ok());
  CHECK(reads_down.err().kind == error_kind::retriable);

  own.restart();
  auto again = s->begin();  // reconnects and prepares its statements again
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.err().message));
  auto flags = (*again)->append_events({&e1, 1});
  REQUIRE(flags.ok());
  CHECK((*flags)[0]);  // the first attempt never committed
  REQUIRE((*again)->commit().ok());
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 1);
}

namespace {

// A small tmpfs mounted for one test (root only), unmounted on destruction.
struct small_mount {
  std::filesystem::path path;
  bool mounted = false;
  small_mount(const std::filesystem::path& p, const std::string& size) : path(p) {
    std::filesystem::create_directories(p);
    const std::string cmd = "mount -t tmpfs -o size=" + size + ",mode=0700 tmpfs " + p.string() +
                            " 2>/dev/null";
    mounted = ::geteuid() == 0 && std::system(cmd.c_str()) == 0;
  }
  ~small_mount() {
    if (mounted) (void)std::system(("umount -l " + path.string()).c_str());
  }
};

}  // namespace

TEST_CASE("pg errors: a full disk is retriable, not a poison pill") {
  test_support::temp_dir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);  // the server reaches it
  small_mount disk(dir / "small", "2m");
  if (!disk.mounted) {
    MESSAGE("skipped: mounting a tmpfs needs root");
    return;
  }
  // The tablespace dir belongs to the server's user; the database's tables go there.
  const auto user = test_support::run_as_user::named("postgres");
  REQUIRE(::chown(disk.path.c_str(), user.uid, user.gid) == 0);
  const std::string db = pg_test::fresh_database();
  const std::string name = db.substr(db.rfind('=') + 1);
  pg_test::server().execute("CREATE TABLESPACE small_" + name + " LOCATION '" +
                            disk.path.string() + "'");
  pg_test::server().execute("ALTER DATABASE " + name + " SET default_tablespace = small_" + name);
  struct drop_before_unmount {  // the shared server must not keep files on the tmpfs
    std::string name;
    ~drop_before_unmount() {
      try {
        pg_test::server().execute("DROP DATABASE " + name + " WITH (FORCE)");
        pg_test::server().execute("DROP TABLESPACE small_" + name);
      } catch (...) {
      }
    }
  } cleanup{name};
  auto s = pg_test::open_store(pg_test::options_for(db));

  std::optional<core::error> failure;
  for (int batch = 0; batch < 50 && !failure; ++batch) {
    std::vector<read_model::stored_event> events;
    for (int i = 0; i < 200; ++i) {
      auto e = event("full-" + std::to_string(batch) + "-" + std::to_string(i));
      e.envelope = std::string(2000, static_cast<char>('a' + i % 26)) + e.event_id;
      events.push_back(std::move(e));
    }
    auto t = s->begin();
    REQUIRE(t.ok());
    auto r = (*t)->append_events(events);
    if (!r.ok()) {
      failure = r.err();
    } else if (auto c = (*t)->commit(); !c.ok()) {
      failure = c.err();
    }
  }
  REQUIRE_MESSAGE(failure.has_value(), "2 MiB never filled up");
  INFO(failure->message);
  CHECK(failure->kind == error_kind::retriable);
  CHECK(failure->message.find("53100") != std::string::npos);
  auto still = s->load_progress();  // the store is usable: reads work, the next begin works
  CHECK(still.ok());
  auto again = s->begin();
  CHECK(again.ok());
}
