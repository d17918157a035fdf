#include "herd/gateway/ingest.hpp"

#include <fmt/format.h>

#include <limits>

#include "herd/core/uuid.hpp"

namespace herd::gateway {

ingest::ingest(buffer::outbox& outbox, event_factory factory, core::clock_monitor& monitor,
               std::shared_ptr<const collar_registry> registry, std::function<void()> on_stored,
               backlog_age* ages)
    : outbox_(outbox),
      factory_(std::move(factory)),
      monitor_(monitor),
      ages_(ages),
      registry_(std::move(registry)),
      on_stored_(std::move(on_stored)) {}

core::result<ingest::identity> ingest::identify(const sensors::reading& r, const occurred_at& occurred,
                                                bool gateway_time_unknown) const {
  if (const auto* w = std::get_if<sensors::scale_weighing>(&r.payload)) {
    // The ear tag is the animal: no registry lookup. One weighing is its scale, counter and time.
    return identity{w->animal_id(), fmt::format("scale/{}/{}/{}", w->scale_id, w->weighing_seq, w->ts_ms)};
  }
  const auto& reading = std::get<sensors::collar_reading>(r.payload);
  auto animal = registry()->animal_at(
      reading.collar_id, gateway_time_unknown ? std::numeric_limits<std::int64_t>::max() : occurred.ms);
  if (!animal) return animal.err();
  // The same reading delivered twice (an MQTT redelivery after a lost PUBACK, a collar resend, or
  // the same reading heard over MQTT and from a base station's slot) has the same farm, collar,
  // seq and measurement time: store it once.
  return identity{std::move(*animal),
                  fmt::format("{}/{}/{}/{}", reading.farm_id, reading.collar_id, reading.seq, reading.ts_ms)};
}

core::status ingest::on_reading(const sensors::raw_message& raw, const sensors::reading& reading) {
  if (auto st = refused_after_fatal(); !st) return st;
  // One clock sample per reading: it stamps ingested_at and says how far that can be trusted.
  const core::clock_status clock = monitor_.sample();
  const occurred_at occurred = resolve_occurred_at(reading.source_ts_ms, raw.received_ms, {}, clock.synced);
  // A gateway time from a clock that was never set says nothing about who wore the collar then:
  // the collar's current wearer is the best answer (a 1970 time would dead-letter the reading).
  const bool gateway_time_unknown =
      !clock.synced && occurred.source != events::v1::TIME_SOURCE_SENSOR;
  auto id = identify(reading, occurred, gateway_time_unknown);
  if (!id) return on_rejected(raw, id.err().message);
  const std::string& animal = id->animal;
  // A `ts` implausibly far ahead of a synchronized gateway clock never enters the dedup table:
  // any publisher could otherwise claim the key of a real reading to come, which would then be
  // dropped as a duplicate (issue 14, case 8). Such a reading is stored, without dedup.
  const bool ts_in_future = occurred.source == events::v1::TIME_SOURCE_GATEWAY_SENSOR_INVALID &&
                            reading.source_ts_ms > raw.received_ms;
  const std::string dedup_key = ts_in_future ? std::string() : id->dedup_key;
  // Without a sensor time (ts = 0) the key cannot tell a redelivery from a collar whose counter
  // restarted after a reset: only a message the transport marks as a resend is dropped as seen.
  const auto mode = reading.source_ts_ms == 0 && !raw.redelivered ? buffer::outbox::dedup_mode::refresh
                                                                   : buffer::outbox::dedup_mode::skip_seen;
  const auto quality = to_proto(clock.quality);
  std::string event_id;
  auto appended = outbox_.append(animal, dedup_key, [&](std::uint64_t seq) {
    event_id = core::new_uuid_v4();  // minted once, inside the transaction that stores it
    const envelope_meta meta{event_id, animal, occurred, clock.wall_ms, seq, quality};
    return factory_.event_for(reading, meta).SerializeAsString();
  }, mode);
  if (!appended) return reported(appended.err());
  (void)reported(core::ok_v);
  if (appended->duplicate) {
    duplicates_.fetch_add(1, std::memory_order_relaxed);
  } else {
    stored_.fetch_add(1, std::memory_order_relaxed);
    if (clock.quality == core::clock_quality::unsynced) clock_unsynced_.fetch_add(1, std::memory_order_relaxed);
    if (clock.quality == core::clock_quality::stepped) clock_stepped_.fetch_add(1, std::memory_order_relaxed);
    if (ages_ != nullptr) ages_->on_stored(appended->seq, clock);
    if (on_stored_) on_stored_();
  }
  return core::ok_v;
}

core::status ingest::on_rejected(const sensors::raw_message& raw, const std::string& reason) {
  if (auto st = refused_after_fatal(); !st) return st;
  std::string why = reason;
  std::string_view bytes = raw.payload;
  if (bytes.size() > k_dead_letter_max_bytes) {
    why += fmt::format(" (payload truncated to its first {} of {} bytes)", k_dead_letter_max_bytes,
                       bytes.size());
    bytes = bytes.substr(0, k_dead_letter_max_bytes);
  }
  auto id = outbox_.add_dead_letter(raw.source.substr(0, 1024), why, std::string(bytes),
                                    raw.received_ms);
  if (!id) return reported(id.err());
  (void)reported(core::ok_v);
  dead_lettered_.fetch_add(1, std::memory_order_relaxed);
  if (on_stored_) on_stored_();
  return core::ok_v;
}

// Once a fatal storage error is decided the process is about to exit: nothing more is stored or
// acknowledged on storage found unusable (the source holds the message; the broker redelivers it
// after the restart).
core::status ingest::refused_after_fatal() const {
  if (policy_ == nullptr || !policy_->stopping()) return core::ok_v;
  auto fatal = policy_->fatal();
  return fatal ? *fatal : core::error::fatal("stopping after a fatal error", "gateway.stopping");
}

// Every storage attempt's outcome goes to the policy: it keeps the blocked state and counters that
// /health and /metrics show, and stops the gateway on a fatal error. The source holds an
// unstored reading unacknowledged whatever the decision (even a stop: exactly a crash).
core::status ingest::reported(core::status st) {
  if (policy_ == nullptr) return st;
  if (st) {
    policy_->succeeded(storage_step::ingest);
  } else {
    (void)policy_->failed(storage_step::ingest, st.err());
  }
  return st;
}

void ingest::set_registry(std::shared_ptr<const collar_registry> registry) {
  std::lock_guard lock(registry_mu_);
  registry_ = std::move(registry);
}

std::shared_ptr<const collar_registry> ingest::registry() const {
  std::lock_guard lock(registry_mu_);
  return registry_;
}

ingest_stats ingest::stats() const {
  return {stored_.load(), duplicates_.load(), dead_lettered_.load(), clock_unsynced_.load(),
          clock_stepped_.load()};
}

}  // namespace herd::gateway
