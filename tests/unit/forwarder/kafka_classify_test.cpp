// The producer adapter's classification of librdkafka errors, table-driven: the adapter only
// classifies (accepted / retry / rejected / fatal / purged), keeping librdkafka's code and its
// retriable / fatal flags; the forwarder loop decides.
#include <doctest/doctest.h>

#include <librdkafka/rdkafka.h>

#include <string>

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

const classify_case cases[] = {
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
    // Our own purge (a rebuild, a stop): no verdict from Kafka.
    {RD_KAFKA_RESP_ERR__PURGE_QUEUE, false, false, kafka_verdict::purged, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, false, false, kafka_verdict::purged, core::error_kind::fatal},
    {RD_KAFKA_RESP_ERR_NO_ERROR, false, false, kafka_verdict::accepted, core::error_kind::fatal},
};

}  // namespace

TEST_CASE("Kafka producer adapter: each librdkafka error is classified, its code and flags kept") {
  for (const auto& c : cases) {
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
