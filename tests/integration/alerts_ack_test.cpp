// Acknowledging an alert (herd::alerts::acknowledger, used by the query API): the command event
// goes into herd.events keyed by the animal; the real herd-projector folds it (alerts row
// acknowledged, alert.acknowledged.v1 on herd.alerts), and a rebuild from the topic and from the
// event store keeps the acknowledgement.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/wait_until.hpp>

#include "alert_stream.hpp"
#include "herd/alerts/acknowledge.hpp"
#include "herd/read_model/sqlite_store.hpp"
#include "projector_rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

std::optional<read_model::alert_row> first_alert(read_model::store& s, const std::string& kind) {
  auto rows = s.read_alerts("", 1000);
  REQUIRE(rows.ok());
  for (const auto& r : *rows) {
    if (r.kind == kind) return r;
  }
  return std::nullopt;
}

std::optional<read_model::alert_row> alert_in(const std::string& db, const std::string& id) {
  auto s = read_model::open_sqlite_store({.path = db});
  REQUIRE(s.ok());
  auto rows = (*s)->read_alerts("", 1000);
  REQUIRE(rows.ok());
  for (const auto& r : *rows) {
    if (r.alert_id == id) return r;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("acknowledgement: folded by the projector, relayed to herd.alerts, kept by rebuilds from topic and store") {
  test::projector_rig rig;
  rig.proj->start();
  test::bulk_producer producer(rig.kafka->bootstrap(), "herd.events");
  producer.produce(test::alert_storm(2, 4, 1'780'000'000'000));

  std::optional<read_model::alert_row> alert;
  REQUIRE(test_support::wait_until(
      [&] {
        auto rm = rig.proj->open_read_model();
        if (rm) alert = first_alert(*rm, "low_battery");
        return alert.has_value();
      },
      30s, 100ms));
  CHECK_FALSE(alert->acknowledged_at_us.has_value());

  alerts::acknowledger_options ao;
  ao.bootstrap = rig.kafka->bootstrap();
  ao.producer_id = "herd-api-test";
  auto ack = alerts::acknowledger::create(ao);
  REQUIRE(ack.ok());
  // Invalid input is refused before anything is sent.
  alerts::acknowledgement cmd;
  cmd.alert_id = alert->alert_id;
  cmd.animal_id = alert->animal_id;
  auto bad = (*ack)->acknowledge(cmd);  // no acknowledged_by
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().kind == core::error_kind::permanent);

  const std::int64_t at_ms = 1'780'000'000'000 + 5 * 3'600'000;
  cmd.acknowledged_by = "vet.anna";
  cmd.acknowledged_at_ms = at_ms;
  cmd.note = "collar battery swapped";
  auto id = (*ack)->acknowledge(cmd);
  REQUIRE_MESSAGE(id.ok(), (id.ok() ? "" : id.err().message));
  // A second acknowledgement of the same alert changes nothing.
  alerts::acknowledgement again;
  again.alert_id = alert->alert_id;
  again.animal_id = alert->animal_id;
  again.acknowledged_by = "someone.else";
  REQUIRE((*ack)->acknowledge(again).ok());

  REQUIRE(test_support::wait_until(
      [&] {
        auto a = alert_in(rig.proj->db_path(), alert->alert_id);
        return a && a->acknowledged_at_us.has_value();
      },
      30s, 100ms));
  const auto acked = alert_in(rig.proj->db_path(), alert->alert_id);
  CHECK(*acked->acknowledged_at_us == at_ms * 1000);
  CHECK(nlohmann::json::parse(acked->body)["acknowledged_by"] == "vet.anna");

  // herd.alerts carries one alert.acknowledged.v1 for it.
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.alerts");
  const std::string ack_ce_id = alert->alert_id + "/acknowledged/" + std::to_string(at_ms);
  const auto count_acks = [&](const std::vector<test_support::kafka_record>& recs) {
    int n = 0;
    for (const auto& r : recs) n += r.header("ce_type") == std::optional<std::string>("alert.acknowledged.v1");
    return n;
  };
  REQUIRE(reader.read_until([&](const auto& recs) { return count_acks(recs) >= 1; }, 30s));
  reader.read_until([](const auto&) { return false; }, 1000ms);
  CHECK(count_acks(reader.records()) == 1);
  bool found = false;
  for (const auto& r : reader.records()) {
    if (r.header("ce_id") == std::optional<std::string>(ack_ce_id)) {
      found = true;
      CHECK(r.key == alert->animal_id);
    }
  }
  CHECK(found);
  CHECK(rig.proj->stop() == 0);

  // Rebuilds keep it: from the topic, and from the event store.
  for (const std::string from : {"topic", "store"}) {
    const auto into = (rig.dir.path() / ("rebuilt-" + from + ".db")).string();
    auto [rc, out] = test::run_projector_tool({"rebuild", "--from", from, "--into", into, "--config", rig.proj->config_path()},
                                              rig.dir.path());
    INFO(out);
    REQUIRE(rc == 0);
    const auto a = alert_in(into, alert->alert_id);
    REQUIRE(a.has_value());
    CHECK(a->acknowledged_at_us == acked->acknowledged_at_us);
    CHECK(a->body == acked->body);
    CHECK(test::digest_of(into) == test::digest_of(rig.proj->db_path()));
  }
}
