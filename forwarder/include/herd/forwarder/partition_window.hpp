#pragma once
// The forwarder's in-flight window counted per Kafka partition (issue 15, goal 4: no partition
// waits for another's broker).
//
// Every event produced and not yet reported is in flight, in the partition librdkafka sends it
// to. A partition is stalled when it has events in flight and none of them was acknowledged for
// k_stall_ms (since its first one was produced, or since its last acknowledgement). A stalled
// partition is excused when Kafka acknowledged an event of another partition since its last
// progress and the client does not report every broker down: its leader does not answer while
// the cluster does (a broker down, a partition without its in-sync replicas). An excused partition's events count against a limit only up to its share
// (limit / partitions, at least 1); the rest wait in librdkafka's queue for that partition,
// behind which nothing of another partition waits, and the window stays for the partitions that
// move. When Kafka acknowledges nothing (every broker away), nothing is excused and every event
// counts: the window fills and the rest waits in the outbox. (An outage that librdkafka does
// not see as brokers down, connections hanging without a reset, may excuse partitions whose last
// acknowledgement came a little before another's: at most max_beyond_share events then wait in
// librdkafka's queue instead of the outbox, sent first when Kafka is back.) Order per animal does not depend on
// this: all of an animal's events go to one partition, in the order they were produced.
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

  // The topic's partition count (kafka_producer::partition_count); 0 or 1: nothing is excused.
  // Counts already kept stay with their partition number.
  void set_partitions(std::int32_t partitions);
  std::int32_t partitions() const { return partitions_; }

  // An event handed to librdkafka at `now_ms` for `partition` (-1: not known when produced, i.e.
  // before librdkafka had the topic's metadata after a start or a rebuild: it always counts); `backlog`: produced by the drain's backlog lane (drain_planner::in_backlog).
  void produced(std::int32_t partition, bool backlog, std::int64_t now_ms);
  // Its delivery report at `now_ms` (`ok`: acknowledged), with produced()'s partition and backlog.
  void reported(std::int32_t partition, bool backlog, bool ok, std::int64_t now_ms);
  void clear();  // the producer was rebuilt: nothing is in flight (the last ack time stays)
  // librdkafka reported every broker down (_ALL_BROKERS_DOWN), until the next acknowledgement
  // (reported() with `ok` clears it): nothing is excused meanwhile.
  void set_all_brokers_down() { all_brokers_down_ = true; }

  std::size_t total() const { return total_; }
  std::int64_t last_ack_ms() const { return last_ack_ms_; }  // -1: none yet
  // Events in flight beyond their excused partition's share of `limit` (events) at `now_ms`;
  // `backlog`: only the backlog lane's events, against their share of `limit`.
  std::size_t beyond_share(std::size_t limit, std::int64_t now_ms, bool backlog = false) const;
  // What counts against `limit`: total() minus beyond_share().
  std::size_t counted(std::size_t limit, std::int64_t now_ms) const { return total_ - beyond_share(limit, now_ms); }
  // Partitions excused at `now_ms` (for stats).
  std::size_t excused(std::int64_t now_ms) const;

 private:
  struct counts {
    std::size_t all = 0, backlog = 0;
    std::int64_t progress_ms = 0;  // its first event in flight, or its last acknowledgement
  };
  bool is_excused(const counts& c, std::int64_t now_ms) const;
  std::int32_t partitions_ = 0;
  std::vector<counts> per_partition_;  // indexed by partition
  std::size_t total_ = 0;              // including those of an unknown partition
  std::int64_t last_ack_ms_ = -1;
  bool all_brokers_down_ = false;
};

}  // namespace herd::forwarder
