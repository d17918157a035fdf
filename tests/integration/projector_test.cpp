// herd-projector end to end with real parts: herd-sim -> mosquitto -> herdgate -> dev Kafka (TCP)
// -> herd-projector -> SQLite read model; and records produced straight into herd.events for
// the dead-letter, unknown-type and duplicate paths.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <csignal>
#include <sstream>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/wait_until.hpp>

#include "../unit/cloud/envelopes.hpp"
#include "http_probe.hpp"
#include "projector_process.hpp"
#include "projector_rig.hpp"
#include "rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {
// The projector's log without librdkafka's every-300-ms HEARTBEAT debug lines.
std::string without_heartbeats(const std::string& log) {
  std::istringstream in(log);
  std::string out, line;
  while (std::getline(in, line))
    if (line.find("|HEARTBEAT|") == std::string::npos) out += line + '\n';
  return out;
}
}  // namespace

TEST_CASE("projector: every reading from the gateway is applied once: rebuilds equal the live read model") {
  test::rig rig(20);
  rig.gateway->start();
  test::projector_settings ps(rig.kafka->bootstrap(), rig.dir.path());
  // Once in CI (TSan) this projector got no partition in 90 s and logged nothing about why: the
  // consumer group's steps go to its log, shown if the wait below fails.
  ps.kafka_properties_extra = "\"debug\" = \"cgrp\"\n";
  test::projector_process proj(ps);
  proj.start();
  REQUIRE(rig.run_sim({"--collars", "20", "--count", "2000", "--rate", "0", "--seed", "5"}, 120s) == 0);
  const bool all = test_support::wait_until([&] { return proj.applied() >= 2000; }, 90s, 100ms);
  INFO("applied: ", proj.applied());
  INFO(without_heartbeats(proj.log_text()));
  REQUIRE(all);

  // Operable: metrics and health while running.
  const auto metrics = test::http_get(proj.metrics_address(), "/metrics");
  REQUIRE(metrics.has_value());
  CHECK(test::sample(metrics->body, "herd_projector_applied_total") == 2000);
  CHECK(test::sample(metrics->body, "herd_projector_dead_lettered_total") == 0);
  CHECK(metrics->body.find("herd_projector_lag_records{topic=\"herd.events\",partition=\"0\"}") != std::string::npos);
  CHECK(metrics->body.find("herd_projector_batch_apply_seconds_count") != std::string::npos);
  const auto health = test::http_get(proj.metrics_address(), "/health");
  REQUIRE(health.has_value());
  CHECK(health->status == 200);

  CHECK(proj.stop() == 0);  // clean SIGTERM
  CHECK(proj.log_text().find("stopped cleanly") != std::string::npos);
  {
    auto rm = proj.open_read_model();
    auto st = rm->stats();
    REQUIRE(st.ok());
    CHECK(st->events == 2000);
    CHECK(st->animals == 20);
    auto animals = rm->read_animals("", 100);
    REQUIRE(animals.ok());
    for (const auto& a : *animals) {
      CHECK(a.events_applied == 100);
      CHECK(a.body_temp_c.has_value());
      REQUIRE(a.collars.size() == 1);
    }
    auto p = rm->load_progress();
    REQUIRE(p.ok());
    std::uint64_t applied = 0, dups = 0;
    for (const auto& pp : *p) {
      applied += pp.applied;
      dups += pp.duplicates;
    }
    CHECK(applied == 2000);
  }

  const std::string live = test::digest_of(proj.db_path());
  REQUIRE(!live.empty());
  const auto from_topic = (rig.dir / "rebuilt-topic.db").string();
  auto [rc1, out1] = test::run_projector_tool(
      {"rebuild", "--from", "topic", "--into", from_topic, "--config", proj.config_path()}, rig.dir.path());
  INFO(out1);
  REQUIRE(rc1 == 0);
  CHECK(test::digest_of(from_topic) == live);
  const auto from_store = (rig.dir / "rebuilt-store.db").string();
  auto [rc2, out2] = test::run_projector_tool(
      {"rebuild", "--from", "store", "--into", from_store, "--config", proj.config_path()}, rig.dir.path());
  INFO(out2);
  REQUIRE(rc2 == 0);
  CHECK(test::digest_of(from_store) == live);

  // The demo's table.
  auto [rc3, table] = test::run_projector_tool({"animals", "--db", proj.db_path()}, rig.dir.path());
  CHECK(rc3 == 0);
  CHECK(table.find("20 animals, 2000 events") != std::string::npos);
}

TEST_CASE("projector: undecodable and poison records go to the DLQ with their position: unknown types and duplicates are counted") {
  test::projector_rig pr;
  test_envelopes::reading good;
  good.event_id = "good-1";
  good.animal = "DE01000";
  good.collar = "C1";
  good.seq = 1;
  good.occurred_ms = 1'780'000'000'000;
  test_envelopes::reading good2 = good;
  good2.event_id = "good-2";
  good2.seq = 2;
  good2.occurred_ms += 600'000;
  test_envelopes::reading poison = good;
  poison.event_id = "poison-1";
  poison.temp_c = 99.0;
  // One key: one partition, so the order below is the order consumed.
  pr.produce("DE01000", test_envelopes::collar_envelope(good));
  pr.produce("DE01000", "\x01\x02 not an envelope");
  pr.produce("DE01000", test_envelopes::collar_envelope(poison));
  pr.produce("DE01000", test_envelopes::unknown_type_envelope("future-1", "DE01000", good.occurred_ms));
  pr.produce("DE01000", test_envelopes::collar_envelope(good));  // a resend
  pr.produce("DE01000", test_envelopes::collar_envelope(good2));
  pr.proj->start();

  test_support::kafka_reader dlq(pr.kafka->bootstrap(), "herd.events.projector.dlq");
  const bool two = dlq.read_until([](const auto& r) { return r.size() >= 2; }, 30s);
  INFO(pr.proj->log_text());
  REQUIRE(two);
  const auto& d = dlq.records();
  CHECK(d[0].value == "\x01\x02 not an envelope");
  CHECK(d[0].key == "DE01000");
  CHECK(d[0].header("dlq_reason").value_or("").find("EventEnvelope") != std::string::npos);
  CHECK(d[0].header("dlq_source_topic") == "herd.events");
  CHECK(d[0].header("dlq_source_offset") == "1");
  CHECK(d[1].header("dlq_reason").value_or("").find("rejected") != std::string::npos);
  CHECK(d[1].header("dlq_source_offset") == "2");
  CHECK(d[1].header("dlq_source_partition") == d[0].header("dlq_source_partition"));

  REQUIRE(test_support::wait_until([&] { return pr.proj->applied() >= 2; }, 30s, 50ms));
  CHECK(pr.proj->stop() == 0);
  auto rm = pr.proj->open_read_model();
  auto p = rm->load_progress();
  REQUIRE(p.ok());
  std::uint64_t applied = 0, dups = 0, unknown = 0, rejected = 0, dead = 0;
  for (const auto& pp : *p) {
    applied += pp.applied;
    dups += pp.duplicates;
    unknown += pp.unknown_type;
    rejected += pp.rejected;
    dead += pp.dead_lettered;
  }
  CHECK(applied == 2);
  CHECK(dups == 1);
  CHECK(unknown == 1);
  CHECK(rejected == 1);
  CHECK(dead == 2);
  auto st = rm->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 4);  // good-1, poison-1, future-1, good-2: every distinct event is kept
}

TEST_CASE("projector: event store retention deletes events older than retention_days, the read model keeps their effect") {
  test::projector_rig pr;
  test::projector_settings settings(pr.kafka->bootstrap(), pr.dir.path());
  settings.read_model_extra = "retention_days = 30\n";
  pr.proj = std::make_unique<test::projector_process>(settings);
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  // Five readings 40 days old (past retention), then five of the last hour, one animal.
  for (int i = 0; i < 10; ++i) {
    test_envelopes::reading r;
    r.event_id = "ret-" + std::to_string(i);
    r.animal = "DE01000";
    r.collar = "C1";
    r.seq = static_cast<std::uint32_t>(i + 1);
    r.occurred_ms = i < 5 ? now_ms - 40LL * 86'400'000 + i * 600'000LL : now_ms - 3'600'000 + (i - 5) * 600'000LL;
    pr.produce("DE01000", test_envelopes::collar_envelope(r));
  }
  pr.proj->start();
  REQUIRE(test_support::wait_until([&] { return pr.proj->applied() >= 10; }, 30s, 50ms));
  // Retention runs when the projector is idle: at start, then every 10 minutes. A restart runs it
  // on what the first run stored.
  REQUIRE(pr.proj->stop() == 0);
  pr.proj->start();
  std::optional<double> pruned;
  const bool done = test_support::wait_until(
      [&] {
        const auto m = test::http_get(pr.proj->metrics_address(), "/metrics");
        if (m) pruned = test::sample(m->body, "herd_projector_pruned_events_total");
        return pruned == 5.0;
      },
      30s, 100ms);
  INFO(pr.proj->log_text());
  CHECK(done);
  REQUIRE(pr.proj->stop() == 0);
  auto rm = pr.proj->open_read_model();
  auto st = rm->stats();
  REQUIRE(st.ok());
  CHECK(st->events == 5);  // the five recent ones
  auto animals = rm->read_animals("", 10);
  REQUIRE(animals.ok());
  REQUIRE(animals->size() == 1);
  CHECK((*animals)[0].events_applied == 10);  // pruning the store does not undo the fold
}

TEST_CASE("projector: /health says so while the member cannot settle in its consumer group, and recovers") {
  test::projector_rig pr;
  test::projector_settings settings(pr.kafka->bootstrap(), pr.dir.path());
  settings.extra = "[health]\nmax_stall_s = 2\n";
  // The group's coordinator answers the first JoinGroup 8 s late: past the mock's sync deadline
  // (session.timeout.ms, 3 s here), so that round fails and the member joins again. Meanwhile the
  // loop goes round but no partition is consumed.
  auto* mc = pr.kafka->mock();
  constexpr std::int16_t k_join_group_api = 11;  // Kafka protocol ApiKey JoinGroup (rdkafka_protocol.h)
  REQUIRE(rd_kafka_mock_coordinator_set(mc, "group", settings.group_id.c_str(), 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_mock_broker_push_request_error_rtts(mc, 1, k_join_group_api, 1, RD_KAFKA_RESP_ERR_NO_ERROR,
                                                       8000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  pr.proj = std::make_unique<test::projector_process>(settings);
  pr.proj->start();
  std::optional<test::http_reply> h;
  const bool flagged = test_support::wait_until(
      [&] {
        h = test::http_get(pr.proj->metrics_address(), "/health");
        return h && h->status == 503 && h->body.find("not settled in the consumer group") != std::string::npos;
      },
      15s, 100ms);
  INFO("health: ", h ? h->body : std::string("no answer"));
  INFO(pr.proj->log_text());
  CHECK(flagged);
  const bool settled = test_support::wait_until(
      [&] {
        h = test::http_get(pr.proj->metrics_address(), "/health");
        return h && h->status == 200 && h->body.find("\"group_state\":\"up/steady\"") != std::string::npos;
      },
      60s, 100ms);
  CHECK(settled);
  const test_envelopes::reading r{
      .event_id = "settled-1", .animal = "DE01000", .collar = "C1", .seq = 1, .occurred_ms = 1'780'000'000'000};
  pr.produce("DE01000", test_envelopes::collar_envelope(r));
  CHECK(test_support::wait_until([&] { return pr.proj->applied() >= 1; }, 30s, 50ms));
  CHECK(pr.proj->stop() == 0);
}
