#include "herd/projector/applier.hpp"

#include <algorithm>
#include <set>

#include "herd/projector/decode.hpp"
#include "herd/projector/state_rows.hpp"
#include "herd/rules/alert_events.hpp"
#include "herd/rules/fold.hpp"
#include "herd/rules/herd_context.hpp"
#include "herd/projector/alert_outbox.hpp"

namespace herd::projector {

namespace {
const core::system_clock k_system_clock;
}  // namespace

applier::applier(read_model::store& store) : store_(store), wall_(&k_system_clock) {}

core::status applier::load_positions() {
  auto p = store_.load_progress();
  if (!p) return p.err();
  partitions_.clear();
  cache_.clear();
  for (const auto& row : *p) {
    auto& ps = partitions_[{row.topic, row.partition}];
    ps.position = row.next_offset;
    ps.watermark_ms = row.watermark_us / 1000;
  }
  return core::ok_v;
}

std::int64_t applier::position(const std::string& topic, std::int32_t partition) const {
  auto it = partitions_.find({topic, partition});
  return it == partitions_.end() ? -1 : it->second.position;
}

void applier::forget_partition(const std::string& topic, std::int32_t partition) {
  auto it = partitions_.find({topic, partition});
  if (it == partitions_.end()) return;
  for (const auto& id : it->second.animals) cache_.erase(id);
  partitions_.erase(it);  // the position is reloaded from the store when it comes back
}

void applier::forget_all() {
  partitions_.clear();
  cache_.clear();
}

core::result<applier::partition_state*> applier::partition(const pkey& p) {
  auto it = working_partitions_.find(p);
  if (it != working_partitions_.end()) return &it->second;
  auto committed = partitions_.find(p);
  partition_state ps = committed != partitions_.end() ? committed->second : partition_state{};
  return &working_partitions_.emplace(p, std::move(ps)).first->second;
}

core::result<applier::working_animal*> applier::animal(const std::string& id, const record& r) {
  if (auto it = working_.find(id); it != working_.end()) return &it->second;
  working_animal w;
  w.topic = r.topic;
  w.partition = r.partition;
  if (auto c = cache_.find(id); c != cache_.end()) {
    w.state = c->second;
  } else {
    std::vector<std::string> ids{id};
    auto rows = txn_->load_animals(ids);
    if (!rows) return rows.err();
    if ((*rows)[0]) {
      auto st = rules::decode((*rows)[0]->state);
      if (!st) return core::error::fatal("read model: animal " + id + ": stored state: " + st.err().message);
      w.state = std::move(*st);
      w.topic = (*rows)[0]->topic;
      w.partition = (*rows)[0]->partition;
    }
  }
  return &working_.emplace(id, std::move(w)).first->second;
}

core::status applier::advance_partition(const pkey& p, partition_state& ps, std::int64_t boundary_ms,
                                         std::int64_t crossing_offset, std::int64_t crossing_occurred_us) {
  if (!ps.animals_loaded) {
    auto ids = store_.partition_animals(p.first, p.second);
    if (!ids) return ids.err();
    std::set<std::string> merged(ids->begin(), ids->end());
    merged.insert(ps.animals.begin(), ps.animals.end());
    ps.animals.assign(merged.begin(), merged.end());
    ps.animals_loaded = true;
  }
  // One round trip for the states not in memory.
  std::vector<std::string> missing;
  for (const auto& id : ps.animals) {
    if (!working_.count(id) && !cache_.count(id)) missing.push_back(id);
  }
  if (!missing.empty()) {
    auto rows = txn_->load_animals(missing);
    if (!rows) return rows.err();
    for (std::size_t i = 0; i < missing.size(); ++i) {
      if (!(*rows)[i]) continue;
      auto st = rules::decode((*rows)[i]->state);
      if (!st) return core::error::fatal("read model: animal " + missing[i] + ": stored state: " + st.err().message);
      working_animal w;
      w.state = std::move(*st);
      w.topic = (*rows)[i]->topic;
      w.partition = (*rows)[i]->partition;
      working_.emplace(missing[i], std::move(w));
    }
  }
  const record where{p.first, p.second, 0, {}, {}};
  std::vector<working_animal*> members;
  std::vector<const rules::animal_state*> states;
  members.reserve(ps.animals.size());
  states.reserve(ps.animals.size());
  for (const auto& id : ps.animals) {
    auto a = animal(id, where);
    if (!a) return a.err();
    members.push_back(*a);
    states.push_back(&(*a)->state);
  }
  // The herd context of the partition's animals at this boundary, before any of them moves
  // (/work/coord/rules.md: the same whichever instance owns the partition; rebuilds repeat it).
  const rules::herd_context ctx = rules::compute_herd_context(states, boundary_ms);
  // The round itself, so herd-api's time travel can replay one animal exactly as here: its events
  // merged by offset with these rounds (advance first, then the record at crossing_offset).
  advances_.push_back({p.first, p.second, boundary_ms, crossing_offset, crossing_occurred_us, ctx.at_ms,
                       ctx.temp_excess_centi, ctx.rum_drop_pct, ctx.temp_vs_recent_centi, ctx.rum6_drop_pct,
                       ctx.animals});
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto changes = rules::advance(members[i]->state, boundary_ms, ctx);
    members[i]->dirty = true;  // advanced_ms moved: the stored bytes must follow the cache
    ++counts_.advances;
    record_changes(changes);
  }
  return core::ok_v;
}

void applier::record_changes(const std::vector<rules::alert_change>& changes) {
  for (const auto& c : changes) {
    alerts_.push_back(to_row(c.animal_id, c.alert));
    if (outbox_on_) outbox_.push_back(alert_outbox_message(c, alerts_topic_, wall_->now_ms()));
    ++counts_.alert_changes;
  }
}

core::result<applier::outcome> applier::prepare(const std::vector<record>& batch) {
  abandon();
  counts_ = {};
  counts_.records = batch.size();
  auto t = store_.begin();
  if (!t) return t.err();
  txn_ = std::move(*t);

  // Fence every partition first, in (topic, partition) order.
  std::set<pkey> touched;
  for (const auto& r : batch) touched.insert({r.topic, r.partition});
  for (const auto& p : touched) {
    auto ok = txn_->claim(p.first, p.second, position(p.first, p.second));
    if (!ok) {
      abandon();
      return ok.err();
    }
    if (!*ok) {
      abandon();
      return outcome::stale;
    }
  }

  // Decode, then append every decodable record to the event store in one call.
  std::vector<std::optional<decoded_record>> decoded(batch.size());
  std::vector<read_model::stored_event> to_append;
  std::vector<std::size_t> appended_index;
  const std::int64_t now_ms = wall_->now_ms();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto d = decode_record(batch[i]);
    if (!d) {
      ++counts_.undecodable;
      if (dead_lettering_) dead_letters_.push_back({batch[i], d.err().message});
      continue;
    }
    const record& r = batch[i];
    const bool by_broker = r.log_append_ms != 0;
    const std::int64_t judge_ms = by_broker ? r.log_append_ms : r.polled_ms != 0 ? r.polled_ms : now_ms;
    if (auto future = future_dated(d->envelope, judge_ms, by_broker ? "Kafka's log-append time" : "the projector's clock")) {
      ++counts_.future_dated;
      if (dead_lettering_) dead_letters_.push_back({batch[i], *future});
      continue;
    }
    decoded[i] = std::move(*d);
    to_append.push_back(std::move(decoded[i]->stored));
    appended_index.push_back(i);
  }
  std::vector<bool> fresh(batch.size(), false);
  if (!to_append.empty()) {
    auto f = txn_->append_events(to_append);
    if (!f) {
      abandon();
      return f.err();
    }
    for (std::size_t k = 0; k < appended_index.size(); ++k) fresh[appended_index[k]] = (*f)[k];
  }

  // Prefetch the states of the animals of new events that are not in memory (one round trip).
  {
    std::set<std::string> want;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!fresh[i]) continue;
      const auto& id = decoded[i]->envelope.aggregate_id();
      if (!cache_.count(id)) want.insert(id);
    }
    if (!want.empty()) {
      std::vector<std::string> ids(want.begin(), want.end());
      auto rows = txn_->load_animals(ids);
      if (!rows) {
        abandon();
        return rows.err();
      }
      for (std::size_t i = 0; i < ids.size(); ++i) {
        working_animal w;
        if ((*rows)[i]) {
          auto st = rules::decode((*rows)[i]->state);
          if (!st) {
            abandon();
            return core::error::fatal("read model: animal " + ids[i] + ": stored state: " + st.err().message);
          }
          w.state = std::move(*st);
          w.topic = (*rows)[i]->topic;
          w.partition = (*rows)[i]->partition;
        }
        working_.emplace(ids[i], std::move(w));
      }
    }
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    const record& r = batch[i];
    const pkey p{r.topic, r.partition};
    auto& prog = progress_[p];
    prog.topic = r.topic;
    prog.partition = r.partition;
    prog.next_offset = r.offset + 1;
    auto ps = partition(p);
    if (!ps) {
      abandon();
      return ps.err();
    }
    if (!decoded[i]) {
      ++prog.dead_lettered;
      continue;
    }
    if (!fresh[i]) {
      ++prog.duplicates;
      ++counts_.duplicates;
      continue;
    }
    const auto& env = decoded[i]->envelope;
    auto a = animal(env.aggregate_id(), r);
    if (!a) {
      abandon();
      return a.err();
    }
    const bool known = (*a)->state.events > 0;
    // The partition's event-time watermark (rules::move_watermark, which herd-eval uses too):
    // the partition's animals advance to every boundary it crosses FIRST, in order, then the
    // reading is applied.
    auto moved = rules::move_watermark((*ps)->watermark_ms, (*a)->state, env);
    (*ps)->watermark_ms = moved.watermark_ms;
    for (const std::int64_t b : moved.boundaries_ms) {
      if (auto st = advance_partition(p, **ps, b, r.offset, to_us(env.occurred_at())); !st) {
        abandon();
        return st.err();
      }
    }
    auto res = rules::apply((*a)->state, env);
    switch (res.status) {
      case rules::apply_status::applied: {
        ++prog.applied;
        ++counts_.applied;
        if ((*a)->state.animal_id.empty()) break;  // an acknowledgement for an animal never seen
        (*a)->dirty = true;
        (*a)->topic = r.topic;
        (*a)->partition = r.partition;
        record_changes(res.alert_changes);
        auto& animals = (*ps)->animals;
        if (!known || !std::binary_search(animals.begin(), animals.end(), env.aggregate_id())) {
          auto at = std::lower_bound(animals.begin(), animals.end(), env.aggregate_id());
          if (at == animals.end() || *at != env.aggregate_id()) animals.insert(at, env.aggregate_id());
        }
        break;
      }
      case rules::apply_status::unknown_type:
        ++prog.unknown_type;
        ++counts_.unknown_type;
        break;
      case rules::apply_status::rejected:
        ++prog.rejected;
        ++prog.dead_lettered;
        ++counts_.rejected;
        if (dead_lettering_) dead_letters_.push_back({r, "rejected by the fold: " + res.reason});
        break;
    }
  }
  counts_.dead_lettered = counts_.undecodable + counts_.future_dated + counts_.rejected;
  if (auto st = write_batch(); !st) {
    abandon();
    return st.err();
  }
  return outcome::ready;
}

core::status applier::write_batch() {
  std::vector<read_model::animal_row> rows;
  for (const auto& [id, w] : working_) {
    if (w.dirty) rows.push_back(to_row(w.state, w.topic, w.partition));
  }
  counts_.animals_written = rows.size();
  if (!rows.empty()) {
    if (auto st = txn_->upsert_animals(rows); !st) return st;
  }
  if (!alerts_.empty()) {
    if (auto st = txn_->upsert_alerts(alerts_); !st) return st;
  }
  if (!outbox_.empty()) {
    if (auto st = txn_->append_outbox(outbox_); !st) return st;
  }
  if (!advances_.empty()) {
    if (auto st = txn_->append_advances(advances_); !st) return st;
  }
  std::vector<read_model::partition_progress> deltas;
  for (auto& [p, prog] : progress_) {
    prog.watermark_us = working_partitions_.at(p).watermark_ms * 1000;
    deltas.push_back(prog);
  }
  if (!deltas.empty()) return txn_->add_progress(deltas);
  return core::ok_v;
}

core::status applier::commit() {
  if (!txn_) return core::error::fatal("applier: commit without a prepared batch");
  if (auto st = txn_->commit(); !st) {
    abandon();
    return st;
  }
  txn_.reset();
  for (auto& [p, ps] : working_partitions_) {
    auto it = progress_.find(p);
    if (it != progress_.end()) ps.position = it->second.next_offset;
    partitions_[p] = std::move(ps);
  }
  for (auto& [id, w] : working_) {
    if (w.dirty) cache_[id] = std::move(w.state);
  }
  working_partitions_.clear();
  working_.clear();
  progress_.clear();
  alerts_.clear();
  outbox_.clear();
  advances_.clear();
  return core::ok_v;
}

void applier::abandon() {
  txn_.reset();
  working_partitions_.clear();
  working_.clear();
  progress_.clear();
  alerts_.clear();
  outbox_.clear();
  advances_.clear();
  dead_letters_.clear();
}

}  // namespace herd::projector
