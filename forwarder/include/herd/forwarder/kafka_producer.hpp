#pragma once
// The Kafka producer adapter: one librdkafka idempotent producer (configuration: producer_config),
// which only classifies what Kafka makes of each record. It decides nothing: the composition
// root's kafka_decider (forwarder.hpp; herdgate: gateway::decide_kafka) chooses to retry,
// dead-letter, rebuild or stop, and the forwarder loop does it (DESIGN.md, "Failures").
//
// Thread: produce(), poll() and purge_all() on one thread (the forwarder's); the handlers run
// inside poll() on that thread. librdkafka's own log lines come from its threads into `log`.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "herd/core/result.hpp"
#include "herd/forwarder/forwarder.hpp"

namespace herd::forwarder {

// What Kafka made of one record, or what a client error means (the adapter's class).
enum class kafka_verdict {
  accepted,  // produced (a produce call) or acknowledged with acks=all (a delivery report)
  retry,     // not now: the local queue is full, a transient client or broker error
  rejected,  // this record can never be accepted: too large, invalid (MSG_SIZE_TOO_LARGE, ...)
  fatal,     // the producer is unusable (a fatal idempotence error, a possible gap)
  purged,    // dropped by our own purge_all() or destruction (a rebuild or a stop): no verdict
             // from Kafka, so nothing to count or show as a Kafka error
};
const char* to_string(kafka_verdict v);

struct kafka_outcome {
  kafka_verdict verdict = kafka_verdict::accepted;
  int code = 0;             // librdkafka's rd_kafka_resp_err_t; 0 when accepted
  std::string name;         // rd_kafka_err2name, e.g. "_QUEUE_FULL", "TOPIC_AUTHORIZATION_FAILED"
  std::string message;      // rd_kafka_err2str, or the client error's reason
  std::string fatal_reason; // rd_kafka_fatal_error's words, for a failure of a fatal producer
  bool retriable = false;   // rd_kafka_error_is_retriable (produce calls; false for reports)
  bool is_fatal = false;    // rd_kafka_error_is_fatal (produce calls; true for a client _FATAL)
  bool ok() const { return verdict == kafka_verdict::accepted; }
  // As a core::error: code "kafka.<name>", class retriable (retry), permanent (rejected) or
  // fatal (fatal, and anything unclassified). Only for outcomes that are not accepted.
  core::error error() const;
};

// Pure classification of a librdkafka error code with librdkafka's own flags (exposed for tests):
// fatal flag -> fatal; a record-level refusal -> rejected; retriable flag or _QUEUE_FULL -> retry;
// anything else -> fatal. _PURGE_QUEUE / _PURGE_INFLIGHT / _DESTROY (our own teardown of the
// handle) -> purged; 0 -> accepted.
kafka_outcome classify_kafka_error(int code, bool retriable, bool fatal);

// The error a fatal producer error stands for, so that the operator sees the cause. With
// enable.gapless.guarantee, librdkafka 2.0 turns a broker's permanent refusal of a ProduceRequest
// (e.g. TOPIC_AUTHORIZATION_FAILED from an ACL) into the fatal error _GAPLESS_GUARANTEE, whose
// reason names the refusal by its rd_kafka_err2str description: "ProduceRequest for <topic> [<p>]
// with <n> message(s) failed: <description> (broker ...)" (src/rdkafka_request.c,
// rd_kafka_handle_idempotent_Produce_error). Returns the code whose description is that one, or
// `code` itself when it is not _GAPLESS_GUARANTEE or its reason names no known error. Pure.
int kafka_fatal_cause(int code, std::string_view reason);

// A failure reported by a producer that is in the fatal state (rd_kafka_fatal_error gave
// `fatal_code` and its words `fatal_reason`; 0 when the producer is not fatal), named by that
// state's cause (kafka_fatal_cause) when it is a consequence of it rather than the broker's own
// word: the client error _FATAL; a produce call, which librdkafka refuses with the fatal error's
// own code (rd_kafka_check_produce in src/rdkafka_msg.c: _GAPLESS_GUARANTEE, not _FATAL); a
// delivery report with a local error (a negative code: e.g. _UNKNOWN_PARTITION when librdkafka
// drops the partitions of the topic a broker refused, src/rdkafka_topic.c). Then `o` gets the
// cause's code and name, the fatal reason as its message and fatal_reason, verdict fatal. Broker
// errors (codes > 0), purged and accepted outcomes, and anything from a producer that is not
// fatal are returned unchanged. Pure.
kafka_outcome blame_fatal_cause(kafka_outcome o, int fatal_code, std::string_view fatal_reason);

// Which record a delivery report is for: an outbox event (seq) or a dead letter (its id).
struct record_tag {
  bool dead_letter = false;
  std::uint64_t id = 0;  // outbox seq, or dead letter id; below 2^63
};

class kafka_producer {
 public:
  struct handlers {
    // A delivery report: accepted, purged, or the failure classified (rejected / retry / fatal).
    std::function<void(record_tag, const kafka_outcome&)> delivered;
    // A client error (error callback): fatal for _FATAL (the producer must be rebuilt), retry for
    // the rest (_ALL_BROKERS_DOWN, _TRANSPORT, ...: librdkafka reconnects by itself).
    std::function<void(const kafka_outcome&)> client_error;
  };

  // Builds the producer from `opts` (bootstrap, properties, the fixed ones). Fatal error with
  // librdkafka's reason when it refuses. Does not block on the network.
  static core::result<std::unique_ptr<kafka_producer>> create(const forwarder_options& opts, handlers h,
                                                               std::shared_ptr<spdlog::logger> log);
  // Destroys the handle. To see what was still queued or in flight, call purge_all() and poll()
  // first (their reports may also come from inside the destructor, on this thread).
  ~kafka_producer();
  kafka_producer(const kafka_producer&) = delete;
  kafka_producer& operator=(const kafka_producer&) = delete;

  // Hands one record to librdkafka (copied; keyed by `key` with the Java-compatible partitioner).
  // accepted: a delivery report will come through poll(). Otherwise the call's classification
  // (retry for _QUEUE_FULL: the in-flight window is full); no report will come.
  kafka_outcome produce(const std::string& topic, std::string_view key, std::string_view value,
                        const std::vector<std::pair<std::string, std::string>>& headers, record_tag tag);
  // Serves delivery reports and client errors, waiting up to `wait` (0: only what is ready).
  void poll(std::chrono::milliseconds wait);
  // Drops everything queued and in flight: each gets a `purged` report at the next poll().
  void purge_all();

  // The partition count of the events topic (forwarder_options::topic) that librdkafka last
  // partitioned a record of it with (from the cluster's metadata); 0 until it has. Any thread.
  std::int32_t partition_count() const;
  // The partition of a record keyed `key` on a topic of `count` partitions: the Java client's
  // murmur2 partitioner, as librdkafka's murmur2_random applies it to a non-empty key (the
  // `partitioner` herdgate fixes). -1 when `count` < 1 or the key is empty. Pure.
  static std::int32_t partition_for(std::string_view key, std::int32_t count);
  // Asks the cluster for the events topic's metadata (rd_kafka_metadata): true when a broker
  // answered within `timeout`. Blocks up to `timeout`; on the producer's thread.
  bool cluster_answers(std::chrono::milliseconds timeout);

 private:
  struct impl;
  explicit kafka_producer(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::forwarder
