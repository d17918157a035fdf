// The decision point (failure_policy) and what /health and /metrics make of it.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <string>

#include "herd/core/clock.hpp"
#include "herd/forwarder/kafka_producer.hpp"
#include "herd/gateway/failure_policy.hpp"
#include "herd/gateway/observability.hpp"

using namespace herd;
using namespace herd::gateway;

namespace {

struct fixed_clock final : core::clock {
  std::int64_t ms = 1'780'000'000'000;
  std::int64_t now_ms() const override { return ms; }
};

}  // namespace

TEST_CASE("decide: the class decides, the code only describes") {
  struct row {
    core::error e;
    decision d;
  };
  const row table[] = {
      {core::error::retriable("disk full", "outbox.full"), decision::retry},
      {core::error::retriable("busy", "outbox.busy"), decision::retry},
      {core::error::retriable("broker down", "kafka._TRANSPORT"), decision::retry},
      {core::error::permanent("too large", "kafka.MSG_SIZE_TOO_LARGE"), decision::dead_letter},
      {core::error::fatal("read-only", "outbox.readonly"), decision::stop},
      {core::error::fatal("corrupt", "outbox.corrupt"), decision::stop},
      {core::error::fatal("eio", "outbox.io"), decision::stop},
      {core::error::fatal("unclassified"), decision::stop},
  };
  for (const auto& r : table) {
    CAPTURE(r.e.code);
    CHECK(decide(r.e) == r.d);
  }
  CHECK(core::error::fatal("x", "outbox.io").module() == "outbox");
  CHECK(core::error::fatal("x").module().empty());
}

TEST_CASE("decide_kafka: what the forwarder does with each Kafka failure, by where it came from") {
  using forwarder::kafka_action;
  using forwarder::kafka_origin;
  struct row {
    kafka_origin where;
    rd_kafka_resp_err_t err;
    bool retriable, fatal;  // librdkafka's flags (a produce call's; reports carry none)
    kafka_action action;
  };
  const row table[] = {
      // A produce call: the record was not queued, no report will come.
      {kafka_origin::produce_call, RD_KAFKA_RESP_ERR__QUEUE_FULL, false, false, kafka_action::retry},
      {kafka_origin::produce_call, RD_KAFKA_RESP_ERR__TRANSPORT, true, false, kafka_action::retry},
      {kafka_origin::produce_call, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, false, false, kafka_action::dead_letter},
      {kafka_origin::produce_call, RD_KAFKA_RESP_ERR_INVALID_RECORD, false, false, kafka_action::dead_letter},
      {kafka_origin::produce_call, RD_KAFKA_RESP_ERR__FATAL, false, true, kafka_action::rebuild},
      {kafka_origin::produce_call, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, false, false, kafka_action::rebuild},
      // A delivery report: the event stays in the outbox; only a rebuild resends it in order. Even
      // MSG_SIZE_TOO_LARGE: from a broker it applies to a whole request, never a dead letter.
      {kafka_origin::delivery_report, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, false, false, kafka_action::rebuild},
      {kafka_origin::delivery_report, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, false, false, kafka_action::rebuild},
      {kafka_origin::delivery_report, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, false, false, kafka_action::rebuild},
      {kafka_origin::delivery_report, RD_KAFKA_RESP_ERR__QUEUE_FULL, false, false, kafka_action::rebuild},
      // A client error: librdkafka reconnects by itself; only a fatal one needs a new producer.
      {kafka_origin::client_error, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, true, false, kafka_action::retry},
      {kafka_origin::client_error, RD_KAFKA_RESP_ERR__TRANSPORT, true, false, kafka_action::retry},
      {kafka_origin::client_error, RD_KAFKA_RESP_ERR__FATAL, false, true, kafka_action::rebuild},
  };
  for (const auto& r : table) {
    const auto o = forwarder::classify_kafka_error(r.err, r.retriable, r.fatal);
    CAPTURE(forwarder::to_string(r.where));
    CAPTURE(o.name);
    CHECK(std::string(forwarder::to_string(decide_kafka(r.where, o))) == forwarder::to_string(r.action));
  }
  // Never stop: Kafka being away is what the outbox is for.
  for (const auto where : {kafka_origin::produce_call, kafka_origin::delivery_report, kafka_origin::client_error}) {
    for (const auto v : {forwarder::kafka_verdict::retry, forwarder::kafka_verdict::rejected,
                         forwarder::kafka_verdict::fatal}) {
      forwarder::kafka_outcome o;
      o.verdict = v;
      CHECK(decide_kafka(where, o) != kafka_action::stop);
    }
  }
}

TEST_CASE("a blocked step shows its cause and since when, and a fatal error stops once") {
  fixed_clock clock;
  failure_policy p(clock);
  std::atomic<int> stops{0};
  p.on_stop([&](const core::error& e) {
    ++stops;
    CHECK(e.code == "outbox.readonly");
  });
  const auto t0 = clock.ms;
  CHECK(p.failed(storage_step::ingest, core::error::retriable("database or disk is full", "outbox.full")) ==
        decision::retry);
  clock.ms += 5'000;
  (void)p.failed(storage_step::ingest, core::error::retriable("database or disk is full", "outbox.full"));
  auto s = p.snapshot();
  CHECK(s.ingest.blocked);
  CHECK(s.ingest.since_ms == t0);  // the episode's first failure
  CHECK(s.ingest.code == "outbox.full");
  CHECK(s.failures[{"ingest", "outbox.full"}] == 2);
  CHECK_FALSE(s.forward.blocked);
  CHECK_FALSE(s.fatal);

  observability_snapshot o;
  o.now_ms = clock.ms;
  o.outbox_depth = 0;
  o.mqtt_connected = true;
  o.failures = s;
  auto h = evaluate_health(o, {});
  CHECK_FALSE(h.healthy);
  REQUIRE(h.reasons.size() == 1);
  CHECK(h.reasons[0].find("ingest: storage refuses readings since 2026-05-28T") == 0);
  CHECK(h.reasons[0].find("outbox.full: database or disk is full") != std::string::npos);
  const auto text = render_prometheus(o);
  CHECK(text.find("herdgate_ingest_blocked 1\n") != std::string::npos);
  CHECK(text.find("herdgate_storage_failures_total{step=\"ingest\",cause=\"outbox.full\"} 2\n") != std::string::npos);

  p.succeeded(storage_step::ingest);
  o.failures = p.snapshot();
  CHECK(evaluate_health(o, {}).healthy);
  CHECK(render_prometheus(o).find("herdgate_ingest_blocked 0\n") != std::string::npos);
  CHECK(o.failures.failures[{"ingest", "outbox.full"}] == 2);  // counters stay

  CHECK(p.failed(storage_step::forward, core::error::fatal("attempt to write a readonly database", "outbox.readonly")) ==
        decision::stop);
  (void)p.failed(storage_step::ingest, core::error::fatal("again", "outbox.readonly"));
  CHECK(stops == 1);
  REQUIRE(p.fatal());
  CHECK(p.fatal()->code == "outbox.readonly");
}

TEST_CASE("Kafka errors: the last one is shown, and health fails only while events wait and errors persist") {
  observability_options opt;
  opt.max_kafka_failing = std::chrono::seconds(60);
  observability_snapshot s;
  s.now_ms = 1'780'000'100'000;
  s.outbox_depth = 5;
  s.mqtt_connected = true;
  s.kafka_errors = {{"TOPIC_AUTHORIZATION_FAILED", 7}};
  s.last_kafka_error = "TOPIC_AUTHORIZATION_FAILED";
  s.last_kafka_error_message = "Broker: Topic authorization failed";
  s.last_kafka_error_ms = s.now_ms - 1'000;
  s.kafka_failing_since_ms = s.now_ms - 30'000;
  s.kafka_failing_ms = 30'000;
  auto h = evaluate_health(s, opt);
  CHECK(h.healthy);  // 30 s of errors: not yet
  CHECK(h.json.find("\"kafka_last_error\":{\"at\":") != std::string::npos);
  CHECK(h.json.find("TOPIC_AUTHORIZATION_FAILED") != std::string::npos);
  s.kafka_failing_since_ms = s.now_ms - 61'000;
  s.kafka_failing_ms = 61'000;
  h = evaluate_health(s, opt);
  CHECK_FALSE(h.healthy);
  REQUIRE(h.reasons.size() == 1);
  CHECK(h.reasons[0].find("kafka: no delivery acknowledged since errors began at") == 0);
  CHECK(h.reasons[0].find("last error TOPIC_AUTHORIZATION_FAILED") != std::string::npos);
  s.outbox_depth = 0;  // nothing waits: an old error on an idle gateway is no failure
  CHECK(evaluate_health(s, opt).healthy);
  CHECK(render_prometheus(s).find("herdgate_kafka_errors_total{error=\"TOPIC_AUTHORIZATION_FAILED\"} 7\n") !=
        std::string::npos);
}
