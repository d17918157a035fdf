#include "pg_rows.hpp"

#include <cstdint>

namespace herd::read_model::pg_detail {

std::vector<stored_event> events_from(const pg::result& r) {
  std::vector<stored_event> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    stored_event e;
    e.store_seq = r.int64(i, 0);
    e.event_id = r.string(i, 1);
    e.animal_id = r.string(i, 2);
    e.event_type = r.string(i, 3);
    e.occurred_at_us = r.int64(i, 4);
    e.ingested_at_us = r.int64(i, 5);
    e.gateway_id = r.string(i, 6);
    e.gateway_seq = static_cast<std::uint64_t>(r.int64(i, 7));
    e.envelope = r.string(i, 8);
    e.topic = r.string(i, 9);
    e.partition = static_cast<std::int32_t>(r.int64(i, 10));
    e.offset = r.int64(i, 11);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<animal_row> animals_from(const pg::result& r) {
  std::vector<animal_row> out;
  for (int i = 0; i < r.rows(); ++i) {
    if (out.empty() || out.back().animal_id != r.bytes(i, 0)) {
      animal_row a;
      a.animal_id = r.string(i, 0);
      a.topic = r.string(i, 1);
      a.partition = static_cast<std::int32_t>(r.int64(i, 2));
      a.state = r.string(i, 3);
      a.events_applied = static_cast<std::uint64_t>(r.int64(i, 4));
      a.last_occurred_at_us = r.int64(i, 5);
      a.body_temp_c = r.opt_float8(i, 6);
      a.activity_steps = r.opt_float8(i, 7);
      a.rumination_min = r.opt_float8(i, 8);
      out.push_back(std::move(a));
    }
    if (r.is_null(i, 9)) continue;  // an animal without collars (LEFT JOIN)
    collar_row c;
    c.collar_id = r.string(i, 9);
    c.last_seq = r.int64(i, 10);
    if (auto b = r.opt_int64(i, 11)) c.battery_pct = static_cast<std::int32_t>(*b);
    if (auto s = r.opt_int64(i, 12)) c.rssi_dbm = static_cast<std::int32_t>(*s);
    c.last_seen_us = r.int64(i, 13);
    out.back().collars.push_back(std::move(c));
  }
  return out;
}

std::vector<alert_row> alerts_from(const pg::result& r) {
  std::vector<alert_row> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    alert_row a;
    a.alert_id = r.string(i, 0);
    a.animal_id = r.string(i, 1);
    a.kind = r.string(i, 2);
    a.status = r.string(i, 3);
    a.severity = static_cast<std::int32_t>(r.int64(i, 4));
    a.raised_at_us = r.int64(i, 5);
    a.updated_at_us = r.int64(i, 6);
    a.resolved_at_us = r.opt_int64(i, 7);
    a.acknowledged_at_us = r.opt_int64(i, 8);
    a.body = r.string(i, 9);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<outbox_message> outbox_from(const pg::result& r) {
  std::vector<outbox_message> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    outbox_message m;
    m.seq = r.int64(i, 0);
    m.topic = r.string(i, 1);
    m.key = r.string(i, 2);
    m.value = r.string(i, 3);
    m.headers = decode_headers(r.bytes(i, 4));
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<partition_progress> progress_from(const pg::result& r) {
  std::vector<partition_progress> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    partition_progress p;
    p.topic = r.string(i, 0);
    p.partition = static_cast<std::int32_t>(r.int64(i, 1));
    p.next_offset = r.int64(i, 2);
    p.watermark_us = r.int64(i, 3);
    p.applied = static_cast<std::uint64_t>(r.int64(i, 4));
    p.duplicates = static_cast<std::uint64_t>(r.int64(i, 5));
    p.unknown_type = static_cast<std::uint64_t>(r.int64(i, 6));
    p.rejected = static_cast<std::uint64_t>(r.int64(i, 7));
    p.dead_lettered = static_cast<std::uint64_t>(r.int64(i, 8));
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

void put_u32(std::string& out, std::size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
}

bool get_u32(std::string_view& in, std::size_t& n) {
  if (in.size() < 4) return false;
  n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  in.remove_prefix(4);
  return n <= in.size();
}

}  // namespace

std::string encode_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  for (const auto& [k, v] : headers) {
    put_u32(out, k.size());
    out += k;
    put_u32(out, v.size());
    out += v;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> decode_headers(std::string_view in) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t n = 0;
  while (!in.empty()) {
    if (!get_u32(in, n)) break;
    std::string key(in.substr(0, n));
    in.remove_prefix(n);
    if (!get_u32(in, n)) break;
    out.emplace_back(std::move(key), std::string(in.substr(0, n)));
    in.remove_prefix(n);
  }
  return out;
}

core::status check_text(std::string_view value, std::string_view field, std::string_view what) {
  if (value.find('\0') == std::string_view::npos) return core::ok_v;
  return core::error::permanent("postgresql: " + std::string(field) + " of " + std::string(what) +
                                " contains a NUL byte (PostgreSQL text cannot store it)");
}

}  // namespace herd::read_model::pg_detail
