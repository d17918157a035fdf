#pragma once
// The forwarder's in-flight window counted per Kafka partition (issue 15, goal 4: no partition
// waits for another's broker).
//
// Every event produced and not yet reported is in flight, in the partition librdkafka sends it
// to. While Kafka acknowledges (the loop's `shared` flag: some delivery report succeeded in the
// last second), a partition's events count against a limit only up to its share of that limit
// (limit / partitions, at least 1). Events beyond the share are those of a partition whose leader
// does not answer while the others do (a broker down, a partition without its in-sync replicas):
// they wait in librdkafka's queue for that partition, behind which nothing of another partition
// waits, and the rest of the window stays for the partitions that move. When Kafka acknowledges
// nothing (all brokers away), every event counts: the window fills and the rest waits in the
// outbox, as without partitions. Order per animal does not depend on this: all of an animal's
// events go to one partition, in the order they were produced.
//
// Pure: no Kafka, no clock. Thread: one (the forwarder's). Errors: none; a report for a partition
// with nothing in flight is ignored.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace herd::forwarder {

class partition_window {
 public:
  // The topic's partition count (kafka_producer::partition_count); 0 or 1: no per-partition
  // share (every event counts). Counts already kept stay with their partition number.
  void set_partitions(std::int32_t partitions);
  std::int32_t partitions() const { return partitions_; }

  // An event handed to librdkafka for `partition` (-1: not known when produced: always counts);
  // `backlog`: produced by the drain's backlog lane (drain_planner::in_backlog).
  void produced(std::int32_t partition, bool backlog);
  // Its delivery report (success or failure), with the same arguments as produced().
  void reported(std::int32_t partition, bool backlog);
  void clear();  // the producer was rebuilt: nothing is in flight

  std::size_t total() const { return total_; }
  // Events in flight beyond their partition's share of `limit` (events): 0 unless `shared` and
  // more than one partition is known. `backlog`: only the backlog lane's events.
  std::size_t beyond_share(std::size_t limit, bool shared, bool backlog = false) const;
  // What counts against `limit`: total() minus beyond_share().
  std::size_t counted(std::size_t limit, bool shared) const { return total_ - beyond_share(limit, shared); }

 private:
  struct counts {
    std::size_t all = 0, backlog = 0;
  };
  std::int32_t partitions_ = 0;
  std::vector<counts> per_partition_;  // indexed by partition
  std::size_t total_ = 0;              // including those of an unknown partition
};

}  // namespace herd::forwarder
