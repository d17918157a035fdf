// The write side of the PostgreSQL store: one pg_txn per batch (see pg_store.hpp for how
// several projector instances share the database safely).
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "herd/pg/copy.hpp"
#include "pg_rows.hpp"
#include "pg_statements.hpp"
#include "pg_store_impl.hpp"

namespace herd::read_model::pg_detail {
namespace {

namespace o = herd::pg::oids;

core::status check_event(const stored_event& e) {
  for (auto [value, field] : {std::pair<std::string_view, const char*>{e.event_id, "event_id"},
                              {e.animal_id, "animal_id"},
                              {e.event_type, "event_type"},
                              {e.gateway_id, "gateway_id"},
                              {e.topic, "topic"}}) {
    if (auto s = check_text(value, field, "event " + e.event_id); !s) return s;
  }
  return core::ok_v;
}

// Indexes of the last occurrence of each key, in first-occurrence order: an upsert of the same
// key twice in one statement is an error in PostgreSQL ("cannot affect row a second time"), and
// the later row is the one that must win.
template <class T, class Key>
std::vector<std::size_t> last_per_key(std::span<const T> rows, Key key) {
  std::unordered_map<std::string, std::size_t> last;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto [it, fresh] = last.try_emplace(key(rows[i]), i);
    if (fresh) {
      order.push_back(it->first);
    } else {
      it->second = i;
    }
  }
  std::vector<std::size_t> out;
  out.reserve(order.size());
  for (const auto& k : order) out.push_back(last[k]);
  return out;
}

// events[candidates] by INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id (the
// append's fallback): fresh[i] is set for each one stored now.
core::result<std::vector<bool>> insert_skipping_stored(pg::connection& conn,
                                                       std::span<const stored_event> events,
                                                       const std::vector<std::size_t>& candidates,
                                                       std::vector<bool> fresh) {
  pg::array_param ids(o::text), animals(o::text), types(o::text), occurred(o::int8),
      ingested(o::int8), gateways(o::text), gateway_seqs(o::int8), envelopes(o::bytea),
      topics(o::text), partitions(o::int4), offsets(o::int8);
  for (std::size_t i : candidates) {
    const stored_event& e = events[i];
    ids.add_text(e.event_id);
    animals.add_text(e.animal_id);
    types.add_text(e.event_type);
    occurred.add_int8(e.occurred_at_us);
    ingested.add_int8(e.ingested_at_us);
    gateways.add_text(e.gateway_id);
    gateway_seqs.add_int8(static_cast<std::int64_t>(e.gateway_seq));
    envelopes.add_text(e.envelope);
    topics.add_text(e.topic);
    partitions.add_int4(e.partition);
    offsets.add_int8(e.offset);
  }
  pg::params p;
  p.array(ids).array(animals).array(types).array(occurred).array(ingested).array(gateways);
  p.array(gateway_seqs).array(envelopes).array(topics).array(partitions).array(offsets);
  auto r = conn.run(pg_detail::append_events, p);
  if (!r) return r.err();
  std::unordered_set<std::string_view> inserted;
  for (int row = 0; row < r->rows(); ++row) inserted.insert(r->bytes(row, 0));
  for (std::size_t i : candidates) fresh[i] = inserted.count(events[i].event_id) != 0;
  return fresh;
}

}  // namespace

core::result<bool> pg_txn::claim(const std::string& topic, std::int32_t partition,
                                 std::int64_t expected_next_offset) {
  if (auto s = check_text(topic, "topic", "claim"); !s) return s.err();
  pg::params p;
  p.text(topic).int4(partition);
  if (auto r = conn_.run(claim_lock, p); !r) return r.err();
  auto r = conn_.run(claim_read, p);
  if (!r) return r.err();
  const std::int64_t stored = r->rows() == 0 ? -1 : r->int64(0, 0);
  return stored == expected_next_offset;
}

// The event store append, in three steps (issue 9: the append is most of the server's time per
// event). 1. One probe per id finds the ones stored already (a resend, a replay). 2. The rest go
// in by one binary COPY: heap rows inserted many per page and WAL record, and no speculative
// insertion, which INSERT ... ON CONFLICT pays per row. 3. If the COPY still meets a stored id
// (another transaction appended it after step 1, e.g. two instances at once: it waits for that
// one's commit, then fails on the unique index), the savepoint undoes the COPY and the same rows
// go through INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING, which skips them.
core::result<std::vector<bool>> pg_txn::append_events(std::span<const stored_event> events) {
  std::vector<bool> fresh(events.size(), false);
  std::unordered_set<std::string_view> seen;
  pg::array_param all_ids(o::text);
  std::vector<std::size_t> sent;  // input index of each distinct event id
  for (std::size_t i = 0; i < events.size(); ++i) {
    const stored_event& e = events[i];
    if (auto s = check_event(e); !s) return s.err();
    if (!seen.insert(e.event_id).second) continue;  // an earlier input of this call has it
    sent.push_back(i);
    all_ids.add_text(e.event_id);
  }
  if (sent.empty()) return fresh;
  std::unordered_set<std::string> known;
  {
    pg::params p;
    p.array(all_ids);
    auto r = conn_.run(known_events, p);
    if (!r) return r.err();
    for (int row = 0; row < r->rows(); ++row) known.insert(r->string(row, 0));
  }
  std::vector<std::size_t> candidates;
  for (std::size_t i : sent) {
    if (known.count(events[i].event_id) == 0) candidates.push_back(i);
  }
  if (candidates.empty()) return fresh;

  pg::copy_rows rows;
  for (std::size_t i : candidates) {
    const stored_event& e = events[i];
    rows.row(11);
    rows.text(e.event_id);
    rows.text(e.animal_id);
    rows.text(e.event_type);
    rows.int8(e.occurred_at_us);
    rows.int8(e.ingested_at_us);
    rows.text(e.gateway_id);
    rows.int8(static_cast<std::int64_t>(e.gateway_seq));
    rows.text(e.envelope);
    rows.text(e.topic);
    rows.int4(e.partition);
    rows.int8(e.offset);
  }
  if (auto s = conn_.execute("SAVEPOINT rm_append"); !s) return s.err();
  auto copied = conn_.copy_in(
      "COPY events (event_id, animal_id, event_type, occurred_at_us, ingested_at_us, gateway_id, "
      "gateway_seq, envelope, topic, kafka_partition, kafka_offset) FROM STDIN (FORMAT binary)",
      rows.finish());
  if (copied) {
    if (auto s = conn_.execute("RELEASE SAVEPOINT rm_append"); !s) return s.err();
    for (std::size_t i : candidates) fresh[i] = true;
    return fresh;
  }
  if (copied.err().code != "pg.23505") return copied.err();  // not a unique violation
  if (auto s = conn_.execute("ROLLBACK TO SAVEPOINT rm_append; RELEASE SAVEPOINT rm_append"); !s) {
    return s.err();
  }
  return insert_skipping_stored(conn_, events, candidates, std::move(fresh));
}

core::result<std::vector<std::optional<animal_row>>> pg_txn::load_animals(
    std::span<const std::string> animal_ids) {
  std::vector<std::optional<animal_row>> out(animal_ids.size());
  pg::array_param ids(o::text);
  for (const auto& id : animal_ids) {
    if (id.find('\0') == std::string::npos) ids.add_text(id);  // cannot be stored: never seen
  }
  if (ids.size() == 0) return out;
  pg::params p;
  p.array(ids);
  auto r = conn_.run(pg_detail::load_animals, p);
  if (!r) return r.err();
  std::unordered_map<std::string, animal_row> found;
  for (auto& a : animals_from(*r)) found.emplace(a.animal_id, std::move(a));
  for (std::size_t i = 0; i < animal_ids.size(); ++i) {
    if (auto it = found.find(animal_ids[i]); it != found.end()) out[i] = it->second;
  }
  return out;
}

core::status pg_txn::upsert_animals(std::span<const animal_row> animals) {
  const auto keep = last_per_key(animals, [](const animal_row& a) { return a.animal_id; });
  if (keep.empty()) return core::ok_v;
  pg::array_param ids(o::text), topics(o::text), partitions(o::int4), states(o::bytea), applied(o::int8), last(o::int8), temp(o::float8),
      steps(o::float8), rum(o::float8);
  pg::array_param c_animal(o::text), c_id(o::text), c_seq(o::int8), c_batt(o::int4),
      c_rssi(o::int4), c_seen(o::int8);
  for (std::size_t i : keep) {
    const animal_row& a = animals[i];
    if (auto s = check_text(a.animal_id, "animal_id", "an animal row"); !s) return s;
    if (auto s = check_text(a.topic, "topic", "animal " + a.animal_id); !s) return s;
    ids.add_text(a.animal_id);
    topics.add_text(a.topic);
    partitions.add_int4(a.partition);
    states.add_text(a.state);
    applied.add_int8(static_cast<std::int64_t>(a.events_applied));
    last.add_int8(a.last_occurred_at_us);
    temp.add_optional(a.body_temp_c);
    steps.add_optional(a.activity_steps);
    rum.add_optional(a.rumination_min);
    const auto collars = std::span<const collar_row>(a.collars);
    for (std::size_t c : last_per_key(collars, [](const collar_row& r) { return r.collar_id; })) {
      const collar_row& col = collars[c];
      if (auto s = check_text(col.collar_id, "collar_id", "animal " + a.animal_id); !s) return s;
      c_animal.add_text(a.animal_id);
      c_id.add_text(col.collar_id);
      c_seq.add_int8(col.last_seq);
      c_batt.add_optional(col.battery_pct);
      c_rssi.add_optional(col.rssi_dbm);
      c_seen.add_int8(col.last_seen_us);
    }
  }
  pg::params p;
  p.array(ids).array(topics).array(partitions).array(states).array(applied).array(last).array(temp).array(steps).array(rum);
  if (auto r = conn_.run(pg_detail::upsert_animals, p); !r) return r.err();
  pg::params c;
  c.array(ids).array(c_animal).array(c_id).array(c_seq).array(c_batt).array(c_rssi).array(c_seen);
  if (auto r = conn_.run(replace_collars, c); !r) return r.err();
  return core::ok_v;
}

core::status pg_txn::upsert_alerts(std::span<const alert_row> alerts) {
  const auto keep = last_per_key(alerts, [](const alert_row& a) { return a.alert_id; });
  if (keep.empty()) return core::ok_v;
  pg::array_param ids(o::text), animals(o::text), kinds(o::text), statuses(o::text),
      severities(o::int4), raised(o::int8), updated(o::int8), resolved(o::int8), acked(o::int8),
      bodies(o::bytea);
  for (std::size_t i : keep) {
    const alert_row& a = alerts[i];
    for (auto [v, f] : {std::pair<std::string_view, const char*>{a.alert_id, "alert_id"},
                        {a.animal_id, "animal_id"}, {a.kind, "kind"}, {a.status, "status"}}) {
      if (auto s = check_text(v, f, "alert " + a.alert_id); !s) return s;
    }
    ids.add_text(a.alert_id);
    animals.add_text(a.animal_id);
    kinds.add_text(a.kind);
    statuses.add_text(a.status);
    severities.add_int4(a.severity);
    raised.add_int8(a.raised_at_us);
    updated.add_int8(a.updated_at_us);
    resolved.add_optional(a.resolved_at_us);
    acked.add_optional(a.acknowledged_at_us);
    bodies.add_text(a.body);
  }
  pg::params p;
  p.array(ids).array(animals).array(kinds).array(statuses).array(severities).array(raised);
  p.array(updated).array(resolved).array(acked).array(bodies);
  if (auto r = conn_.run(pg_detail::upsert_alerts, p); !r) return r.err();
  return core::ok_v;
}

core::status pg_txn::append_advances(std::span<const advance_row> rows) {
  // One row per (topic, partition, boundary): the last one given wins, as in SQLite.
  const auto keep = last_per_key(rows, [](const advance_row& a) {
    return a.topic + '\0' + std::to_string(a.partition) + '\0' + std::to_string(a.boundary_ms);
  });
  if (keep.empty()) return core::ok_v;
  pg::array_param topics(o::text), parts(o::int4), bounds(o::int8), offs(o::int8), occ(o::int8), at(o::int8),
      t1(o::int4), r1(o::int4), t2(o::int4), r2(o::int4), n(o::int4);
  for (std::size_t i : keep) {
    const advance_row& a = rows[i];
    if (auto s = check_text(a.topic, "topic", "an advance row"); !s) return s;
    topics.add_text(a.topic);
    parts.add_int4(a.partition);
    bounds.add_int8(a.boundary_ms);
    offs.add_int8(a.offset);
    occ.add_int8(a.occurred_at_us);
    at.add_int8(a.ctx_at_ms);
    t1.add_int4(a.temp_excess_centi);
    r1.add_int4(a.rum_drop_pct);
    t2.add_int4(a.temp_vs_recent_centi);
    r2.add_int4(a.rum6_drop_pct);
    n.add_int4(a.animals);
  }
  pg::params p;
  p.array(topics).array(parts).array(bounds).array(offs).array(occ).array(at);
  p.array(t1).array(r1).array(t2).array(r2).array(n);
  if (auto r = conn_.run(pg_detail::append_advances, p); !r) return r.err();
  return core::ok_v;
}

core::status pg_txn::append_outbox(std::span<const outbox_message> messages) {
  if (messages.empty()) return core::ok_v;
  pg::array_param topics(o::text), keys(o::bytea), values(o::bytea), headers(o::bytea);
  for (const auto& m : messages) {
    if (auto s = check_text(m.topic, "topic", "an outbox message"); !s) return s;
    topics.add_text(m.topic);
    keys.add_text(m.key);
    values.add_text(m.value);
    headers.add_text(encode_headers(m.headers));
  }
  pg::params p;
  p.array(topics).array(keys).array(values).array(headers);
  if (auto r = conn_.run(pg_detail::append_outbox, p); !r) return r.err();
  return core::ok_v;
}

core::status pg_txn::add_progress(std::span<const partition_progress> deltas) {
  // One row per partition: the same partition twice in one call adds both deltas, the later
  // next_offset wins (as two calls would).
  std::map<std::pair<std::string, std::int32_t>, partition_progress> merged;
  for (const auto& d : deltas) {
    if (auto s = check_text(d.topic, "topic", "progress"); !s) return s;
    auto [it, fresh] = merged.try_emplace({d.topic, d.partition}, d);
    if (fresh) continue;
    partition_progress& m = it->second;
    m.next_offset = d.next_offset;
    m.watermark_us = d.watermark_us;
    m.applied += d.applied;
    m.duplicates += d.duplicates;
    m.unknown_type += d.unknown_type;
    m.rejected += d.rejected;
    m.dead_lettered += d.dead_lettered;
  }
  if (merged.empty()) return core::ok_v;
  pg::array_param topics(o::text), partitions(o::int4), next(o::int8), watermark(o::int8),
      applied(o::int8),
      duplicates(o::int8), unknown(o::int8), rejected(o::int8), dead(o::int8);
  for (const auto& [key, d] : merged) {
    topics.add_text(d.topic);
    partitions.add_int4(d.partition);
    next.add_int8(d.next_offset);
    watermark.add_int8(d.watermark_us);
    applied.add_int8(static_cast<std::int64_t>(d.applied));
    duplicates.add_int8(static_cast<std::int64_t>(d.duplicates));
    unknown.add_int8(static_cast<std::int64_t>(d.unknown_type));
    rejected.add_int8(static_cast<std::int64_t>(d.rejected));
    dead.add_int8(static_cast<std::int64_t>(d.dead_lettered));
  }
  pg::params p;
  p.array(topics).array(partitions).array(next).array(watermark).array(applied).array(duplicates);
  p.array(unknown).array(rejected).array(dead);
  if (auto r = conn_.run(pg_detail::add_progress, p); !r) return r.err();
  return core::ok_v;
}

core::status pg_txn::commit() {
  if (committed_) return core::error::fatal("postgresql: commit() called twice");
  committed_ = true;
  return txn_.commit();
}

}  // namespace herd::read_model::pg_detail
