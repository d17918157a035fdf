#pragma once
// The reading sink: resolves the animal, builds the envelope and commits it to the outbox, or
// dead-letters what cannot become an event. Called on the source's delivery thread; returns only
// after the commit, so the source's acknowledgement follows durability.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "herd/buffer/outbox.hpp"
#include "herd/core/clock_monitor.hpp"
#include "herd/gateway/backlog_age.hpp"
#include "herd/gateway/event_factory.hpp"
#include "herd/gateway/failure_policy.hpp"
#include "herd/gateway/registry.hpp"
#include "herd/sensors/source.hpp"

namespace herd::gateway {

// Dead letters keep the original bytes up to this size; longer ones keep the first part and say
// so in the reason (an SD card must not fill with one hostile message).
inline constexpr std::size_t k_dead_letter_max_bytes = 64 * 1024;

struct ingest_stats {
  std::uint64_t stored = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t clock_unsynced = 0;  // stored while the gateway clock was not synchronized
  std::uint64_t clock_stepped = 0;   // stored shortly after a step of the gateway clock
};

class ingest final : public sensors::reading_sink {
 public:
  // `monitor` gives the wall time and its quality for each reading; `ages` (may be null) learns
  // the clock state each event was stored under. Both must outlive the sink.
  ingest(buffer::outbox& outbox, event_factory factory, core::clock_monitor& monitor,
         std::shared_ptr<const collar_registry> registry, std::function<void()> on_stored,
         backlog_age* ages = nullptr);

  // Any thread (the MQTT source's and the Modbus poller's at once).
  core::status on_reading(const sensors::raw_message& raw, const sensors::reading& reading) override;
  core::status on_rejected(const sensors::raw_message& raw, const std::string& reason) override;

  // Where storage failures are reported (each failed attempt) and decided; null = nobody. Set
  // before the source starts.
  void set_failure_policy(failure_policy* policy) { policy_ = policy; }
  // Swaps in a reloaded registry (SIGHUP). Any thread.
  void set_registry(std::shared_ptr<const collar_registry> registry);
  ingest_stats stats() const;

 private:
  std::shared_ptr<const collar_registry> registry() const;
  // The animal and the dedup key of a reading; a permanent error (the dead-letter reason) when
  // there is no animal.
  struct identity {
    std::string animal;
    std::string dedup_key;
  };
  core::result<identity> identify(const sensors::reading& r, const occurred_at& occurred,
                                  bool gateway_time_unknown) const;

  buffer::outbox& outbox_;
  event_factory factory_;
  core::clock_monitor& monitor_;
  backlog_age* ages_;
  mutable std::mutex registry_mu_;
  std::shared_ptr<const collar_registry> registry_;
  std::function<void()> on_stored_;
  failure_policy* policy_ = nullptr;
  core::status reported(core::status st);
  core::status refused_after_fatal() const;
  std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, dead_lettered_{0};
  std::atomic<std::uint64_t> clock_unsynced_{0}, clock_stepped_{0};
};

}  // namespace herd::gateway
