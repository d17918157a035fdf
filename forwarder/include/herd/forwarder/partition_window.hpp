#pragma once
// The forwarder's in-flight window counted per Kafka partition (issue 15, goal 4: no partition
// waits for another's broker).
//
// Every event produced and not yet reported is in flight, in the partition librdkafka sends it
// to. A partition is stalled when it has events in flight and none of them was acknowledged for
// k_stall_ms (since its first one was produced, or since its last acknowledgement). A stalled
// partition is excused while the cluster answers: Kafka acknowledged an event of another
// partition since the stalled one's last progress, within the last k_answer_ms, and librdkafka
// does not report every broker down. Its leader does not answer while the cluster does (a broker
// down, a partition without its in-sync replicas). An excused partition's events count against a
// limit only up to its share (limit / partitions, at least 1); the rest wait in librdkafka's queue
// for that partition, behind which nothing of another partition waits, and the window stays for
// the partitions that move. When Kafka acknowledges nothing (every broker away), nothing is
// excused and every event counts: the window fills and the rest waits in the outbox. Order per
// animal does not depend on this: all of an animal's events go to one partition, in the order
// they were produced.
//
// A window full of stalled events with no acknowledgement at all (after a restart during a
// partial outage, the oldest rows are the stalled partition's) would never learn that the others
// answer: then the loop asks the cluster for metadata (wants_probe, cluster_answered), and an
// answer counts as an acknowledgement of another partition.
//
// An outage that librdkafka does not see as brokers down (connections hanging without a reset)
// looks partial for up to k_answer_ms after the last acknowledgement: the events produced
// meanwhile wait in librdkafka's queue instead of the outbox (at most max_beyond_share, forwarder.hpp).
//
// Pure: time comes in as arguments (the forwarder's monotonic ms). Thread: one (the forwarder's).
// Errors: none; a report for a partition with nothing in flight is ignored.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace herd::forwarder {

class partition_window {
 public:
  // Without an acknowledgement for this long, a partition with events in flight is stalled. A
  // Produce round trip takes milliseconds; librdkafka retries a broker at least every 0.5 s
  // (reconnect.backoff.max.ms, producer_config.cpp), so a second is a partition that is not
  // coming back at once.
  static constexpr std::int64_t k_stall_ms = 1000;
  // The cluster answers when its last acknowledgement is at most this old. Short, so a full
  // outage the client has not noticed moves few events into librdkafka's queue; readings of a
  // herd of a few hundred head come more often than this. A quieter herd whose window is full of
  // a stalled partition's events gets through by a probe.
  static constexpr std::int64_t k_answer_ms = 5000;

  // The topic's partition count (kafka_producer::partition_count); 0 or 1: nothing is excused.
  // Counts already kept stay with their partition number.
  void set_partitions(std::int32_t partitions);
  std::int32_t partitions() const { return partitions_; }

  // An event handed to librdkafka at `now_ms` for `partition` (-1: not known when produced, i.e.
  // before librdkafka had the topic's metadata after a start or a rebuild: it counts in full
  // until reattributed); `backlog`: produced by the drain's backlog lane (drain_planner::in_backlog).
  void produced(std::int32_t partition, bool backlog, std::int64_t now_ms);
  // An event produced with partition -1 is in `partition` (now that the count is known).
  void reattribute(std::int32_t partition, bool backlog, std::int64_t now_ms);
  // Its delivery report at `now_ms` (`ok`: acknowledged), with produced()'s arguments (the
  // partition given to reattribute(), if any).
  void reported(std::int32_t partition, bool backlog, bool ok, std::int64_t now_ms);
  void clear();  // the producer was rebuilt: nothing is in flight (the last ack time stays)
  // librdkafka reported every broker down (_ALL_BROKERS_DOWN), until the next acknowledgement
  // (reported() with `ok`, or cluster_answered(), clears it): nothing is excused meanwhile.
  void set_all_brokers_down() { all_brokers_down_ = true; }
  // Whether to ask the cluster whether it answers at `now_ms`: events have been in flight for
  // k_stall_ms without any acknowledgement, and the last question is k_stall_ms old. The caller
  // asks only when the window is full (nothing else can be produced).
  bool wants_probe(std::int64_t now_ms) const;
  void probe_sent(std::int64_t now_ms) { last_probe_ms_ = now_ms; }
  // A broker answered a metadata request at `now_ms`: as an acknowledgement of another partition.
  void cluster_answered(std::int64_t now_ms);

  std::size_t total() const { return total_; }
  std::int64_t last_ack_ms() const { return last_ack_ms_; }  // -1: none yet
  // Events in flight beyond their excused partition's share of `limit` (events) at `now_ms`;
  // `backlog`: only the backlog lane's events, against their share of `limit`.
  std::size_t beyond_share(std::size_t limit, std::int64_t now_ms, bool backlog = false) const;
  // What counts against `limit`: total() minus beyond_share().
  std::size_t counted(std::size_t limit, std::int64_t now_ms) const { return total_ - beyond_share(limit, now_ms); }
  // Partitions excused at `now_ms`, and their events in flight.
  std::size_t excused(std::int64_t now_ms) const;
  std::size_t in_excused(std::int64_t now_ms) const;

 private:
  struct counts {
    std::size_t all = 0, backlog = 0;
    std::int64_t progress_ms = 0;  // its first event in flight, or its last acknowledgement
  };
  counts& at(std::int32_t partition);
  bool is_excused(const counts& c, std::int64_t now_ms) const;
  std::size_t share(std::size_t limit) const;
  std::int32_t partitions_ = 0;
  std::vector<counts> per_partition_;  // indexed by partition
  std::size_t total_ = 0;              // including those of an unknown partition
  std::int64_t progress_ms_ = 0;       // the window's first event in flight, or its last acknowledgement
  std::int64_t last_ack_ms_ = -1;
  std::int64_t last_answer_ms_ = -1;   // the last acknowledgement or answer to a probe
  std::int64_t last_probe_ms_ = -1;
  bool all_brokers_down_ = false;
};

}  // namespace herd::forwarder
