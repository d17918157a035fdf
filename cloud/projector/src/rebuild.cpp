#include "herd/projector/rebuild.hpp"

namespace herd::projector {

core::result<batch_counts> rebuild_from_store(read_model::store& source, read_model::store& target,
                                              std::size_t batch, bool with_outbox) {
  applier app(target);
  app.set_dead_lettering(false);
  app.set_outbox(with_outbox);
  if (auto st = app.load_positions(); !st) return st.err();
  batch_counts total;
  std::vector<record> records;
  for (std::int64_t after = 0;;) {
    auto events = source.read_events(after, batch);
    if (!events) return events.err();
    if (events->empty()) break;
    records.clear();
    for (auto& e : *events) {
      records.push_back(record{e.topic, e.partition, e.offset, e.animal_id, std::move(e.envelope)});
    }
    after = events->back().store_seq;
    auto r = app.prepare(records);
    if (!r) return r.err();
    if (*r == applier::outcome::stale) return core::error::fatal("rebuild: the target read model is written by someone else");
    if (auto st = app.commit(); !st) return st.err();
    const auto& c = app.counts();
    total.records += c.records;
    total.applied += c.applied;
    total.duplicates += c.duplicates;
    total.unknown_type += c.unknown_type;
    total.rejected += c.rejected;
    total.undecodable += c.undecodable;
    total.future_dated += c.future_dated;
    total.advances += c.advances;
    total.alert_changes += c.alert_changes;
  }
  return total;
}

}  // namespace herd::projector
