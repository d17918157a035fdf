#pragma once
// Sends a fleet's readings to an MQTT broker (or prints them), paced and acknowledged.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "herd/core/result.hpp"
#include "herd/sim/fleet.hpp"

namespace herd::sim {

// Anything that yields messages in send order: a fleet, a herd. nullopt: no more.
class message_source {
 public:
  virtual ~message_source() = default;
  virtual std::optional<message> next() = 0;
};

struct publish_options {
  std::string broker_uri = "tcp://127.0.0.1:1883";
  std::string client_id = "herd-sim";
  int qos = 1;                                   // 0..2; the collar contract is QoS 1
  std::optional<std::uint64_t> count;            // stop after this many readings
  std::optional<std::chrono::milliseconds> duration;  // stop after this long (with or without count)
  double rate = 0;                               // readings per second; 0 = as fast as possible
  // Pace by the messages' send_ms: virtual seconds per wall-clock second (1 = real time);
  // 0 = as fast as possible (flood). Combines with rate (both limits hold).
  double speed = 0;
  std::size_t max_in_flight = 1000;              // published but not yet acknowledged
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds drain_timeout{30};        // for the last acknowledgements
  std::filesystem::path json_out;                // when set: each (topic, payload) as a JSON line
  const std::atomic<bool>* stop = nullptr;       // when set and true: stop early (signal handler)
};

struct publish_stats {
  std::uint64_t published = 0;
  std::uint64_t acked = 0;    // acknowledged by the broker (PUBACK for QoS 1)
  double elapsed_s = 0;       // from the first publish to the last acknowledgement
};

// Connects with a clean session, publishes, waits until every message is acknowledged, then
// disconnects. Errors: broker unreachable within connect_timeout, connection lost, acks missing
// after drain_timeout, json_out not writable, or neither count nor duration given.
core::result<publish_stats> publish(fleet& f, const publish_options& opts);
// The same for any source; a source that runs out ends the run (count and duration optional).
core::result<publish_stats> publish(message_source& src, const publish_options& opts);

// The same generation and pacing without a broker: one "<topic> <payload>" line per reading
// (the format of `mosquitto_sub -v`, so the two can be compared). Broker fields are ignored.
core::result<publish_stats> print(fleet& f, const publish_options& opts, std::ostream& out);
core::result<publish_stats> print(message_source& src, const publish_options& opts, std::ostream& out);

}  // namespace herd::sim
