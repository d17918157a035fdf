#pragma once
// The read-model store contract (herd/read_model/store.hpp) as one doctest suite that runs against
// every back-end. A back-end's test file defines a fixture type F:
//
//   struct F {
//     F();                                            // a fresh, empty read model
//     std::unique_ptr<herd::read_model::store> open(); // a NEW connection to that read model
//     static constexpr const char* name = "...";
//   };
//
// and instantiates the suite with HERD_STORE_SUITE(F) (see sqlite_store_test.cpp).
#include "store_suite_support.hpp"

namespace herd::store_suite {

TEST_CASE_TEMPLATE_DEFINE("store: an empty read model", F, store_empty) {
  F f;
  auto s = f.open();
  REQUIRE(s);
  auto p = s->load_progress();
  REQUIRE(p.ok());
  CHECK(p->empty());
  auto ev = s->read_events(0, 10);
  REQUIRE(ev.ok());
  CHECK(ev->empty());
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 0);
  CHECK(st->animals == 0);
  auto d = read_model::digest(*s);
  REQUIRE(d.ok());
  CHECK(d->hex.size() == 64);
}

TEST_CASE_TEMPLATE_DEFINE("store: append_events deduplicates by event_id", F, store_dedup) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    std::vector<stored_event> in = {event("e1", "A", 10, 0), event("e2", "B", 20, 1), event("e1", "A", 10, 2)};
    auto fresh = t->append_events(in);
    REQUIRE(fresh.ok());
    CHECK(*fresh == std::vector<bool>{true, true, false});  // duplicate inside one call
    HERD_REQUIRE_OK(t->commit());
  }
  {
    auto t = begin(*s);
    std::vector<stored_event> in = {event("e2", "B", 20, 3), event("e3", "A", 5, 4)};
    auto fresh = t->append_events(in);
    REQUIRE(fresh.ok());
    CHECK(*fresh == std::vector<bool>{false, true});  // duplicate of an earlier transaction
    HERD_REQUIRE_OK(t->commit());
  }
  auto ev = s->read_events(0, 100);
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 3);
  CHECK((*ev)[0].event_id == "e1");
  CHECK((*ev)[1].event_id == "e2");
  CHECK((*ev)[2].event_id == "e3");
  CHECK((*ev)[0].store_seq < (*ev)[1].store_seq);
  CHECK((*ev)[1].store_seq < (*ev)[2].store_seq);
  // Every field survives, bytes included; the first arrival's position is kept.
  const auto want = event("e1", "A", 10, 0);
  const auto& got = (*ev)[0];
  CHECK(got.animal_id == want.animal_id);
  CHECK(got.event_type == want.event_type);
  CHECK(got.occurred_at_us == want.occurred_at_us);
  CHECK(got.ingested_at_us == want.ingested_at_us);
  CHECK(got.gateway_id == want.gateway_id);
  CHECK(got.gateway_seq == want.gateway_seq);
  CHECK(got.envelope == want.envelope);
  CHECK(got.topic == want.topic);
  CHECK(got.partition == want.partition);
  CHECK(got.offset == 0);
  // Paging by store_seq.
  auto page = s->read_events((*ev)[0].store_seq, 1);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 1);
  CHECK((*page)[0].event_id == "e2");
}

TEST_CASE_TEMPLATE_DEFINE("store: a transaction not committed leaves nothing", F, store_rollback) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    std::vector<stored_event> in = {event("e1", "A", 10)};
    HERD_REQUIRE_OK(t->append_events(in));
    std::vector<animal_row> an = {animal("A", "state-1")};
    HERD_REQUIRE_OK(t->upsert_animals(an));
    std::vector<partition_progress> pr = {{"herd.events", 0, 5, 0, 1, 0, 0, 0, 0}};
    HERD_REQUIRE_OK(t->add_progress(pr));
    // destroyed without commit
  }
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 0);
  CHECK(st->animals == 0);
  auto p = s->load_progress();
  REQUIRE(p.ok());
  CHECK(p->empty());
  // The store is usable afterwards, and the event is new again.
  auto t = begin(*s);
  std::vector<stored_event> in = {event("e1", "A", 10)};
  auto fresh = t->append_events(in);
  REQUIRE(fresh.ok());
  CHECK((*fresh)[0]);
  HERD_REQUIRE_OK(t->commit());
}

TEST_CASE_TEMPLATE_DEFINE("store: animals and collars round-trip and replace", F, store_animals) {
  F f;
  auto s = f.open();
  const std::string bytes("\x00\x01\xff state", 10);
  {
    auto t = begin(*s);
    std::vector<animal_row> an = {animal("A", bytes), animal("B", "b")};
    an[1].collars.clear();
    an[1].body_temp_c = std::nullopt;
    HERD_REQUIRE_OK(t->upsert_animals(an));
    HERD_REQUIRE_OK(t->commit());
  }
  {
    auto t = begin(*s);
    std::vector<std::string> ids = {"B", "nobody", "A"};
    auto rows = t->load_animals(ids);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 3);
    REQUIRE((*rows)[0].has_value());
    CHECK((*rows)[0]->collars.empty());
    CHECK(!(*rows)[0]->body_temp_c.has_value());
    CHECK(!(*rows)[1].has_value());
    REQUIRE((*rows)[2].has_value());
    const auto& a = *(*rows)[2];
    CHECK(a.state == bytes);
    CHECK(a.events_applied == 3);
    CHECK(a.last_occurred_at_us == 1'700'000'000'000'000);
    CHECK(a.body_temp_c == doctest::Approx(38.62));
    CHECK(!a.activity_steps.has_value());
    CHECK(a.rumination_min == doctest::Approx(31.5));
    REQUIRE(a.collars.size() == 2);
    CHECK(a.collars[0].collar_id == "C-2");
    CHECK(a.collars[0].last_seq == 17);
    CHECK(a.collars[0].battery_pct == 87);
    CHECK(a.collars[0].rssi_dbm == -71);
    CHECK(a.collars[1].collar_id == "C-9");
    CHECK(!a.collars[1].battery_pct.has_value());
    // Replace A: one collar only, new state.
    animal_row a2 = animal("A", "new");
    a2.collars = {collar_row{"C-9", 4, 50, -80, 99}};
    std::vector<animal_row> up = {a2};
    HERD_REQUIRE_OK(t->upsert_animals(up));
    HERD_REQUIRE_OK(t->commit());
  }
  auto all = s->read_animals("", 10);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].animal_id == "A");
  CHECK((*all)[0].state == "new");
  REQUIRE((*all)[0].collars.size() == 1);
  CHECK((*all)[0].collars[0].collar_id == "C-9");
  CHECK((*all)[0].collars[0].last_seq == 4);
  CHECK((*all)[0].topic == "herd.events");
  CHECK((*all)[0].partition == 2);
  auto ids = s->partition_animals("herd.events", 2);
  REQUIRE(ids.ok());
  CHECK(*ids == std::vector<std::string>{"A", "B"});
  auto none = s->partition_animals("herd.events", 3);
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto after = s->read_animals("A", 10);
  REQUIRE(after.ok());
  REQUIRE(after->size() == 1);
  CHECK((*after)[0].animal_id == "B");
}

TEST_CASE_TEMPLATE_DEFINE("store: progress is set, counters add up, claim fences", F, store_progress) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    auto c = t->claim("herd.events", 3, -1);  // nothing stored yet
    REQUIRE(c.ok());
    CHECK(*c);
    auto wrong = t->claim("herd.events", 4, 0);
    REQUIRE(wrong.ok());
    CHECK(!*wrong);
    std::vector<partition_progress> pr = {{"herd.events", 3, 100, 555, 90, 5, 2, 1, 3},
                                          {"herd.events", 1, 7, 0, 7, 0, 0, 0, 0}};
    HERD_REQUIRE_OK(t->add_progress(pr));
    HERD_REQUIRE_OK(t->commit());
  }
  {
    auto t = begin(*s);
    auto c = t->claim("herd.events", 3, 100);
    REQUIRE(c.ok());
    CHECK(*c);
    auto stale = t->claim("herd.events", 1, 3);
    REQUIRE(stale.ok());
    CHECK(!*stale);
    std::vector<partition_progress> pr = {{"herd.events", 3, 150, 777, 10, 1, 0, 0, 0}};
    HERD_REQUIRE_OK(t->add_progress(pr));
    HERD_REQUIRE_OK(t->commit());
  }
  auto p = s->load_progress();
  REQUIRE(p.ok());
  REQUIRE(p->size() == 2);
  CHECK((*p)[0].partition == 1);
  CHECK((*p)[0].next_offset == 7);
  CHECK((*p)[1].partition == 3);
  CHECK((*p)[1].next_offset == 150);
  CHECK((*p)[1].watermark_us == 777);
  CHECK((*p)[0].watermark_us == 0);
  CHECK((*p)[1].applied == 100);
  CHECK((*p)[1].duplicates == 6);
  CHECK((*p)[1].unknown_type == 2);
  CHECK((*p)[1].rejected == 1);
  CHECK((*p)[1].dead_lettered == 3);
}

TEST_CASE_TEMPLATE_DEFINE("store: a second connection sees commits and is fenced", F, store_two_connections) {
  F f;
  auto a = f.open();
  auto b = f.open();
  {
    auto t = begin(*a);
    std::vector<partition_progress> pr = {{"herd.events", 0, 10, 0, 0, 0, 0, 0, 0}};
    HERD_REQUIRE_OK(t->add_progress(pr));
    HERD_REQUIRE_OK(t->commit());
  }
  // b read 10 (its assignment), then a moves the partition on: b's claim of 10 must fail.
  auto pb = b->load_progress();
  REQUIRE(pb.ok());
  REQUIRE(pb->size() == 1);
  CHECK((*pb)[0].next_offset == 10);
  {
    auto t = begin(*a);
    std::vector<partition_progress> pr = {{"herd.events", 0, 20, 0, 0, 0, 0, 0, 0}};
    HERD_REQUIRE_OK(t->add_progress(pr));
    HERD_REQUIRE_OK(t->commit());
  }
  auto t = begin(*b);
  auto c = t->claim("herd.events", 0, 10);
  REQUIRE(c.ok());
  CHECK(!*c);
  auto c2 = t->claim("herd.events", 0, 20);
  REQUIRE(c2.ok());
  CHECK(*c2);
}

TEST_CASE_TEMPLATE_DEFINE("store: committed data survives reopening", F, store_reopen) {
  F f;
  {
    auto s = f.open();
    auto t = begin(*s);
    std::vector<stored_event> in = {event("e1", "A", 10)};
    HERD_REQUIRE_OK(t->append_events(in));
    std::vector<animal_row> an = {animal("A", "s")};
    HERD_REQUIRE_OK(t->upsert_animals(an));
    HERD_REQUIRE_OK(t->commit());
  }
  auto s = f.open();
  auto st = s->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 1);
  CHECK(st->animals == 1);
  auto t = begin(*s);
  std::vector<stored_event> in = {event("e1", "A", 10)};
  auto fresh = t->append_events(in);
  REQUIRE(fresh.ok());
  CHECK(!(*fresh)[0]);
}

}  // namespace herd::store_suite

#include "store_suite_history.hpp"

// Instantiates every case above and in store_suite_history.hpp for fixture type F.
#define HERD_STORE_SUITE(F)                                              \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_empty, F);          \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_dedup, F);          \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_rollback, F);       \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_animals, F);        \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_progress, F);       \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_two_connections, F); \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_reopen, F);         \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_animal_events, F);  \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_alerts_outbox, F);  \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_outbox_relay, F);  \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_prune, F);          \
  TEST_CASE_TEMPLATE_INVOKE(herd::store_suite::store_digest, F)
