#pragma once
// The store suite's cases for what is read back after the fold: one animal's history, the
// alert outbox and its relay, retention and the digest (included by store_suite.hpp).
#include "store_suite_support.hpp"

namespace herd::store_suite {

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

}  // namespace herd::store_suite
