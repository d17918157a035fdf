#pragma once
// Forwards the outbox to Kafka, in outbox order per animal, and deletes what Kafka acknowledged.
//
// Backlog drain: when more than `backlog_threshold` events wait (Kafka was away, the gateway was
// down), the forwarder waits until Kafka is back (everything it produced is reported, or a
// delivery succeeded since the backlog was seen: a broker slow to come back holds only its own
// partitions), then splits the outbox at its newest seq B. Events up to B (the backlog) are
// produced in outbox order at most `drain_rate` per second and at most `drain_max_queued` at a time
// in the producer's queue; events after B (live) go first, so a live reading waits behind a
// bounded queue rather than behind the whole backlog. Nothing overtakes an older event of the same
// animal: a live event of an animal that still has backlog events not yet produced is held (in
// memory, at most `max_deferred`) and produced right after that animal's last backlog event.
// Those decisions are drain_planner's (drain_planner.hpp: pure, table-tested); this class runs the loop.
//
// One thread owns the librdkafka producer: it peeks the outbox, produces each event keyed by its
// animal (idempotent, acks=all, Java-compatible murmur2 partitioner), serves delivery reports and
// deletes acknowledged rows. Messages never time out inside librdkafka (message.timeout.ms=0):
// while Kafka is unreachable they wait in a bounded in-flight window and the rest waits in the
// outbox. The window is shared per partition while Kafka acknowledges (partition_window.hpp): a
// partition whose broker does not answer holds its share of it, and up to `max_beyond_share` of
// its events wait in librdkafka's queue, so the other partitions' animals are not held up. What a Kafka failure leads to is the composition root's decision (kafka_decider below);
// with herdgate's (gateway::decide_kafka) a failed delivery, a fatal producer error or a possible
// gap rebuilds the producer (with backoff while it keeps failing) and resends every unacknowledged
// event from the oldest, in order, with its original event_id. Nothing leaves the outbox without a
// Kafka ack, except a record the client itself refuses (over message.max.bytes), which becomes a
// dead letter.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "herd/buffer/outbox.hpp"
#include "herd/core/result.hpp"

namespace herd::forwarder {

struct forwarder_options {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "herd.events";
  std::string dlq_topic = "herd.events.dlq";
  std::map<std::string, std::string> properties;  // extra librdkafka properties (security, ...)
  std::size_t max_in_flight = 2000;               // produced but not yet acknowledged
  std::size_t batch = 500;                        // outbox rows read per peek
  std::size_t backlog_threshold = 2000;  // more unproduced events than this is a backlog to drain
  std::uint32_t drain_rate = 0;          // backlog events per second; 0 = as fast as Kafka takes them
  std::size_t drain_max_queued = 2000;   // backlog events in the producer queue at once
  std::size_t max_deferred = 20000;      // live events held for their animal's backlog, at most
  // Events queued in librdkafka beyond their partition's share of max_in_flight (a partition
  // whose broker does not answer while the others acknowledge: partition_window.hpp), at most;
  // past it, everything waits in the outbox again.
  std::size_t max_beyond_share = 20000;
};

// librdkafka properties herdgate sets itself; the config may not override them.
bool is_reserved_kafka_property(const std::string& name);
// Whether librdkafka accepts `name = value` for a producer; the reason when it does not.
std::optional<std::string> kafka_property_problem(const std::string& name, const std::string& value);
// The librdkafka properties herdgate fixes, with their values (README, "Order per animal").
const std::map<std::string, std::string>& fixed_kafka_properties();
// Builds the producer configuration exactly as the forwarder does and lets librdkafka check it as
// a whole (rd_kafka_new, then destroyed at once): what `herdgate --check-config` runs, so a
// combination the producer would refuse at start (max.in.flight above 5 with idempotence) is
// reported before systemd restarts the daemon in a loop. Fatal error with librdkafka's reason.
// Thread: any. Takes a few ms (librdkafka starts and stops its threads); connects to nothing
// that matters (the handle is destroyed before any request completes).
core::status check_producer_config(const forwarder_options& opts);

// Upper bounds (ms) of the buckets of the ack latency histogram (forwarder_stats): from an event's
// arrival at the gateway (its outbox created_ms, gateway wall clock) to Kafka's acknowledgement of
// it. Fine around 25 ms, issue 15's online goal (p99 below it at 500 and 2,000 readings/s); up to
// 10 min for a backlog's events (a longer wait, e.g. out an outage, is only in the count, +Inf).
inline constexpr std::array<std::int64_t, 16> k_ack_latency_buckets_ms = {1,  2,   5,   10,   15,    20,    25, 30,
                                                                           40, 50, 100, 250, 1000, 10000, 60000, 600000};

struct forwarder_stats {
  std::uint64_t delivered = 0;        // events acknowledged by Kafka and deleted
  // Events acknowledged by Kafka (or moved to the dead-letter table), counted at the delivery
  // report: `delivered` follows within acked_rows' gathering delay (1 s), or after a failed delete
  // succeeds. The measure of forwarding speed; `delivered` is the measure of the outbox emptying.
  std::uint64_t acknowledged = 0;
  std::uint64_t dead_letters_forwarded = 0;
  std::uint64_t producer_rebuilds = 0;
  // Events handed to librdkafka whose delivery report has not been served: counted from the
  // produce call, uncounted after the poll that served their reports (and asked the decider about
  // any failure), so 0 means every report of what was produced has been dealt with.
  std::uint64_t in_flight = 0;
  // Partitions whose leader does not answer while the cluster acknowledges others
  // (partition_window.hpp: excused), and their events in flight beyond their share of the window
  // (waiting in librdkafka's queue, at most max_beyond_share).
  std::uint64_t partitions_stalled = 0;
  std::uint64_t in_flight_beyond_share = 0;
  bool draining = false;         // a backlog is being drained
  std::uint64_t deferred = 0;    // live events held until their animal's backlog is produced
  std::uint64_t drains = 0;      // backlogs drained completely since start
  // steady_clock time (ms since its epoch) when the forwarder thread last went round its loop.
  // The loop wakes at least once a second even when idle or backing off, so an older heartbeat
  // means the thread is stuck (a supervisor's watchdog reads this).
  std::int64_t heartbeat_steady_ms = 0;
  // Acknowledged by Kafka, not yet deleted (gathered for one delete transaction, up to 1 s, or the
  // storage step failed and is retried; never resent).
  std::uint64_t acked_pending_delete = 0;
  // Every outbox event with a seq up to this one was acknowledged by Kafka (or dead-lettered)
  // during this run; it only grows. 0: nothing yet.
  std::uint64_t acked_through = 0;
  // Reads of the outbox (one SQLite read transaction each) for producing, since start: while
  // nothing is appended, none, even with events in flight (a broker down).
  std::uint64_t outbox_reads = 0;
  // Kafka errors seen (delivery reports, client errors, produce calls), by librdkafka error name
  // (rd_kafka_err2name, e.g. "TOPIC_AUTHORIZATION_FAILED", "_TRANSPORT"), and the latest one.
  std::map<std::string, std::uint64_t> kafka_errors;
  std::string last_kafka_error;          // its name; empty when none yet
  std::string last_kafka_error_message;  // librdkafka's words
  std::int64_t last_kafka_error_ms = 0;  // wall time, ms since epoch
  // Wall time of the first Kafka error since the last acknowledged delivery; 0 while deliveries
  // succeed after the last error (or none happened).
  std::int64_t kafka_failing_since_ms = 0;
  std::int64_t kafka_failing_ms = 0;  // how long since then, on the monotonic clock; 0 when not failing
  // Ack latency of the events acknowledged during this run (k_ack_latency_buckets_ms): per
  // bucket, how many took at most its bound (cumulative, as Prometheus' `le`); their count and
  // the sum of their latencies in ms. A wall clock step during an event's wait counts as 0 or adds.
  std::array<std::uint64_t, k_ack_latency_buckets_ms.size()> ack_latency_le{};  // read before the count
  std::uint64_t ack_latency_count = 0;
  std::uint64_t ack_latency_sum_ms = 0;
};

// Where the forwarder reports the storage steps it takes after a Kafka ack (deleting acknowledged
// rows, marking dead letters forwarded) and its outbox reads: the gateway's failure_policy decides
// what a failure means. The forwarder itself retries each such step with backoff until it
// succeeds. Called on the forwarder thread.
struct storage_reporter {
  std::function<void(const core::error&)> failed;
  std::function<void()> succeeded;
};

// Kafka decisions (DESIGN.md, "Failures": adapters classify, the composition root decides). The
// producer adapter classifies each failure (kafka_producer.hpp: kafka_outcome); the forwarder asks
// the composition root's kafka_decider what to do with it (herdgate: gateway::decide_kafka in
// failure_policy.hpp). Not asked: _QUEUE_FULL on a produce call (the in-flight window is full: flow
// control, produced again after a poll), purged reports (our own teardown), and the records of the
// dead-letter topic (a dead letter is never dropped: always retried).
struct kafka_outcome;
enum class kafka_origin {
  produce_call,     // handing an outbox event to librdkafka failed; no delivery report will come
  delivery_report,  // Kafka did not acknowledge an event that was produced
  client_error,     // the producer's error callback: not about one record
};
const char* to_string(kafka_origin o);
enum class kafka_action {
  retry,        // keep the event in the outbox and try again later with the same producer: a
                // produce call after 100 ms; a client error is waited out (librdkafka reconnects)
  rebuild,      // drop the producer and resend every unacknowledged event from the oldest, in
                // order, with backoff (100 ms doubling to 30 s) while rebuilds keep failing
  dead_letter,  // keep the event's bytes as a dead letter and delete it from the outbox
  stop,         // produce nothing more until stop(); reports of what is in flight are still served
                // and acknowledged events deleted. The decider that says so ends the process.
};
const char* to_string(kafka_action a);
// Called on the forwarder thread (inside the producer's poll for reports and client errors); must
// not block or call back into the forwarder. Not every action fits every origin: for a delivery
// report, retry and dead_letter mean rebuild (a failed delivery is resent in order only by a
// rebuild, and nothing leaves the outbox without an ack); for a client error, dead_letter means
// retry (there is no record).
using kafka_decider = std::function<kafka_action(kafka_origin, const kafka_outcome&)>;

class forwarder {
 public:
  // `decide` is required: start() fails without it (the composition root decides, not the loop).
  forwarder(forwarder_options options, buffer::outbox& outbox, storage_reporter reporter, kafka_decider decide);
  ~forwarder();
  forwarder(const forwarder&) = delete;
  forwarder& operator=(const forwarder&) = delete;

  // Creates the producer and starts the forwarder thread. Fatal error: no decider, already
  // started, or librdkafka refuses the configuration. Does not wait for Kafka.
  core::status start();
  // Wakes the forwarder: new rows were appended. Any thread. Call it after every append's commit:
  // a forwarder that has read the outbox to its end reads it again only after a notify() (while
  // events are in flight it would otherwise read it at each turn of its loop, every 5 ms).
  void notify();
  // Stops producing, waits up to `drain` for in-flight deliveries, deletes what was acknowledged
  // and leaves the rest in the outbox for the next start. Idempotent.
  void stop(std::chrono::milliseconds drain);
  forwarder_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::forwarder
