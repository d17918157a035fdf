#pragma once
// Envelopes and Kafka records for the projector's unit tests: a deterministic small herd.
#include <cstdint>
#include <string>
#include <vector>

#include "herd/projector/applier.hpp"

namespace herd::test_envelopes {

struct reading {
  std::string event_id;
  std::string animal;
  std::string collar;
  std::uint32_t seq = 0;
  std::int64_t occurred_ms = 0;
  std::int64_t ingested_ms = 0;  // 0: occurred_ms + 1.5 s
  double temp_c = 38.6;
  std::uint32_t steps = 100;
  double rum_min = 3.0;
  std::uint32_t battery = 90;
};

// A serialized EventEnvelope of collar.reading.v1.
std::string collar_envelope(const reading& r);
// Same envelope fields, another event_type and an opaque payload (a type from the future).
std::string unknown_type_envelope(const std::string& event_id, const std::string& animal, std::int64_t occurred_ms);

// `animals` animals, `per_animal` readings each, 10 minutes apart from `start_ms`, interleaved
// by time; event ids "ev-<animal>-<n>". Partition = animal index % partitions.
struct herd_stream {
  std::vector<projector::record> records;  // in partition-offset order per partition
};
herd_stream make_stream(int animals, int per_animal, int partitions, std::int64_t start_ms);

}  // namespace herd::test_envelopes
