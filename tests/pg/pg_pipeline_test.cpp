// Pipelined appends (store_txn::send_append over libpq pipeline mode, herd/pg/connection.hpp)
// when something goes wrong with pieces in flight: the error classes are those of the
// synchronous path, and the store takes the next transaction afterwards.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "herd/pg/connection.hpp"
#include "pg_fixture.hpp"

using namespace herd;
using core::error_kind;

namespace {

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

TEST_CASE("pg pipeline: a server error in one piece fails it and the pieces after it, then the store goes on") {
  auto s = pg_test::open_store(pg_test::options_for(pg_test::fresh_database()));
  const std::vector<read_model::stored_event> good = {event("good-1")};
  auto bad = event("bad-1");
  bad.gateway_id = "gw-\xff\xfe";  // not UTF-8: 22021 from the server, after the send
  {
    auto t = s->begin();
    REQUIRE(t.ok());
    REQUIRE((*t)->send_append({&bad, 1}).ok());
    REQUIRE((*t)->send_append(good).ok());
    auto first = (*t)->receive_appended();
    REQUIRE_FALSE(first.ok());
    CHECK(first.err().kind == error_kind::permanent);
    auto second = (*t)->receive_appended();
    REQUIRE_FALSE(second.ok());
    CHECK(second.err().kind == error_kind::retriable);  // 25P02: the transaction had failed
  }
  auto t = s->begin();
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.err().message));
  auto flags = (*t)->append_events(good);
  REQUIRE(flags.ok());
  CHECK((*flags)[0]);
  REQUIRE((*t)->commit().ok());
}

TEST_CASE("pg pipeline: commit with pieces in flight is refused and nothing is stored") {
  auto s = pg_test::open_store(pg_test::options_for(pg_test::fresh_database()));
  const std::vector<read_model::stored_event> evs = {event("e-1"), event("e-2")};
  {
    auto t = s->begin();
    REQUIRE(t.ok());
    REQUIRE((*t)->send_append(evs).ok());
    auto c = (*t)->commit();
    REQUIRE_FALSE(c.ok());
    CHECK(c.err().kind == error_kind::fatal);  // a bug of the caller, not the database's state
  }
  auto st = s->stats();  // the destroyed transaction waited for the piece and rolled back
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  CHECK(st->events == 0);
}

TEST_CASE("pg pipeline: a server restart with pieces in flight is retriable, and the store carries on") {
  test_support::postgres_server own;  // not the shared one: this test stops it
  auto s = pg_test::open_store(pg_test::options_for(own.create_database("pipeline_restart")));
  const std::vector<read_model::stored_event> evs = {event("e-1"), event("e-2")};
  {
    auto t = s->begin();
    REQUIRE(t.ok());
    REQUIRE((*t)->send_append(evs).ok());
    REQUIRE((*t)->receive_appended().ok());
    own.stop();  // fast shutdown: the open transaction is rolled back, the link dropped
    auto sent = (*t)->send_append(evs);
    if (sent.ok()) {  // the write may still reach the socket; the answer cannot come
      auto r = (*t)->receive_appended();
      REQUIRE_FALSE(r.ok());
      CHECK(r.err().kind == error_kind::retriable);
    } else {
      CHECK(sent.err().kind == error_kind::retriable);
    }
  }
  own.restart();
  auto t = s->begin();  // reconnects: the pipeline went with the old link
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.err().message));
  REQUIRE((*t)->send_append(evs).ok());
  auto flags = (*t)->receive_appended();
  REQUIRE_MESSAGE(flags.ok(), (flags.ok() ? "" : flags.err().message));
  CHECK(*flags == std::vector<bool>{true, true});  // the first attempt never committed
  REQUIRE((*t)->commit().ok());
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 2);
}
