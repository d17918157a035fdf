#pragma once
// The reading sink: resolves the animal, builds the envelope and commits it to the outbox, or
// dead-letters what cannot become an event. Called on the source's delivery thread; returns only
// after the commit, so the source's acknowledgement follows durability.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "herd/buffer/outbox.hpp"
#include "herd/core/clock.hpp"
#include "herd/gateway/event_factory.hpp"
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
};

class ingest final : public sensors::reading_sink {
 public:
  ingest(buffer::outbox& outbox, event_factory factory, const core::clock& clock,
         std::shared_ptr<const collar_registry> registry, std::function<void()> on_stored);

  core::status on_reading(const sensors::raw_message& raw,
                          const sensors::collar_reading& reading) override;
  core::status on_rejected(const sensors::raw_message& raw, const std::string& reason) override;

  // Swaps in a reloaded registry (SIGHUP). Any thread.
  void set_registry(std::shared_ptr<const collar_registry> registry);
  ingest_stats stats() const;

 private:
  std::shared_ptr<const collar_registry> registry() const;

  buffer::outbox& outbox_;
  event_factory factory_;
  const core::clock& clock_;
  mutable std::mutex registry_mu_;
  std::shared_ptr<const collar_registry> registry_;
  std::function<void()> on_stored_;
  std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, dead_lettered_{0};
};

}  // namespace herd::gateway
