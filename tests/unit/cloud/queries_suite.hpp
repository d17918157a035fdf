#pragma once
// The query side's read-only view (herd/read_model/queries.hpp) as one doctest suite that runs
// against every back-end, beside the store suite (store_suite.hpp). The fixture type F has
//   std::unique_ptr<herd::read_model::store> open();          // a writer (the projector's view)
//   std::unique_ptr<herd::read_model::queries> open_queries(); // the query side's connection
// and is instantiated with HERD_QUERIES_SUITE(F).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "herd/read_model/queries.hpp"
#include "herd/read_model/store.hpp"
#include "store_suite.hpp"

namespace herd::queries_suite {

using read_model::alert_filter;
using read_model::alert_row;

inline alert_row alert(const std::string& id, const std::string& animal, const std::string& kind,
                       std::int32_t severity, std::int64_t raised, std::optional<std::int64_t> resolved) {
  alert_row a;
  a.alert_id = id;
  a.animal_id = animal;
  a.kind = kind;
  a.status = resolved ? "resolved" : "active";
  a.severity = severity;
  a.raised_at_us = raised;
  a.updated_at_us = resolved.value_or(raised);
  a.resolved_at_us = resolved;
  a.body = R"({"evidence":"x"})";
  return a;
}

template <class F>
void fill(F& f) {
  auto s = f.open();
  auto t = store_suite::begin(*s);
  std::vector<read_model::stored_event> ev = {store_suite::event("e1", "A", 100, 0), store_suite::event("e2", "B", 150, 1),
                                              store_suite::event("e3", "A", 200, 2), store_suite::event("e4", "A", 300, 3)};
  HERD_REQUIRE_OK(t->append_events(ev));
  std::vector<read_model::animal_row> animals = {store_suite::animal("A", "state-A"), store_suite::animal("B", "state-B")};
  HERD_REQUIRE_OK(t->upsert_animals(animals));
  std::vector<alert_row> alerts = {alert("A:fever:1", "A", "fever", 2, 1000, std::nullopt),
                                   alert("A:estrus:1", "A", "estrus", 2, 500, 900),
                                   alert("B:low_battery:1", "B", "low_battery", 1, 1200, std::nullopt),
                                   alert("B:fever:1", "B", "fever", 3, 800, std::nullopt)};
  HERD_REQUIRE_OK(t->upsert_alerts(alerts));
  std::vector<read_model::partition_progress> pr = {{"herd.events", 2, 4, 300, 4, 0, 0, 0, 0}};
  HERD_REQUIRE_OK(t->add_progress(pr));
  HERD_REQUIRE_OK(t->commit());
}

inline std::vector<std::string> ids(const std::vector<alert_row>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.alert_id);
  return out;
}

TEST_CASE_TEMPLATE_DEFINE("queries: one animal, alerts by filter, events, counts", F, queries_reads) {
  F f;
  auto writer = f.open();  // creates the schema
  fill(f);
  auto q = f.open_queries();
  REQUIRE(q);

  auto a = q->animal("A");
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->state == "state-A");
  CHECK((*a)->collars.size() == 2);
  CHECK((*a)->collars[0].collar_id == "C-2");
  CHECK((*a)->rumination_min == doctest::Approx(31.5));
  auto none = q->animal("nobody");
  REQUIRE(none.ok());
  CHECK(!none->has_value());

  alert_filter all;
  auto r = q->alerts(all);
  REQUIRE(r.ok());
  // Most urgent first: severity desc, then newest raised first.
  CHECK(ids(*r) == std::vector<std::string>{"B:fever:1", "A:fever:1", "A:estrus:1", "B:low_battery:1"});

  alert_filter active;
  active.active_only = true;
  r = q->alerts(active);
  REQUIRE(r.ok());
  CHECK(ids(*r) == std::vector<std::string>{"B:fever:1", "A:fever:1", "B:low_battery:1"});

  alert_filter kind = active;
  kind.kind = "fever";
  kind.min_severity = 3;
  r = q->alerts(kind);
  REQUIRE(r.ok());
  CHECK(ids(*r) == std::vector<std::string>{"B:fever:1"});

  alert_filter since = active;
  since.updated_since_us = 1000;
  r = q->alerts(since);
  REQUIRE(r.ok());
  CHECK(ids(*r) == std::vector<std::string>{"A:fever:1", "B:low_battery:1"});

  alert_filter of_a;
  of_a.animal_id = "A";
  of_a.from_us = 950;  // the estrus alert ended at 900: outside
  of_a.to_us = 2000;
  r = q->alerts(of_a);
  REQUIRE(r.ok());
  CHECK(ids(*r) == std::vector<std::string>{"A:fever:1"});
  of_a.from_us = 0;
  of_a.to_us = 600;  // only the estrus alert was raised before 600
  r = q->alerts(of_a);
  REQUIRE(r.ok());
  CHECK(ids(*r) == std::vector<std::string>{"A:estrus:1"});
  of_a.to_us = 2000;
  of_a.limit = 1;
  r = q->alerts(of_a);
  REQUIRE(r.ok());
  CHECK(r->size() == 1);

  auto ev = q->animal_events("A", 150, 400, 0, 10);
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 2);
  CHECK((*ev)[0].event_id == "e3");
  CHECK((*ev)[1].envelope == store_suite::event("e4", "A", 300, 3).envelope);  // bytes, NUL included
  ev = q->animal_events("A", 0, 400, (*ev)[0].store_seq, 10);  // paging by store_seq
  REQUIRE(ev.ok());
  CHECK(ev->size() == 1);

  auto n = q->count_animals();
  REQUIRE(n.ok());
  CHECK(*n == 2);
  auto c = q->count_active_alerts();
  REQUIRE(c.ok());
  CHECK(*c == std::vector<read_model::alert_count>{{"fever", 2, 1}, {"fever", 3, 1}, {"low_battery", 1, 1}});
  auto p = q->progress();
  REQUIRE(p.ok());
  REQUIRE(p->size() == 1);
  CHECK((*p)[0].next_offset == 4);
}

TEST_CASE_TEMPLATE_DEFINE("queries: the query connection sees new commits and cannot write", F, queries_live) {
  F f;
  auto writer = f.open();
  auto q = f.open_queries();
  auto n = q->count_animals();
  REQUIRE(n.ok());
  CHECK(*n == 0);
  fill(f);
  n = q->count_animals();
  REQUIRE(n.ok());
  CHECK(*n == 2);
  auto a = q->animal("B");
  REQUIRE(a.ok());
  CHECK(a->has_value());
}

TEST_CASE_TEMPLATE_DEFINE("queries: advance rounds are stored with the transaction and read back by offset", F,
                          queries_advances) {
  F f;
  auto s = f.open();
  auto mk = [](std::int32_t p, std::int64_t b, std::int64_t off, std::int64_t occ, std::int32_t n) {
    return read_model::advance_row{"herd.events", p, b, off, occ, b, 12, -30, -45, 7, n};
  };
  {
    auto t = store_suite::begin(*s);
    std::vector<read_model::advance_row> rows = {mk(2, 1200, 40, 1201, 5), mk(2, 600, 10, 650, 4), mk(3, 600, 3, 700, 9)};
    HERD_REQUIRE_OK(t->append_advances(rows));
  }  // not committed: rolled back
  {
    auto t = store_suite::begin(*s);
    std::vector<read_model::advance_row> rows = {mk(2, 1200, 40, 1201, 5), mk(2, 600, 10, 650, 4), mk(3, 600, 3, 700, 9),
                                                 mk(2, 600, 11, 651, 4)};  // the same boundary again: replaced
    HERD_REQUIRE_OK(t->append_advances(rows));
    HERD_REQUIRE_OK(t->commit());
  }
  auto q = f.open_queries();
  auto r = q->advances("herd.events", 2, 10'000);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0] == mk(2, 600, 11, 651, 4));
  CHECK((*r)[1] == mk(2, 1200, 40, 1201, 5));
  r = q->advances("herd.events", 2, 1200);  // only rounds whose crossing reading occurred by then
  REQUIRE(r.ok());
  CHECK(r->size() == 1);
  r = q->advances("other", 2, 10'000);
  REQUIRE(r.ok());
  CHECK(r->empty());
}

#define HERD_QUERIES_SUITE(F)                                        \
  TEST_CASE_TEMPLATE_INVOKE(herd::queries_suite::queries_reads, F);  \
  TEST_CASE_TEMPLATE_INVOKE(herd::queries_suite::queries_live, F);    \
  TEST_CASE_TEMPLATE_INVOKE(herd::queries_suite::queries_advances, F)

}  // namespace herd::queries_suite
