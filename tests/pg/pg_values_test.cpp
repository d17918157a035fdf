// Values at the edges survive the PostgreSQL store's binary parameters and results unchanged:
// unsigned 64-bit fields above 2^63 (stored in bigint), negative times, empty and non-ASCII
// text, large and binary bytes, NULL vs 0, infinities.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "herd/pg/connection.hpp"
#include "pg_fixture.hpp"

using namespace herd;

TEST_CASE("pg store: edge values round-trip exactly") {
  auto s = pg_test::open_store(pg_test::options_for(pg_test::fresh_database()));
  read_model::stored_event e;
  e.event_id = "ünïcødé-🐄-id";
  e.animal_id = "DE 0123 4567 89";
  e.event_type = "";
  e.occurred_at_us = -1'000'000;  // before 1970
  e.ingested_at_us = std::numeric_limits<std::int64_t>::max();
  e.gateway_id = "gw";
  e.gateway_seq = std::numeric_limits<std::uint64_t>::max();
  e.envelope.assign(1 << 20, '\0');  // 1 MiB of NUL bytes, then every byte value
  for (int b = 0; b < 256; ++b) e.envelope.push_back(static_cast<char>(b));
  e.topic = "t";
  e.partition = std::numeric_limits<std::int32_t>::max();
  e.offset = std::numeric_limits<std::int64_t>::min();

  read_model::animal_row a;
  a.animal_id = e.animal_id;
  a.topic = "t";
  a.partition = -7;
  a.state = std::string("\xff\x00\x01", 3);
  a.events_applied = (std::uint64_t{1} << 63) + 5;
  a.last_occurred_at_us = -5;
  a.body_temp_c = 0.0;  // 0 is a value, not NULL
  a.activity_steps = std::numeric_limits<double>::infinity();
  a.rumination_min = std::nullopt;
  a.collars = {{"c", std::numeric_limits<std::int64_t>::min(), 0, std::numeric_limits<std::int32_t>::min(), 0}};

  read_model::partition_progress p;
  p.topic = "t";
  p.partition = 0;
  p.next_offset = std::numeric_limits<std::int64_t>::max();
  p.watermark_us = -3;
  p.applied = std::numeric_limits<std::uint64_t>::max();

  {
    auto t = s->begin();
    REQUIRE(t.ok());
    REQUIRE((*t)->append_events({&e, 1}).ok());
    REQUIRE((*t)->upsert_animals({&a, 1}).ok());
    REQUIRE((*t)->add_progress({&p, 1}).ok());
    REQUIRE((*t)->commit().ok());
  }
  auto ev = s->read_events(0, 10);
  REQUIRE(ev.ok());
  REQUIRE(ev->size() == 1);
  const auto& g = (*ev)[0];
  CHECK(g.event_id == e.event_id);
  CHECK(g.animal_id == e.animal_id);
  CHECK(g.event_type.empty());
  CHECK(g.occurred_at_us == e.occurred_at_us);
  CHECK(g.ingested_at_us == e.ingested_at_us);
  CHECK(g.gateway_seq == e.gateway_seq);
  CHECK(g.envelope == e.envelope);
  CHECK(g.partition == e.partition);
  CHECK(g.offset == e.offset);

  auto an = s->read_animals("", 10);
  REQUIRE(an.ok());
  REQUIRE(an->size() == 1);
  const auto& ga = (*an)[0];
  CHECK(ga.partition == -7);
  CHECK(ga.state == a.state);
  CHECK(ga.events_applied == a.events_applied);
  CHECK(ga.last_occurred_at_us == -5);
  REQUIRE(ga.body_temp_c.has_value());
  CHECK(*ga.body_temp_c == 0.0);
  REQUIRE(ga.activity_steps.has_value());
  CHECK(std::isinf(*ga.activity_steps));
  CHECK_FALSE(ga.rumination_min.has_value());
  REQUIRE(ga.collars.size() == 1);
  CHECK(ga.collars[0].last_seq == std::numeric_limits<std::int64_t>::min());
  CHECK(ga.collars[0].battery_pct == 0);
  CHECK(ga.collars[0].rssi_dbm == std::numeric_limits<std::int32_t>::min());

  auto pr = s->load_progress();
  REQUIRE(pr.ok());
  REQUIRE(pr->size() == 1);
  CHECK((*pr)[0].next_offset == p.next_offset);
  CHECK((*pr)[0].watermark_us == -3);
  CHECK((*pr)[0].applied == p.applied);

  // Empty batches are no-ops, not errors.
  auto t = s->begin();
  REQUIRE(t.ok());
  CHECK((*t)->append_events({}).ok());
  CHECK((*t)->upsert_animals({}).ok());
  CHECK((*t)->upsert_alerts({}).ok());
  CHECK((*t)->append_outbox({}).ok());
  CHECK((*t)->add_progress({}).ok());
  auto none = (*t)->load_animals({});
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK((*t)->commit().ok());
}

namespace {

std::string state_compression(const std::string& db) {
  auto c = pg::connection::open(db);
  REQUIRE(c.ok());
  auto r = (*c)->query("SELECT attcompression::text FROM pg_attribute "
                       "WHERE attrelid = 'animals'::regclass AND attname = 'state'");
  REQUIRE(r.ok());
  REQUIRE(r->rows() == 1);
  return r->string(0, 0);
}

read_model::animal_row big_state_animal(const std::string& id, char fill) {
  read_model::animal_row a;
  a.animal_id = id;
  a.topic = "t";
  a.state.assign(8000, fill);  // compressible and over the 2 KB TOAST threshold: compressed
  for (int i = 0; i < 256; ++i) a.state[static_cast<std::size_t>(i) * 31] = static_cast<char>(i);
  return a;
}

}  // namespace

TEST_CASE("pg store: the animal state is lz4-compressed, also in a database made before, and reads back the same") {
  const std::string db = pg_test::fresh_database();
  const auto old_value = big_state_animal("old", 'o');
  {
    auto s = pg_test::open_store(pg_test::options_for(db));
    CHECK(state_compression(db) == "l");
    // A database created before the change: pglz, with a value stored that way.
    auto c = pg::connection::open(db);
    REQUIRE(c.ok());
    REQUIRE((*c)->execute("ALTER TABLE animals ALTER COLUMN state SET COMPRESSION pglz").ok());
    auto t = s->begin();
    REQUIRE(t.ok());
    REQUIRE((*t)->upsert_animals({&old_value, 1}).ok());
    REQUIRE((*t)->commit().ok());
  }
  auto s = pg_test::open_store(pg_test::options_for(db));  // the schema step converts the column
  CHECK(state_compression(db) == "l");
  const auto new_value = big_state_animal("new", 'n');
  {
    auto t = s->begin();
    REQUIRE(t.ok());
    REQUIRE((*t)->upsert_animals({&new_value, 1}).ok());
    REQUIRE((*t)->commit().ok());
  }
  auto c = pg::connection::open(db);
  REQUIRE(c.ok());
  auto methods = (*c)->query("SELECT animal_id, pg_column_compression(state) FROM animals ORDER BY animal_id");
  REQUIRE(methods.ok());
  REQUIRE(methods->rows() == 2);
  CHECK(methods->string(0, 1) == "lz4");   // "new"
  CHECK(methods->string(1, 1) == "pglz");  // "old": stored before, still readable
  auto an = s->read_animals("", 10);
  REQUIRE(an.ok());
  REQUIRE(an->size() == 2);
  CHECK((*an)[0].state == new_value.state);
  CHECK((*an)[1].state == old_value.state);
}
