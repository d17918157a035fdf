// Time travel: an animal's state at time T, replayed from the event store through the fold,
// equals the live state the projector had recorded at T.
#include "api_fixture.hpp"
#include "herd/api/time_travel.hpp"
#include "herd/core/time_format.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/read_model/sqlite_queries.hpp"
#include "herd/rules/animal_state.hpp"


namespace {

struct snapshot {
  std::int64_t at_ms;
  std::string encoded;  // rules::encode of the live state
};

herd::rules::animal_state live_state(herd::read_model::store& s, const std::string& id) {
  auto t = s.begin();
  REQUIRE(t.ok());
  std::vector<std::string> ids{id};
  auto rows = (*t)->load_animals(ids);
  REQUIRE(rows.ok());
  REQUIRE((*rows)[0].has_value());
  auto st = herd::rules::decode((*rows)[0]->state);
  REQUIRE(st.ok());
  return *st;
}

}  // namespace

TEST_CASE("api: state at a past time equals the live state recorded then (one animal per partition)") {
  herd::test_support::temp_dir dir;
  const std::string db = (dir / "rm.db").string();
  // 4 animals, 4 partitions, 40 h: the fever and the silent collar happen within the window.
  auto data = herd::api_test::make_herd(4, 40, 4);
  auto store = herd::read_model::open_sqlite_store({.path = db});
  REQUIRE(store.ok());
  herd::projector::applier applier(**store);
  REQUIRE(applier.load_positions().ok());
  std::map<std::string, std::vector<snapshot>> snaps;
  const std::size_t batch = 37;  // odd: moments fall anywhere in the stream
  for (std::size_t i = 0; i < data.records.size(); i += batch) {
    const std::size_t end = std::min(data.records.size(), i + batch);
    herd::api_test::apply(applier, data.records, i, end);
    // The moment: the newest occurred_at applied so far (readings arrive in time order).
    herd::events::v1::EventEnvelope last;
    REQUIRE(last.ParseFromString(data.records[end - 1].value));
    const std::int64_t at_ms = last.occurred_at().seconds() * 1000 + last.occurred_at().nanos() / 1'000'000;
    for (const char* id : {"DE01001", "DE01003"}) {
      snaps[id].push_back({at_ms, herd::rules::encode(live_state(**store, id))});
    }
  }
  auto q = herd::read_model::open_sqlite_queries({.path = db});
  REQUIRE(q.ok());
  std::size_t compared = 0, with_alerts = 0;
  for (const auto& [id, list] : snaps) {
    for (const auto& s : list) {
      auto r = herd::api::state_at(**q, id, s.at_ms, 0);
      REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
      INFO(id << " at " << herd::core::iso8601_utc_ms(s.at_ms));
      CHECK(herd::rules::encode(r->state) == s.encoded);
      with_alerts += r->state.alerts.empty() ? 0 : 1;
      ++compared;
    }
  }
  CHECK(compared > 40);
  CHECK(with_alerts > 0);  // the moments include alerts raised (low battery, fever)
}

TEST_CASE("api: the state endpoint replays through the fold (shared partitions: same readings and windows)") {
  herd::api_test::api_fixture f(6, 30, 2);
  // Half way: what the state was then, by replay, against the fold's own windows.
  const std::int64_t at = f.data.start_ms + 15 * 3'600'000 + 5 * 60'000;
  auto r = f.get_json("/api/v1/animals/DE01003/state?at=" + herd::core::iso8601_utc_ms(at));
  CHECK(r["at"] == herd::core::iso8601_utc_ms(at));
  CHECK(r["replayed_events"] == 91);  // readings at start + 0, 10, ... 15 h 0 min (+ 3 s)
  CHECK(r["state"]["latest"]["body_temp_c"]["at"] == herd::core::iso8601_utc_ms(f.data.start_ms + 15 * 3'600'000 + 3000));
  // No fever yet at that time; the live state now has one.
  for (const auto& a : r["state"]["active_alerts"]) CHECK(a["kind"] != "fever");
}
