// One batch of the SQLite read model: every write of a batch in one transaction (store.hpp).
#include "sqlite_rows.hpp"
#include "sqlite_store_impl.hpp"

namespace herd::read_model::detail {

using sqlite::sqlite_error;

sqlite_txn::~sqlite_txn() {
  if (!done_) {
    (void)s_.rollback_st.step();
    s_.rollback_st.reset();
  }
  s_.txn_open = false;
}

core::result<bool> sqlite_txn::claim(const std::string& topic, std::int32_t partition,
                                     std::int64_t expected_next_offset) {
  // BEGIN IMMEDIATE already holds the database's write lock: reading is enough.
  auto& st = s_.pr_select_one;
  st.bind(1, topic);
  st.bind(2, std::int64_t{partition});
  const int rc = st.step();
  const std::int64_t stored = rc == SQLITE_ROW ? st.column_int(0) : -1;
  st.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(s_.db, rc, "claim");
  return stored == expected_next_offset;
}

core::result<std::vector<bool>> sqlite_txn::append_events(std::span<const stored_event> events) {
  std::vector<bool> fresh;
  fresh.reserve(events.size());
  auto& st = s_.ev_insert;
  for (const auto& e : events) {
    st.bind(1, e.event_id);
    st.bind(2, e.animal_id);
    st.bind(3, e.event_type);
    st.bind(4, e.occurred_at_us);
    st.bind(5, e.ingested_at_us);
    st.bind(6, e.gateway_id);
    st.bind(7, static_cast<std::int64_t>(e.gateway_seq));
    st.bind_blob(8, e.envelope);
    st.bind(9, e.topic);
    st.bind(10, std::int64_t{e.partition});
    st.bind(11, e.offset);
    if (auto r = run(s_.db, st, "append event"); !r) return r.err();
    fresh.push_back(sqlite3_changes(s_.db) == 1);
  }
  return fresh;
}

core::result<std::vector<std::optional<animal_row>>> sqlite_txn::load_animals(
    std::span<const std::string> animal_ids) {
  std::vector<std::optional<animal_row>> out;
  out.reserve(animal_ids.size());
  auto& st = s_.an_select;
  for (const auto& id : animal_ids) {
    st.bind(1, id);
    const int rc = st.step();
    std::optional<animal_row> row;
    if (rc == SQLITE_ROW) row = animal_from(st);
    st.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(s_.db, rc, "load animal");
    if (row) {
      auto c = s_.collars_of(id);
      if (!c) return c.err();
      row->collars = std::move(*c);
    }
    out.push_back(std::move(row));
  }
  return out;
}

core::status sqlite_txn::upsert_animals(std::span<const animal_row> animals) {
  for (const auto& a : animals) {
    auto& st = s_.an_upsert;
    st.bind(1, a.animal_id);
    st.bind(2, a.topic);
    st.bind(3, std::int64_t{a.partition});
    st.bind_blob(4, a.state);
    st.bind(5, static_cast<std::int64_t>(a.events_applied));
    st.bind(6, a.last_occurred_at_us);
    st.bind_optional(7, a.body_temp_c);
    st.bind_optional(8, a.activity_steps);
    st.bind_optional(9, a.rumination_min);
    if (auto r = run(s_.db, st, "upsert animal"); !r) return r;
    s_.co_delete.bind(1, a.animal_id);
    if (auto r = run(s_.db, s_.co_delete, "replace collars"); !r) return r;
    for (const auto& c : a.collars) {
      auto& ci = s_.co_insert;
      ci.bind(1, a.animal_id);
      ci.bind(2, c.collar_id);
      ci.bind(3, c.last_seq);
      ci.bind_optional(4, c.battery_pct);
      ci.bind_optional(5, c.rssi_dbm);
      ci.bind(6, c.last_seen_us);
      if (auto r = run(s_.db, ci, "insert collar"); !r) return r;
    }
  }
  return core::ok_v;
}

core::status sqlite_txn::upsert_alerts(std::span<const alert_row> alerts) {
  auto& st = s_.al_upsert;
  for (const auto& a : alerts) {
    st.bind(1, a.alert_id);
    st.bind(2, a.animal_id);
    st.bind(3, a.kind);
    st.bind(4, a.status);
    st.bind(5, std::int64_t{a.severity});
    st.bind(6, a.raised_at_us);
    st.bind(7, a.updated_at_us);
    st.bind_optional(8, a.resolved_at_us);
    st.bind_optional(9, a.acknowledged_at_us);
    st.bind_blob(10, a.body);
    if (auto r = run(s_.db, st, "upsert alert"); !r) return r;
  }
  return core::ok_v;
}

core::status sqlite_txn::append_outbox(std::span<const outbox_message> messages) {
  auto& st = s_.ob_insert;
  for (const auto& m : messages) {
    st.bind(1, m.topic);
    st.bind_blob(2, m.key);
    st.bind_blob(3, m.value);
    st.bind_blob(4, pack_headers(m.headers));
    if (auto r = run(s_.db, st, "append outbox"); !r) return r;
  }
  return core::ok_v;
}

core::status sqlite_txn::append_advances(std::span<const advance_row> rows) {
  auto& st = s_.adv_insert;
  for (const auto& a : rows) {
    st.bind(1, a.topic);
    st.bind(2, std::int64_t{a.partition});
    st.bind(3, a.boundary_ms);
    st.bind(4, a.offset);
    st.bind(5, a.occurred_at_us);
    st.bind(6, a.ctx_at_ms);
    st.bind(7, std::int64_t{a.temp_excess_centi});
    st.bind(8, std::int64_t{a.rum_drop_pct});
    st.bind(9, std::int64_t{a.temp_vs_recent_centi});
    st.bind(10, std::int64_t{a.rum6_drop_pct});
    st.bind(11, std::int64_t{a.animals});
    if (auto s = run(s_.db, st, "append advance"); !s) return s;
  }
  return core::ok_v;
}

core::status sqlite_txn::add_progress(std::span<const partition_progress> deltas) {
  auto& st = s_.pr_upsert;
  for (const auto& p : deltas) {
    st.bind(1, p.topic);
    st.bind(2, std::int64_t{p.partition});
    st.bind(3, p.next_offset);
    st.bind(4, static_cast<std::int64_t>(p.applied));
    st.bind(5, static_cast<std::int64_t>(p.duplicates));
    st.bind(6, static_cast<std::int64_t>(p.unknown_type));
    st.bind(7, static_cast<std::int64_t>(p.rejected));
    st.bind(8, static_cast<std::int64_t>(p.dead_lettered));
    st.bind(9, p.watermark_us);
    if (auto r = run(s_.db, st, "store progress"); !r) return r;
  }
  return core::ok_v;
}

core::status sqlite_txn::commit() {
  if (done_) return core::error::fatal("read model: commit of a finished transaction");
  const int rc = s_.commit_st.step();
  s_.commit_st.reset();
  if (rc != SQLITE_DONE) return sqlite_error(s_.db, rc, "read model: commit");  // ~ rolls back
  done_ = true;
  return core::ok_v;
}

}  // namespace herd::read_model::detail
