#pragma once
// store_txn::send_append / receive_appended (herd/read_model/store.hpp), part of the store
// contract run against every back-end: pieces give the flags one append_events call would, and a
// transaction dropped with pieces in flight leaves nothing. A back-end's test file includes this
// after store_suite.hpp (whose helpers it uses) and adds HERD_STORE_PIPELINE_SUITE(F).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "herd/read_model/store.hpp"
#include "store_suite.hpp"

namespace herd::store_suite {

TEST_CASE_TEMPLATE_DEFINE("store: appends sent in pieces flag as one call would", F, store_pieces) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    const std::vector<stored_event> done = {event("e0", "A", 1, 0)};
    HERD_REQUIRE_OK(t->append_events(done));
    HERD_REQUIRE_OK(t->commit());
  }
  auto t = begin(*s);
  const std::vector<stored_event> a = {event("e1", "A", 10, 1), event("e0", "A", 1, 2), event("e1", "A", 10, 3)};
  const std::vector<stored_event> b = {event("e2", "B", 20, 4), event("e1", "A", 10, 5)};
  const std::vector<stored_event> c = {event("e3", "B", 30, 6)};
  HERD_REQUIRE_OK(t->send_append(a));
  HERD_REQUIRE_OK(t->send_append(b));  // two in flight
  auto fa = t->receive_appended();
  REQUIRE(fa.ok());
  CHECK(*fa == std::vector<bool>{true, false, false});  // e0: an earlier transaction; e1 twice in one piece
  HERD_REQUIRE_OK(t->send_append(c));
  auto fb = t->receive_appended();
  REQUIRE(fb.ok());
  CHECK(*fb == std::vector<bool>{true, false});  // e1: stored by the earlier piece of this transaction
  auto fc = t->receive_appended();
  REQUIRE(fc.ok());
  CHECK(*fc == std::vector<bool>{true});
  HERD_REQUIRE_OK(t->commit());
  auto ev = s->read_events(0, 100);
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 4);
  for (std::size_t i = 0; i < ev->size(); ++i) {
    CHECK((*ev)[i].event_id == "e" + std::to_string(i));  // append order across the pieces
    if (i > 0) CHECK((*ev)[i - 1].store_seq < (*ev)[i].store_seq);
  }
  CHECK((*ev)[1].offset == 1);  // the first arrival's position
}

TEST_CASE_TEMPLATE_DEFINE("store: a transaction dropped with pieces in flight leaves nothing", F,
                          store_pieces_dropped) {
  F f;
  auto s = f.open();
  const std::vector<stored_event> a = {event("e1", "A", 10, 0), event("e2", "B", 20, 1)};
  {
    auto t = begin(*s);
    HERD_REQUIRE_OK(t->send_append(a));
    HERD_REQUIRE_OK(t->send_append(a));
    // destroyed unreceived: rolled back
  }
  auto t = begin(*s);  // the store takes the next transaction
  auto fresh = t->append_events(a);
  REQUIRE(fresh.ok());
  CHECK(*fresh == std::vector<bool>{true, true});
  HERD_REQUIRE_OK(t->commit());
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 2);
}

#define HERD_STORE_PIPELINE_SUITE(F)                             \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_pieces, F); \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_pieces_dropped, F)

}  // namespace herd::store_suite
