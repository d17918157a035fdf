#include "herd/gateway/app.hpp"

#include <fmt/format.h>

#include "herd/core/logging.hpp"
#include "herd/gateway/forwarder.hpp"
#include "herd/gateway/ingest.hpp"
#include "herd/gateway/registry.hpp"
#include "herd/sensors/mqtt_source.hpp"

namespace herd::gateway {

struct app::impl {
  gateway_config config;
  std::unique_ptr<buffer::outbox> outbox;
  std::unique_ptr<forwarder> fwd;
  std::unique_ptr<ingest> sink;
  std::unique_ptr<sensors::mqtt_source> mqtt;
  std::shared_ptr<spdlog::logger> log = core::module_logger("gateway");
};

app::app(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
app::~app() { stop(std::chrono::milliseconds(0)); }

core::result<std::unique_ptr<app>> app::create(const gateway_config& config, const core::clock& clock) {
  auto p = std::make_unique<impl>();
  p->config = config;
  auto registry = collar_registry::load_csv(config.registry_path);
  if (!registry) return registry.err();
  buffer::outbox_options oo = config.outbox;
  oo.clock = &clock;
  auto ob = buffer::outbox::open(oo);
  if (!ob) return core::error::fatal("outbox " + config.outbox.path + ": " + ob.err().message);
  p->outbox = std::move(*ob);
  if (const auto& rep = p->outbox->report(); rep.quarantined) {
    // Not fatal: the gateway runs on the salvaged outbox; the operator decides about the rest.
    p->log->error("outbox {} was corrupt ({}): kept as {}; salvaged {} events and {} dead letters",
                  config.outbox.path, rep.problem, rep.quarantine_path, rep.salvaged_events,
                  rep.salvaged_dead_letters);
  }
  p->fwd = std::make_unique<forwarder>(config.kafka, *p->outbox);
  auto* fwd = p->fwd.get();
  const std::size_t collars = registry->collar_count();
  p->sink = std::make_unique<ingest>(*p->outbox, event_factory(config.gateway_id), clock,
                                     std::make_shared<const collar_registry>(std::move(*registry)),
                                     [fwd] { fwd->notify(); });
  p->mqtt = std::make_unique<sensors::mqtt_source>(config.mqtt, clock);
  auto depth = p->outbox->depth();
  p->log->info("gateway '{}': outbox {} ({} events waiting), registry {} ({} collars)",
               config.gateway_id, config.outbox.path, depth ? *depth : 0, config.registry_path, collars);
  return std::unique_ptr<app>(new app(std::move(p)));
}

core::status app::start(std::function<void()> on_ready) {
  if (auto st = impl_->fwd->start(); !st) return st;
  return impl_->mqtt->start(*impl_->sink, std::move(on_ready));
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

void app::stop(std::chrono::milliseconds drain) {
  impl_->mqtt->stop();     // first: after this nothing more is acknowledged to the broker
  impl_->fwd->stop(drain); // then: what Kafka has not acknowledged stays in the outbox
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

}  // namespace herd::gateway
