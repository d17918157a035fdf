// The history endpoint's fast event serializer writes the same JSON as the general one.
#include "api_fixture.hpp"
#include "envelopes.hpp"
#include "herd/read_model/sqlite_queries.hpp"
#include "views.hpp"

TEST_CASE("api views: append_event_json == event_json for readings, unknown types and junk bytes") {
  herd::api_test::api_fixture f(2, 1, 1);
  auto q = herd::read_model::open_sqlite_queries({.path = f.db});
  REQUIRE(q.ok());
  auto events = (*q)->animal_events("DE01000", 0, std::numeric_limits<std::int64_t>::max(), 0, 100);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 6);
  auto list = *events;
  herd::read_model::stored_event unknown = list[0];
  unknown.event_type = "collar.mood.v7";
  unknown.envelope = herd::test_envelopes::unknown_type_envelope("u-1", "DE01000", 1'780'000'000'000);
  list.push_back(unknown);
  herd::read_model::stored_event junk = list[0];
  junk.envelope = "\xff\x01 not protobuf \"quoted\"";
  junk.gateway_id = "gw-\"odd\"\n\x01";
  list.push_back(junk);
  for (const auto& e : list) {
    std::string text;
    herd::api::append_event_json(text, e);
    const auto parsed = nlohmann::ordered_json::parse(text, nullptr, false);
    INFO(text);
    REQUIRE(!parsed.is_discarded());
    CHECK(parsed == herd::api::event_json(e));
  }
}
