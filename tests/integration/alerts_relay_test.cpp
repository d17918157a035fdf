// The herd.alerts relay against the dev Kafka cluster: it produces the outbox in order with the
// CloudEvents headers and empties it; and a session that finds rows Kafka already has (a crash
// between the ack and the delete) deletes them without sending them again.
#include <doctest/doctest.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "alert_stream.hpp"
#include "herd/alerts/relay.hpp"
#include "herd/read_model/sqlite_store.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

std::vector<read_model::outbox_message> rows(int from, int to) {
  std::vector<read_model::outbox_message> out;
  for (int i = from; i < to; ++i) {
    const std::string animal = "DE" + std::to_string(i % 3);
    out.push_back({0, "herd.alerts", animal, "value-" + std::to_string(i),
                   {{"ce_specversion", "1.0"}, {"ce_id", "alert-" + std::to_string(i)}, {"ce_subject", animal}}});
  }
  return out;
}

void append(read_model::store& s, const std::vector<read_model::outbox_message>& m) {
  auto t = s.begin();
  REQUIRE(t.ok());
  REQUIRE((*t)->append_outbox(m).ok());
  REQUIRE((*t)->commit().ok());
}

std::uint64_t outbox_depth(const std::string& db) {
  auto s = read_model::open_sqlite_store({.path = db});
  REQUIRE(s.ok());
  auto st = (*s)->stats();
  REQUIRE(st.ok());
  return st->outbox;
}

}  // namespace

TEST_CASE("alerts relay: rows Kafka already has are deleted, not sent again, the rest go once, in order") {
  test_support::temp_dir dir;
  auto kafka = cloud::dev_kafka::start();
  REQUIRE(kafka.ok());
  const std::string db = (dir / "rm.db").string();
  auto store = read_model::open_sqlite_store({.path = db});
  REQUIRE(store.ok());
  alerts::relay_options o;
  o.bootstrap = (*kafka)->bootstrap();
  const auto factory = [db]() -> core::result<std::unique_ptr<read_model::store>> {
    return read_model::open_sqlite_store({.path = db});
  };

  append(**store, rows(0, 10));
  {
    alerts::relay r(o, factory);
    REQUIRE(r.start().ok());
    REQUIRE(test_support::wait_until([&] { return r.stats().relayed.load() == 10 && outbox_depth(db) == 0; }, 30s, 20ms));
    CHECK(r.stats().leader.load());
    CHECK(r.stats().already_delivered.load() == 0);
    const auto metrics = alerts::render_relay_prometheus(r.stats());
    CHECK(metrics.find("herd_alerts_relay_relayed_total 10") != std::string::npos);
    CHECK(metrics.find("herd_alerts_relay_outbox_depth 0") != std::string::npos);
  }
  // The state a kill -9 between Kafka's ack and the delete leaves: the same 10 rows again, plus
  // 3 new ones.
  append(**store, rows(0, 13));
  alerts::relay r(o, factory);
  REQUIRE(r.start().ok());
  REQUIRE(test_support::wait_until([&] { return outbox_depth(db) == 0; }, 30s, 20ms));
  CHECK(r.stats().already_delivered.load() == 10);
  CHECK(r.stats().relayed.load() == 3);
  r.stop();

  test_support::kafka_reader reader((*kafka)->bootstrap(), "herd.alerts");
  reader.read_until([](const auto& recs) { return recs.size() >= 13; }, 20s);
  reader.read_until([](const auto&) { return false; }, 1000ms);
  const auto got = test::messages_of(reader.records());
  REQUIRE(got.size() == 13);
  std::vector<test::alert_message> want;
  for (int i = 0; i < 13; ++i) want.push_back({"alert-" + std::to_string(i), "DE" + std::to_string(i % 3), ""});
  CHECK(test::by_key(got) == test::by_key(want));  // per key in outbox order, each once
  for (const auto& rec : reader.records()) CHECK(rec.header("herd_outbox_seq").has_value());
}

TEST_CASE("alerts relay: Kafka unreachable: the rows stay, /health names the stuck relay and its error") {
  test_support::temp_dir dir;
  const std::string db = (dir / "rm.db").string();
  auto store = read_model::open_sqlite_store({.path = db});
  REQUIRE(store.ok());
  append(**store, rows(0, 2));
  alerts::relay_options o;
  o.bootstrap = "127.0.0.1:1";  // nothing listens
  o.scan_timeout = 300ms;
  o.backoff_max = 200ms;
  alerts::relay r(o, [db]() -> core::result<std::unique_ptr<read_model::store>> {
    return read_model::open_sqlite_store({.path = db});
  });
  REQUIRE(r.start().ok());
  const auto steady_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  // Healthy at first; after max_stuck without progress the problem names the relay and the error.
  CHECK(alerts::relay_problem(r.stats(), steady_ms(), std::chrono::seconds(1)).empty());
  std::string problem;
  REQUIRE(test_support::wait_until(
      [&] {
        problem = alerts::relay_problem(r.stats(), steady_ms(), std::chrono::seconds(1));
        return !problem.empty();
      },
      10s, 50ms));
  CHECK(problem.find("alerts relay: stuck") != std::string::npos);
  CHECK(problem.find("relay scan") != std::string::npos);
  CHECK(r.stats().relayed.load() == 0);
  CHECK(outbox_depth(db) == 2);  // nothing lost while Kafka is away
}
