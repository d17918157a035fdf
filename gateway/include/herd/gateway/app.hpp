#pragma once
// The composition root: wires MQTT source -> ingest -> outbox -> forwarder. main() owns one;
// tests and benchmarks may run one in-process.
#include <functional>
#include <memory>
#include <optional>

#include "herd/core/clock.hpp"
#include "herd/core/result.hpp"
#include "herd/gateway/config.hpp"
#include "herd/gateway/failure_policy.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/ingest.hpp"
#include "herd/gateway/observability.hpp"
#include "herd/sensors/mqtt_source.hpp"

namespace herd::gateway {

class app {
 public:
  // Opens the outbox and loads the registry; nothing runs yet.
  static core::result<std::unique_ptr<app>> create(const gateway_config& config, const core::clock& clock);
  ~app();

  // Starts the metrics listener (when configured), then forwarding and ingest. `on_ready` runs each
  // time the MQTT subscriptions are in place; by then metrics_address() is known.
  core::status start(std::function<void()> on_ready = {});
  // Re-reads the registry file; on error keeps the current one and says why.
  core::status reload_registry();
  // Stops the metrics listener, then ingest (nothing more is acknowledged), then the forwarder
  // after up to `drain`. An error when the MQTT source could not stop cleanly: a delivery still
  // holds a reading storage refuses after mqtt.stop_grace (code mqtt.delivery_blocked). Then the
  // source's delivery thread is still inside the sink, and only exiting the process (without
  // acknowledging the reading: the broker redelivers it) ends it; main() does so (exit status 75).
  core::status stop(std::chrono::milliseconds drain = std::chrono::seconds(5));
  // `fn` runs once, on the reporting thread, when a failure is decided to be fatal (failure_policy):
  // main() then logs, tells systemd STOPPING=1 and exits non-zero. Set before start().
  void on_fatal(std::function<void(const core::error&)> fn);
  std::optional<core::error> fatal_error() const;  // the fatal error, once there is one
  // After a fatal error, before the process exits: waits until Kafka acknowledged every event the
  // outbox holds now, or `within` passed; true when it did. The forwarder goes on reading rows the
  // storage can still return (a file system remounted read-only still serves its page cache) so
  // that acknowledged readings whose commit the failed storage may not keep (synchronous =
  // normal: not yet fsynced) still reach Kafka. Ingest already refuses to store (failure_policy).
  // Thread: main. Blocks up to `within`.
  bool forward_stored(std::chrono::milliseconds within);
  struct stats {
    sensors::mqtt_stats mqtt;
    ingest_stats ingest;
    forwarder::forwarder_stats forward;
  };
  stats current_stats() const;
  std::string summary() const;
  // Counters and gauges for /metrics and /health. Any thread.
  observability_snapshot observe() const;
  // host:port the metrics listener is bound to; empty when disabled or not started.
  std::string metrics_address() const;

 private:
  struct impl;
  explicit app(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::gateway
