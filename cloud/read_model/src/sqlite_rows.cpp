#include "sqlite_rows.hpp"

namespace herd::read_model::detail {

using sqlite::sqlite_error;
using sqlite::statement;

std::string pack_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  auto put = [&](std::string_view s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    out.append(s);
  };
  for (const auto& [k, v] : headers) {
    put(k);
    put(v);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> unpack_headers(std::string_view in) {
  std::vector<std::pair<std::string, std::string>> out;
  auto get = [&](std::string& s) {
    if (in.size() < 4) return false;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= std::uint32_t{static_cast<unsigned char>(in[static_cast<std::size_t>(i)])} << (8 * i);
    in.remove_prefix(4);
    if (in.size() < n) return false;
    s.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  };
  for (;;) {
    std::string k, v;
    if (!get(k) || !get(v)) break;
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

stored_event event_from(const statement& st) {
  stored_event e;
  e.store_seq = st.column_int(0);
  e.event_id = st.column_text(1);
  e.animal_id = st.column_text(2);
  e.event_type = st.column_text(3);
  e.occurred_at_us = st.column_int(4);
  e.ingested_at_us = st.column_int(5);
  e.gateway_id = st.column_text(6);
  e.gateway_seq = static_cast<std::uint64_t>(st.column_int(7));
  e.envelope = st.column_blob(8);
  e.topic = st.column_text(9);
  e.partition = static_cast<std::int32_t>(st.column_int(10));
  e.offset = st.column_int(11);
  return e;
}

std::optional<double> opt_double(const statement& st, int col) {
  if (st.column_null(col)) return std::nullopt;
  return st.column_double(col);
}

core::status run(sqlite3* db, statement& st, std::string_view what) {
  const int rc = st.step();
  st.reset();
  if (rc != SQLITE_DONE) return sqlite_error(db, rc, what);
  return core::ok_v;
}

animal_row animal_from(const statement& st) {
  animal_row a;
  a.animal_id = st.column_text(0);
  a.topic = st.column_text(1);
  a.partition = static_cast<std::int32_t>(st.column_int(2));
  a.state = st.column_blob(3);
  a.events_applied = static_cast<std::uint64_t>(st.column_int(4));
  a.last_occurred_at_us = st.column_int(5);
  a.body_temp_c = opt_double(st, 6);
  a.activity_steps = opt_double(st, 7);
  a.rumination_min = opt_double(st, 8);
  return a;
}

collar_row collar_from(const statement& st) {
  collar_row c;
  c.collar_id = st.column_text(0);
  c.last_seq = st.column_int(1);
  c.battery_pct = opt_int<std::int32_t>(st, 2);
  c.rssi_dbm = opt_int<std::int32_t>(st, 3);
  c.last_seen_us = st.column_int(4);
  return c;
}

alert_row alert_from(const statement& st) {
  alert_row a;
  a.alert_id = st.column_text(0);
  a.animal_id = st.column_text(1);
  a.kind = st.column_text(2);
  a.status = st.column_text(3);
  a.severity = static_cast<std::int32_t>(st.column_int(4));
  a.raised_at_us = st.column_int(5);
  a.updated_at_us = st.column_int(6);
  a.resolved_at_us = opt_int<std::int64_t>(st, 7);
  a.acknowledged_at_us = opt_int<std::int64_t>(st, 8);
  a.body = st.column_blob(9);
  return a;
}

partition_progress progress_from(const statement& st) {
  partition_progress p;
  p.topic = st.column_text(0);
  p.partition = static_cast<std::int32_t>(st.column_int(1));
  p.next_offset = st.column_int(2);
  p.applied = static_cast<std::uint64_t>(st.column_int(3));
  p.duplicates = static_cast<std::uint64_t>(st.column_int(4));
  p.unknown_type = static_cast<std::uint64_t>(st.column_int(5));
  p.rejected = static_cast<std::uint64_t>(st.column_int(6));
  p.dead_lettered = static_cast<std::uint64_t>(st.column_int(7));
  p.watermark_us = st.column_int(8);
  return p;
}

}  // namespace herd::read_model::detail
