// The producer adapter's classification of librdkafka errors, table-driven: the adapter only
// classifies (accepted / retry / rejected / fatal / purged), keeping librdkafka's code and its
// retriable / fatal flags; the forwarder loop decides.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>

#include <string>
#include <utility>

#include "herd/forwarder/kafka_producer.hpp"

using namespace herd;
using forwarder::kafka_verdict;

namespace {

struct classify_case {
  rd_kafka_resp_err_t err;
  bool retriable;  // rd_kafka_error_is_retriable
  bool fatal;      // rd_kafka_error_is_fatal
  kafka_verdict verdict;
  core::error_kind kind;  // of outcome.error(), when not accepted/purged
};

const classify_case classify_cases[] = {
    // The in-flight window is full: produce again after a poll (librdkafka does not flag it retriable).
    {RD_KAFKA_RESP_ERR__QUEUE_FULL, false, false, kafka_verdict::retry, core::error_kind::retriable},
    {RD_KAFKA_RESP_ERR__TRANSPORT, true, false, kafka_verdict::retry, core::error_kind::retriable},
    {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, true, false, kafka_verdict::retry, core::error_kind::retriable},
    // The record itself can never be accepted: a dead letter (for a produce call).
    {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, false, false, kafka_verdict::rejected, core::error_kind::permanent},
    {RD_KAFKA_RESP_ERR_INVALID_RECORD, false, false, kafka_verdict::rejected, core::error_kind::permanent},
    {RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, false, false, kafka_verdict::rejected, core::error_kind::permanent},
    // librdkafka's fatal flag wins over everything.
    {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, false, true, kafka_verdict::fatal, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR__FATAL, false, true, kafka_verdict::fatal, core::error_kind::fatal},
    // Neither retriable nor a record-level refusal: the producer cannot go on as it is (rebuild).
    {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, false, false, kafka_verdict::fatal, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, false, false, kafka_verdict::fatal, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, false, false, kafka_verdict::fatal, core::error_kind::fatal},
    // Our own purge or destruction of the handle (a rebuild, a stop): no verdict from Kafka.
    // Regression: _DESTROY, reported while a rebuild tore the old producer down, was shown in
    // /health as the last Kafka error in place of the broker's refusal that caused the rebuild.
    {RD_KAFKA_RESP_ERR__PURGE_QUEUE, false, false, kafka_verdict::purged, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, false, false, kafka_verdict::purged, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR__DESTROY, false, false, kafka_verdict::purged, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR_NO_ERROR, false, false, kafka_verdict::accepted, core::error_kind::fatal},
};

}  // namespace

TEST_CASE("Kafka producer adapter: each librdkafka error is classified, its code and flags kept") {
  for (const auto& c : classify_cases) {
    const std::string name = rd_kafka_err2name(c.err);
    CAPTURE(name);
    CAPTURE(c.retriable);
    CAPTURE(c.fatal);
    const auto o = forwarder::classify_kafka_error(c.err, c.retriable, c.fatal);
    CHECK(std::string(forwarder::to_string(o.verdict)) == forwarder::to_string(c.verdict));
    CHECK(o.code == c.err);
    CHECK(o.retriable == c.retriable);
    CHECK(o.is_fatal == c.fatal);
    CHECK(o.ok() == (c.verdict == kafka_verdict::accepted));
    if (c.verdict == kafka_verdict::accepted) {
      CHECK(o.name.empty());
      continue;
    }
    CHECK(o.name == name);
    CHECK(o.message == rd_kafka_err2str(c.err));
    if (c.verdict == kafka_verdict::purged) continue;
    const auto e = o.error();
    CHECK(e.code == "kafka." + name);
    CHECK(e.kind == c.kind);
  }
}

// Regression (CI of stop 17): with enable.gapless.guarantee a broker's refusal arrives as the
// fatal error _GAPLESS_GUARANTEE; /health named that wrapper, or the refusal, depending on which
// report the forwarder served last. The cause is now read from the fatal error's reason, whose
// wording is librdkafka 2.0's (src/rdkafka_request.c, rd_kafka_handle_idempotent_Produce_error).
TEST_CASE("Kafka producer adapter: a gap-less fatal error is named by the broker error it wraps") {
  const auto reason = [](rd_kafka_resp_err_t e) {
    return std::string("ProduceRequest for herd.events [4] with 10 message(s) failed: ") + rd_kafka_err2str(e) +
           " (broker 1 PID{Id:450141000,Epoch:0}, base seq 0): unable to satisfy gap-less guarantee";
  };
  const int gapless = RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE;
  CHECK(forwarder::kafka_fatal_cause(gapless, reason(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)) ==
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  CHECK(forwarder::kafka_fatal_cause(gapless, reason(RD_KAFKA_RESP_ERR_INVALID_RECORD)) ==
        RD_KAFKA_RESP_ERR_INVALID_RECORD);
  CHECK(forwarder::kafka_fatal_cause(gapless, reason(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)) ==
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  // Nothing recognisable wrapped: the fatal error itself.
  CHECK(forwarder::kafka_fatal_cause(gapless, "unable to satisfy gap-less guarantee") == gapless);
  CHECK(forwarder::kafka_fatal_cause(gapless, "ProduceRequest failed: no such error (broker 1)") == gapless);
  CHECK(forwarder::kafka_fatal_cause(gapless, "") == gapless);
  // Other fatal errors name their own cause (rd_kafka_fatal_error's code is already the cause).
  CHECK(forwarder::kafka_fatal_cause(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
                                     reason(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)) ==
        RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED);
}

// Regression (CI flake of "Kafka refusing every produce is counted by error name and named in
// /health"): after a broker's refusal made the producer fatal, what the producer reported next
// was shown under its own name, and /health's kafka_last_error could end on it: a produce call
// refused with _GAPLESS_GUARANTEE (librdkafka refuses produce calls on a fatal producer with the
// fatal error's own code, not _FATAL), or delivery reports with _UNKNOWN_PARTITION (librdkafka
// drops the refused topic's partitions; seen 10 times in one run of that test). Each is a
// consequence of the fatal error and is now named by its cause; a broker's own error is not.
TEST_CASE("Kafka producer adapter: failures of a fatal producer are named by the fatal error's cause") {
  const int gapless = RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE;
  const std::string reason =
      std::string("ProduceRequest for herd.events [1] with 10 message(s) failed: ") +
      rd_kafka_err2str(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) +
      " (broker 3 PID{Id:436000,Epoch:0}, base seq 0): unable to satisfy gap-less guarantee";
  const auto blamed = [&](forwarder::kafka_outcome o) { return forwarder::blame_fatal_cause(std::move(o), gapless, reason); };
  const auto is_cause = [&](const forwarder::kafka_outcome& o) {
    CHECK(o.name == "TOPIC_AUTHORIZATION_FAILED");
    CHECK(o.code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    CHECK(o.message == reason);
    CHECK(o.fatal_reason == reason);
    CHECK(o.is_fatal);
    CHECK(o.verdict == kafka_verdict::fatal);
  };
  SUBCASE("a produce call refused with the fatal error's own code") {
    is_cause(blamed(forwarder::classify_kafka_error(gapless, false, true)));
  }
  SUBCASE("a delivery report with a local error") {
    is_cause(blamed(forwarder::classify_kafka_error(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, false, false)));
  }
  SUBCASE("the client error _FATAL") {
    is_cause(blamed(forwarder::classify_kafka_error(RD_KAFKA_RESP_ERR__FATAL, false, true)));
  }
  SUBCASE("a broker's own error keeps its name") {
    const auto o = blamed(forwarder::classify_kafka_error(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, false, false));
    CHECK(o.message == rd_kafka_err2str(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
    CHECK(o.fatal_reason.empty());
  }
  SUBCASE("our own purge stays purged, an accepted record accepted") {
    CHECK(blamed(forwarder::classify_kafka_error(RD_KAFKA_RESP_ERR__PURGE_QUEUE, false, false)).verdict ==
          kafka_verdict::purged);
    CHECK(blamed(forwarder::classify_kafka_error(RD_KAFKA_RESP_ERR_NO_ERROR, false, false)).ok());
  }
  SUBCASE("a producer that is not fatal: unchanged") {
    const auto o = forwarder::blame_fatal_cause(
        forwarder::classify_kafka_error(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, false, false), 0, "");
    CHECK(o.name == "_UNKNOWN_PARTITION");
    CHECK(o.message == rd_kafka_err2str(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION));
  }
  SUBCASE("a fatal error that wraps nothing is its own cause") {
    const auto o = forwarder::blame_fatal_cause(
        forwarder::classify_kafka_error(RD_KAFKA_RESP_ERR__FATAL, false, true),
        RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, "Failed to acquire transactional PID from broker");
    CHECK(o.name == "CLUSTER_AUTHORIZATION_FAILED");
  }
}
