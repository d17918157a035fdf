#include "herd/gateway/app.hpp"

#include <fmt/format.h>

#include <thread>

#include "herd/core/logging.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/ingest.hpp"
#include "herd/gateway/registry.hpp"
#include "herd/sensors/modbus_poller.hpp"
#include "herd/sensors/mqtt_source.hpp"
#include "metrics_server.hpp"

namespace herd::gateway {

struct app::impl {
  gateway_config config;
  std::unique_ptr<buffer::outbox> outbox;
  std::unique_ptr<forwarder::forwarder> fwd;
  std::unique_ptr<ingest> sink;
  std::unique_ptr<sensors::mqtt_source> mqtt;
  std::unique_ptr<sensors::modbus::poller> modbus;  // null when no device is configured
  std::unique_ptr<metrics_server> metrics;  // null when metrics.listen is empty
  const core::clock* clock = nullptr;
  core::boot_clock boot;
  std::unique_ptr<failure_policy> failures;  // where every failure is decided (README)
  std::unique_ptr<core::clock_monitor> clock_monitor;  // is the wall clock to be trusted?
  std::unique_ptr<backlog_age> ages;                   // backlog ages on the monotonic clock
  std::shared_ptr<spdlog::logger> log = core::module_logger("gateway");

  observability_snapshot observe() const {
    observability_snapshot s;
    const core::clock_status cs = clock_monitor->sample();
    ages->on_sample(cs);
    s.now_ms = cs.wall_ms;
    s.clock_quality = core::to_string(cs.quality);
    s.clock_synced = cs.synced;
    s.clock_steps = cs.steps;
    s.clock_last_step_ms = cs.last_step_ms;
    if (auto b = outbox->backlog()) {
      s.outbox_depth = b->events;
      s.oldest_unsent_created_ms = b->oldest_created_ms;
      failures->succeeded(storage_step::monitor);
    } else {
      s.outbox_error = b.err().message;
      (void)failures->failed(storage_step::monitor, b.err());  // a corrupt page found here stops us too
    }
    // The age on the monotonic clock needs the oldest event's seq: one row by primary key.
    if (s.oldest_unsent_created_ms) {
      if (auto oldest = outbox->peek(0, 1); oldest && !oldest->empty()) {
        const auto a = ages->age_of(oldest->front().seq, oldest->front().created_ms, cs);
        s.oldest_unsent_age_ms = a.ms;
        s.oldest_unsent_age_lower_bound = a.lower_bound;
      }
    }
    s.outbox_bytes = outbox->file_bytes();
    const auto wal = outbox->wal();
    s.outbox_wal_bytes = wal.bytes;
    s.outbox_wal_limit_bytes = wal.limit_bytes;
    s.outbox_wal_pinned_since_ms = wal.pinned_since_ms;
    s.outbox_checkpoints_in_commit = wal.checkpoints_in_commit;
    s.outbox_wal_syncs = wal.timed_wal_syncs;
    const auto mq = mqtt->stats();
    const auto in = sink->stats();
    const auto out = fwd->stats();
    s.ingested = in.stored;
    s.duplicates = in.duplicates;
    s.dead_letters = in.dead_lettered;
    s.ingested_clock_unsynced = in.clock_unsynced;
    s.ingested_clock_stepped = in.clock_stepped;
    s.forwarded = out.delivered;
    s.acknowledged = out.acknowledged;
    s.dead_letters_forwarded = out.dead_letters_forwarded;
    s.producer_rebuilds = out.producer_rebuilds;
    s.kafka_in_flight = out.in_flight;
    s.kafka_partitions_stalled = out.partitions_stalled;
    s.draining = out.draining;
    s.drain_held = out.deferred;
    s.drains = out.drains;
    s.mqtt_received = mq.received;
    s.mqtt_reconnects = mq.reconnects;
    s.mqtt_connected = mq.connected;
    s.mqtt_broker = config.mqtt.broker_uri;
    s.evicted = outbox->evicted_events();
    s.failures = failures->snapshot();
    s.acked_pending_delete = out.acked_pending_delete;
    for (std::size_t b = 0; b < out.ack_latency_le.size(); ++b) {
      s.ack_latency_le.emplace_back(forwarder::k_ack_latency_buckets_ms[b], out.ack_latency_le[b]);
    }
    s.ack_latency_count = out.ack_latency_count;
    s.ack_latency_sum_ms = out.ack_latency_sum_ms;
    s.kafka_errors = out.kafka_errors;
    s.last_kafka_error = out.last_kafka_error;
    s.last_kafka_error_message = out.last_kafka_error_message;
    s.last_kafka_error_ms = out.last_kafka_error_ms;
    s.kafka_failing_since_ms = out.kafka_failing_since_ms;
    s.kafka_failing_ms = out.kafka_failing_ms;
    s.dead_letters_dropped = outbox->dead_letters_dropped();
    if (modbus) s.modbus_devices = modbus->stats();
    return s;
  }
};

app::app(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
app::~app() { (void)stop(std::chrono::milliseconds(0)); }

core::result<std::unique_ptr<app>> app::create(const gateway_config& config, const core::clock& clock) {
  auto p = std::make_unique<impl>();
  p->config = config;
  p->clock = &clock;
  p->failures = std::make_unique<failure_policy>(clock);
  p->clock_monitor = std::make_unique<core::clock_monitor>(clock, p->boot, config.clock);
  auto registry = collar_registry::load_csv(config.registry_path);
  if (!registry) return registry.err();
  buffer::outbox_options oo = config.outbox;
  oo.clock = &clock;
  auto ob = buffer::outbox::open(oo);
  if (!ob) return core::error::fatal("outbox " + config.outbox.path + ": " + ob.err().message);
  p->outbox = std::move(*ob);
  p->ages = std::make_unique<backlog_age>(p->clock_monitor->sample(), config.clock.min_wall_ms);
  if (const auto& rep = p->outbox->report(); rep.checked) {
    p->log->info("outbox {}: quick_check of the whole file took {:.2f} s", config.outbox.path, rep.check_seconds);
  } else if (config.outbox.check_at_start == buffer::start_check::after_unclean_stop) {
    p->log->info("outbox {}: unchanged since a clean stop (or new); the whole-file quick_check is skipped",
                 config.outbox.path);
  }
  if (const auto& rep = p->outbox->report(); rep.quarantined) {
    // Not fatal: the gateway runs on the salvaged outbox; the operator decides about the rest.
    p->log->error("outbox {} was corrupt ({}): kept as {}; salvaged {} events and {} dead letters",
                  config.outbox.path, rep.problem, rep.quarantine_path, rep.salvaged_events,
                  rep.salvaged_dead_letters);
  }
  auto* failures = p->failures.get();
  p->fwd = std::make_unique<forwarder::forwarder>(
      config.kafka, *p->outbox,
      forwarder::storage_reporter{[failures](const core::error& e) { (void)failures->failed(storage_step::forward, e); },
                       [failures] { failures->succeeded(storage_step::forward); }},
      decide_kafka);  // Kafka failures: failure_policy.hpp
  auto* fwd = p->fwd.get();
  const std::size_t collars = registry->collar_count();
  p->sink = std::make_unique<ingest>(*p->outbox, event_factory(config.gateway_id), *p->clock_monitor,
                                     std::make_shared<const collar_registry>(std::move(*registry)),
                                     [fwd] { fwd->notify(); }, p->ages.get());
  p->sink->set_failure_policy(failures);
  p->mqtt = std::make_unique<sensors::mqtt_source>(config.mqtt, clock);
  if (!config.modbus.devices.empty()) p->modbus = std::make_unique<sensors::modbus::poller>(config.modbus, clock);
  if (!config.observability.listen.empty()) {
    auto* self = p.get();
    p->metrics = std::make_unique<metrics_server>(config.observability, [self] { return self->observe(); });
  }
  auto depth = p->outbox->depth();
  p->log->info("gateway '{}': outbox {} ({} events waiting), registry {} ({} collars)",
               config.gateway_id, config.outbox.path, depth ? *depth : 0, config.registry_path, collars);
  return std::unique_ptr<app>(new app(std::move(p)));
}

core::status app::start(std::function<void()> on_ready) {
  // First, so a bad listen address stops the start before anything is acknowledged, and so the
  // address is known when on_ready runs.
  if (impl_->metrics) {
    if (auto st = impl_->metrics->start(); !st) return st;
  }
  if (auto st = impl_->fwd->start(); !st) return st;
  if (auto st = impl_->mqtt->start(*impl_->sink, std::move(on_ready)); !st) return st;
  return impl_->modbus ? impl_->modbus->start(*impl_->sink) : core::status(core::ok_v);
}

core::status app::reload_registry() {
  auto registry = collar_registry::load_csv(impl_->config.registry_path);
  if (!registry) {
    impl_->log->error("registry reload failed, keeping the current one: {}", registry.err().message);
    return registry.err();
  }
  impl_->log->info("registry reloaded: {} collars", registry->collar_count());
  impl_->sink->set_registry(std::make_shared<const collar_registry>(std::move(*registry)));
  return core::ok_v;
}

core::status app::stop(std::chrono::milliseconds drain) {
  if (impl_->metrics) impl_->metrics->stop();  // no scrape reads a half-stopped gateway
  // First: after this nothing more is acknowledged to the broker. It fails when a delivery still
  // holds a reading it cannot store after the source's stop_grace: the caller decides (main exits).
  auto st = impl_->mqtt->stop();
  if (impl_->modbus) impl_->modbus->stop();  // no more polls: nothing more is stored
  impl_->fwd->stop(drain); // then: what Kafka has not acknowledged stays in the outbox
  // Orderly, and no storage failure outstanding: the next start may skip the whole-file check.
  if (st && !impl_->failures->fatal()) impl_->outbox->mark_clean_stop();
  return st;
}

void app::on_fatal(std::function<void(const core::error&)> fn) { impl_->failures->on_stop(std::move(fn)); }

std::optional<core::error> app::fatal_error() const { return impl_->failures->fatal(); }

bool app::forward_stored(std::chrono::milliseconds within) {
  const std::uint64_t target = impl_->outbox->last_seq();
  const auto deadline = std::chrono::steady_clock::now() + within;
  for (;;) {
    const auto s = impl_->fwd->stats();
    if (s.acked_through >= target) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      impl_->log->error("Kafka has not acknowledged every event up to seq {} after {} ms (all up to seq {} it has)",
                        target, within.count(), s.acked_through);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

app::stats app::current_stats() const {
  return {impl_->mqtt->stats(), impl_->sink->stats(), impl_->fwd->stats()};
}

std::string app::summary() const {
  const auto [mq, in, out] = current_stats();
  auto depth = impl_->outbox->depth();
  return fmt::format(
      "received {} stored {} duplicates {} dead-lettered {} forwarded {} dead letters forwarded {} "
      "producer rebuilds {} mqtt reconnects {} outbox depth {}",
      mq.received, in.stored, in.duplicates, in.dead_lettered, out.delivered,
      out.dead_letters_forwarded, out.producer_rebuilds, mq.reconnects, depth ? *depth : 0);
}

observability_snapshot app::observe() const { return impl_->observe(); }

std::string app::metrics_address() const {
  return impl_->metrics ? impl_->metrics->address() : std::string();
}

}  // namespace herd::gateway
