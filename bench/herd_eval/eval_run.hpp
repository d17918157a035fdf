#pragma once
// herd-eval's run: the realistic herd's messages through the gateway's decoder and event
// factory (as herdgate would store them) into the rules' fold, with advance() at every
// 10-minute boundary of event time, as the projector calls it.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "herd/rules/alert.hpp"
#include "herd/sim/herd.hpp"

namespace herd::eval {

struct raised_alert {
  std::string animal_id;
  rules::alert_kind kind = rules::alert_kind::fever;
  std::string device_id;
  std::string alert_id;
  std::int64_t started_ms = 0;
  std::string evidence;
  std::int64_t resolved_ms = 0;  // 0 = still open at the end of the run
};

// How the fold is driven. The defaults are herd-eval's (README table): one global event-time
// watermark, animals grouped for the herd context by FNV-1a, a last advance at the end of the
// run. `as_projector` drives it exactly as herd-projector does on a herd.events topic with
// `partitions` partitions: murmur2 partitioning of the animal id (the gateway's), one watermark
// per partition (advance only that partition's animals), no final advance.
struct run_options {
  int partitions = 6;
  bool as_projector = false;
  std::string trace_animal;
};

// One lifecycle change as herd.alerts would carry it.
struct lifecycle_event {
  std::string animal_id;
  std::string event_id;  // rules::alert_event(change).event_id(): the ce_id
};

struct run_output {
  std::vector<raised_alert> raised;
  std::map<std::string, std::uint64_t> changes;     // by change kind
  std::vector<lifecycle_event> lifecycle;           // every change, in fold order
  std::map<std::string, std::int64_t> low_battery;  // device -> first reading at or below the threshold
  std::map<std::string, int> device_interval_s;     // device -> interval
  std::map<std::string, bool> device_is_bolus;
  std::map<std::string, bool> animal_has_bolus;     // the device an animal starts with
  std::uint64_t messages = 0, applied = 0, rejected = 0, undecodable = 0, duplicates = 0, unassigned = 0;
  std::uint64_t state_bytes_total = 0;  // encoded states at the end, all animals
  int animals = 0;
  double seconds = 0;
};

// Runs `h` to its end. `partitions`: animals are grouped like Kafka partitions for the herd
// context (FNV-1a of the animal id modulo this).
run_output run_herd(sim::herd& h, const run_options& options);
inline run_output run_herd(sim::herd& h, int partitions = 6, const std::string& trace_animal = {}) {
  return run_herd(h, run_options{partitions, false, trace_animal});
}

// The Kafka partition of an animal on a topic of `partitions` partitions: librdkafka's
// murmur2_random partitioner, the Java client's (what herdgate produces with).
int kafka_partition(const std::string& animal_id, int partitions);

}  // namespace herd::eval
