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
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "herd/read_model/digest.hpp"
#include "herd/read_model/store.hpp"

namespace herd::store_suite {

using read_model::alert_row;
using read_model::animal_row;
using read_model::collar_row;
using read_model::outbox_message;
using read_model::partition_progress;
using read_model::stored_event;

inline stored_event event(const std::string& id, const std::string& animal, std::int64_t occurred_us,
                          std::int64_t offset = 0, const std::string& type = "collar.reading.v1") {
  stored_event e;
  e.event_id = id;
  e.animal_id = animal;
  e.event_type = type;
  e.occurred_at_us = occurred_us;
  e.ingested_at_us = occurred_us + 5;
  e.gateway_id = "gw-1";
  e.gateway_seq = static_cast<std::uint64_t>(offset + 1);
  e.envelope = std::string("env\0") + id;  // embedded NUL: stored as bytes, not text
  e.envelope.push_back('\0');
  e.topic = "herd.events";
  e.partition = 2;
  e.offset = offset;
  return e;
}

inline animal_row animal(const std::string& id, const std::string& state) {
  animal_row a;
  a.animal_id = id;
  a.topic = "herd.events";
  a.partition = 2;
  a.state = state;
  a.events_applied = 3;
  a.last_occurred_at_us = 1'700'000'000'000'000;
  a.body_temp_c = 38.62;
  a.activity_steps = std::nullopt;
  a.rumination_min = 31.5;
  a.collars = {collar_row{"C-2", 17, 87, -71, 1'700'000'000'000'000},
               collar_row{"C-9", -1, std::nullopt, std::nullopt, 0}};
  return a;
}

template <class S>
std::unique_ptr<read_model::store_txn> begin(S& s) {
  auto t = s.begin();
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.err().message));
  return std::move(*t);
}

#define HERD_REQUIRE_OK(expr)                                          \
  do {                                                                 \
    auto herd_r_ = (expr);                                             \
    REQUIRE_MESSAGE(herd_r_.ok(), (herd_r_.ok() ? "" : herd_r_.err().message)); \
  } while (0)

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

TEST_CASE_TEMPLATE_DEFINE("store: one animal's events by time range, in append order", F, store_animal_events) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    // Appended out of occurred_at order (a late batch upload).
    std::vector<stored_event> in = {event("a3", "A", 300, 0), event("b1", "B", 100, 1), event("a1", "A", 100, 2),
                                    event("a2", "A", 200, 3), event("a4", "A", 400, 4)};
    HERD_REQUIRE_OK(t->append_events(in));
    HERD_REQUIRE_OK(t->commit());
  }
  auto r = s->animal_events("A", 100, 400, 0, 100);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].event_id == "a3");  // store_seq order = the order the fold applied them
  CHECK((*r)[1].event_id == "a1");
  CHECK((*r)[2].event_id == "a2");
  auto page = s->animal_events("A", 0, 1000, (*r)[0].store_seq, 2);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 2);
  CHECK((*page)[0].event_id == "a1");
  CHECK((*page)[1].event_id == "a2");
}

TEST_CASE_TEMPLATE_DEFINE("store: the relay deletes exact outbox rows and holds the relay lease", F,
                          store_outbox_relay) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    std::vector<outbox_message> msgs;
    for (int i = 0; i < 5; ++i) msgs.push_back({0, "herd.alerts", "A", "v" + std::to_string(i), {{"ce_id", std::to_string(i)}}});
    HERD_REQUIRE_OK(t->append_outbox(msgs));
    HERD_REQUIRE_OK(t->commit());
  }
  auto ob = s->read_outbox(0, 10);
  REQUIRE(ob.ok());
  REQUIRE(ob->size() == 5);
  // Rows 2 and 4 relayed: exactly those go, the lower and the middle ones stay.
  std::vector<std::int64_t> gone = {(*ob)[1].seq, (*ob)[3].seq};
  HERD_REQUIRE_OK(s->delete_outbox_seqs(gone));
  HERD_REQUIRE_OK(s->delete_outbox_seqs({}));
  auto rest = s->read_outbox(0, 10);
  REQUIRE(rest.ok());
  REQUIRE(rest->size() == 3);
  CHECK((*rest)[0].value == "v0");
  CHECK((*rest)[1].value == "v2");
  CHECK((*rest)[2].value == "v4");
  auto lease = s->relay_lease();
  REQUIRE(lease.ok());
  CHECK(*lease);
  lease = s->relay_lease();  // asking again keeps it
  REQUIRE(lease.ok());
  CHECK(*lease);
}

TEST_CASE_TEMPLATE_DEFINE("store: alerts and the outbox", F, store_alerts_outbox) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    alert_row al{"al-1", "A", "fever", "active", 2, 100, 100, std::nullopt, std::nullopt, "{\"t\":40.1}"};
    std::vector<alert_row> als = {al};
    HERD_REQUIRE_OK(t->upsert_alerts(als));
    al.status = "resolved";
    al.resolved_at_us = 900;
    al.updated_at_us = 900;
    als = {al, alert_row{"al-0", "B", "estrus", "active", 1, 50, 60, std::nullopt, 70, ""}};
    HERD_REQUIRE_OK(t->upsert_alerts(als));
    std::vector<outbox_message> msgs = {
        {0, "herd.alerts", "A", std::string("v\0\1", 3), {{"ce_type", "alert.raised.v1"}, {"ce_id", "x"}}},
        {0, "herd.alerts", "B", "w", {}}};
    HERD_REQUIRE_OK(t->append_outbox(msgs));
    HERD_REQUIRE_OK(t->commit());
  }
  auto als = s->read_alerts("", 10);
  REQUIRE(als.ok());
  REQUIRE(als->size() == 2);
  CHECK((*als)[0].alert_id == "al-0");
  CHECK((*als)[0].acknowledged_at_us == 70);
  CHECK((*als)[1].status == "resolved");
  CHECK((*als)[1].resolved_at_us == 900);
  CHECK((*als)[1].body == "{\"t\":40.1}");
  auto ob = s->read_outbox(0, 10);
  REQUIRE(ob.ok());
  REQUIRE(ob->size() == 2);
  CHECK((*ob)[0].seq < (*ob)[1].seq);
  CHECK((*ob)[0].value == std::string("v\0\1", 3));
  REQUIRE((*ob)[0].headers.size() == 2);
  CHECK((*ob)[0].headers[0].first == "ce_type");
  CHECK((*ob)[0].headers[0].second == "alert.raised.v1");
  CHECK((*ob)[1].headers.empty());
  HERD_REQUIRE_OK(s->delete_outbox((*ob)[0].seq));
  auto rest = s->read_outbox(0, 10);
  REQUIRE(rest.ok());
  REQUIRE(rest->size() == 1);
  CHECK((*rest)[0].key == "B");
}

TEST_CASE_TEMPLATE_DEFINE("store: retention prunes old events only", F, store_prune) {
  F f;
  auto s = f.open();
  {
    auto t = begin(*s);
    std::vector<stored_event> in = {event("old1", "A", 10), event("new", "A", 500), event("old2", "B", 20)};
    HERD_REQUIRE_OK(t->append_events(in));
    HERD_REQUIRE_OK(t->commit());
  }
  auto n = s->prune_events(100, 1);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  n = s->prune_events(100, 10);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  auto ev = s->read_events(0, 10);
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 1);
  CHECK((*ev)[0].event_id == "new");
}

TEST_CASE_TEMPLATE_DEFINE("store: the digest ignores append order, sees every byte", F, store_digest) {
  F f1, f2;
  auto s1 = f1.open();
  auto s2 = f2.open();
  std::vector<stored_event> evs = {event("e1", "A", 10, 0), event("e2", "B", 20, 1), event("e3", "A", 30, 2)};
  std::vector<animal_row> an = {animal("A", "sa"), animal("B", "sb")};
  {
    auto t = begin(*s1);
    HERD_REQUIRE_OK(t->append_events(evs));
    HERD_REQUIRE_OK(t->upsert_animals(an));
    std::vector<partition_progress> pr = {{"herd.events", 2, 3, 0, 3, 0, 0, 0, 0}};
    HERD_REQUIRE_OK(t->add_progress(pr));
    HERD_REQUIRE_OK(t->commit());
  }
  {
    auto t = begin(*s2);
    std::vector<stored_event> rev(evs.rbegin(), evs.rend());
    HERD_REQUIRE_OK(t->append_events(rev));
    std::vector<animal_row> rev_an(an.rbegin(), an.rend());
    HERD_REQUIRE_OK(t->upsert_animals(rev_an));
    HERD_REQUIRE_OK(t->commit());
  }
  auto d1 = read_model::digest(*s1);
  auto d2 = read_model::digest(*s2);
  REQUIRE(d1.ok());
  REQUIRE(d2.ok());
  CHECK(d1->hex == d2->hex);
  CHECK(d1->events == 3);
  CHECK(d1->animals == 2);
  {
    auto t = begin(*s2);
    std::vector<animal_row> changed = {animal("B", "sB")};
    HERD_REQUIRE_OK(t->upsert_animals(changed));
    HERD_REQUIRE_OK(t->commit());
  }
  auto d3 = read_model::digest(*s2);
  REQUIRE(d3.ok());
  CHECK(d3->hex != d1->hex);
}

// Instantiates every case above for fixture type F.
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

}  // namespace herd::store_suite
