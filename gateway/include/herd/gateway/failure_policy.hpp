#pragma once
// The one place where herdgate decides what a failure means (README, "Failure handling").
// Adapters (outbox, Kafka producer, MQTT source) only classify: a core::error carries a class
// (retriable / permanent / fatal) and a per-module code ("outbox.full", "kafka._TRANSPORT", ...).
// decide() maps that to an action; failure_policy keeps what monitoring must see (what is blocked,
// since when, counters by cause) and tells main() when the process must stop for a restart.
//
// Threading: every method is safe from any thread (one mutex; calls are cheap and never block on
// I/O). The stop callback runs on the reporting thread, once.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "herd/core/clock.hpp"
#include "herd/core/result.hpp"
#include "herd/forwarder/forwarder.hpp"

namespace herd::gateway {

enum class decision {
  retry,        // keep the input (unacknowledged reading, unacknowledged event) and try again later
  dead_letter,  // this input can never succeed: keep its bytes as a dead letter and go on
  stop,         // the component is unusable: log, STOPPING=1, exit non-zero; systemd restarts us
};
const char* to_string(decision d);

// retriable -> retry, permanent -> dead_letter, fatal -> stop. The whole table, on purpose: codes
// refine what is shown and counted, never the action (README lists the codes per class).
decision decide(const core::error& e);

// What the forwarder does with a Kafka failure the producer adapter classified (README, "Failure
// handling", Kafka; forwarder.hpp, kafka_decider). Kafka being away is what the outbox is for, and
// a producer can always be made anew, so this never answers stop (the gateway passes it to the
// forwarder as its kafka_decider as it is):
//   produce call:    retry -> retry (100 ms later), rejected -> dead_letter (the client refuses this
//                    record alone, e.g. over message.max.bytes), fatal -> rebuild;
//   delivery report: every failure -> rebuild (resend from the oldest unacknowledged event, in
//                    order; a broker's MSG_SIZE_TOO_LARGE applies to a whole request, so even
//                    rejected is never a dead letter here);
//   client error:    fatal -> rebuild, the rest -> retry (librdkafka reconnects by itself).
// Pure; any thread.
forwarder::kafka_action decide_kafka(forwarder::kafka_origin where, const forwarder::kafka_outcome& o);

// Where a storage step failed; each place is blocked or not on its own.
enum class storage_step {
  ingest,    // storing a reading (or a dead letter) before acknowledging it to the source
  forward,   // a step after a Kafka ack: deleting acknowledged rows, marking dead letters sent
  monitor,   // the monitoring reads (/health, /metrics)
};
const char* to_string(storage_step s);

struct blocked_state {
  bool blocked = false;
  std::int64_t since_ms = 0;  // wall time of the first failure of this episode
  std::string code;           // the error code of the latest failure
  std::string message;        // and its message
};

struct failure_snapshot {
  blocked_state ingest, forward, monitor;
  // Failed attempts by step and error code: {"ingest", "outbox.full"} -> n. Counters since start.
  std::map<std::pair<std::string, std::string>, std::uint64_t> failures;
  std::optional<core::error> fatal;  // the error that made the gateway stop, if any
  std::int64_t fatal_ms = 0;
};

class failure_policy {
 public:
  explicit failure_policy(const core::clock& wall) : wall_(wall) {}

  // Called with the first fatal error (any thread, once). main() installs it before start().
  void on_stop(std::function<void(const core::error&)> fn);

  // A storage step failed: counts it, marks the step blocked (since the first failure of this
  // episode), and returns the decision. A `stop` decision also calls the stop callback (once).
  decision failed(storage_step step, const core::error& e);
  // The step succeeded: it is no longer blocked. Cheap when it was not blocked.
  void succeeded(storage_step step);

  failure_snapshot snapshot() const;
  std::optional<core::error> fatal() const;
  // A fatal error was decided: the process is about to exit (lock-free, for the hot path).
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

 private:
  blocked_state& state(storage_step s);

  const core::clock& wall_;
  mutable std::mutex mu_;
  failure_snapshot s_;
  std::array<std::atomic<bool>, 3> blocked_{};  // per step: lets succeeded() skip the lock
  std::function<void(const core::error&)> on_stop_;
  std::atomic<bool> stopping_{false};
};

}  // namespace herd::gateway
