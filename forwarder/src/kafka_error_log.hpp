#pragma once
// The forwarder's Kafka error bookkeeping, shown in forwarder_stats and /health: errors counted by
// librdkafka name, the latest one kept with its wall time, and since when Kafka has been failing
// (the first error after the last acknowledged delivery). Pure: the caller passes the clocks.
//
// Thread: error() and ok() on the forwarder thread, fill() on any (one mutex).
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "herd/forwarder/forwarder.hpp"

namespace herd::forwarder {

class kafka_error_log {
 public:
  using steady = std::chrono::steady_clock;

  // One Kafka error (a delivery report, a client error, a produce call) by its librdkafka name
  // (rd_kafka_err2name) and words. `wall_ms`: wall time, ms since the epoch (what /health shows);
  // `at`: the monotonic time, for the failing duration (the wall clock may step). The first
  // error since the last ok() starts the failing period.
  void error(const std::string& name, const std::string& message, std::int64_t wall_ms, steady::time_point at);
  // An acknowledged delivery: Kafka is no longer failing. Counts and the last error stay.
  void ok();
  // Writes kafka_errors, last_kafka_error{,_message,_ms}, kafka_failing_since_ms and
  // kafka_failing_ms (measured to `now`; 0 when not failing) into `s`.
  void fill(forwarder_stats& s, steady::time_point now) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> counts_;
  std::string last_, last_message_;
  std::int64_t last_ms_ = 0;
  std::int64_t failing_since_ms_ = 0;  // 0: not failing
  steady::time_point failing_since_{};
};

}  // namespace herd::forwarder
