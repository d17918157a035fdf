// The state's bytes: "HRS" + version, then every field in a fixed order as varints (zigzag for
// signed values), strings as length + bytes, vectors as count + elements (sorted in the state,
// times delta-coded). Deterministic by construction: no maps, no floating point, no padding.
#include <limits>
#include <string>

#include "herd/rules/animal_state.hpp"

namespace herd::rules {

namespace {

constexpr char k_magic[3] = {'H', 'R', 'S'};
constexpr std::uint8_t k_version = 1;
constexpr std::uint64_t k_max_vector = 100'000;  // guards decode against absurd counts

class writer {
 public:
  void u(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void s(std::int64_t v) { u((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63)); }
  void str(const std::string& v) {
    u(v.size());
    out_ += v;
  }
  void b(bool v) { u(v ? 1 : 0); }
  std::string take() { return std::move(out_); }
  void raw(const char* p, std::size_t n) { out_.append(p, n); }

 private:
  std::string out_;
};

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::uint64_t u() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      const auto c = static_cast<std::uint8_t>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    return fail();
  }
  std::int64_t s() {
    const std::uint64_t z = u();
    return static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
  }
  template <class T>
  T num() {  // a signed or unsigned value that must fit T
    if constexpr (std::numeric_limits<T>::is_signed) {
      const std::int64_t v = s();
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) fail();
      return static_cast<T>(v);
    } else {
      const std::uint64_t v = u();
      if (v > std::numeric_limits<T>::max()) fail();
      return static_cast<T>(v);
    }
  }
  bool b() {
    const std::uint64_t v = u();
    if (v > 1) fail();
    return v == 1;
  }
  std::string str() {
    const std::uint64_t n = u();
    if (!ok_ || n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string v(in_.substr(pos_, n));
    pos_ += n;
    return v;
  }
  std::size_t count() {
    const std::uint64_t n = u();
    if (n > k_max_vector || n > in_.size() - pos_) fail();  // every element takes >= 1 byte
    return ok_ ? static_cast<std::size_t>(n) : 0;
  }
  bool magic() {
    if (in_.size() < 4 || in_.substr(0, 3) != std::string_view(k_magic, 3)) return false;
    pos_ = 3;
    return true;
  }
  std::uint64_t fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

void put(writer& w, const latest_value& v) {
  w.s(v.at_ms);
  w.s(v.value);
}
void get(reader& r, latest_value& v) {
  v.at_ms = r.s();
  v.value = r.num<std::int32_t>();
}

void put(writer& w, const alert& a) {
  w.str(a.alert_id);
  w.u(static_cast<std::uint64_t>(a.kind));
  w.u(static_cast<std::uint64_t>(a.severity));
  w.str(a.device_id);
  w.s(a.started_at_ms);
  w.s(a.updated_at_ms - a.started_at_ms);
  w.s(a.resolved_at_ms);
  w.str(a.resolution);
  w.str(a.evidence);
  w.s(a.value);
  w.s(a.reference);
  w.s(a.window_from_ms);
  w.s(a.window_to_ms);
  w.b(a.acknowledged);
  w.s(a.acknowledged_at_ms);
  w.str(a.acknowledged_by);
}
void get(reader& r, alert& a) {
  a.alert_id = r.str();
  const auto k = r.u();
  if (k < 1 || k > static_cast<std::uint64_t>(k_alert_kind_max)) r.fail();
  a.kind = static_cast<alert_kind>(k);
  const auto sev = r.u();
  if (sev < 1 || sev > 3) r.fail();
  a.severity = static_cast<alert_severity>(sev);
  a.device_id = r.str();
  a.started_at_ms = r.s();
  a.updated_at_ms = a.started_at_ms + r.s();
  a.resolved_at_ms = r.s();
  a.resolution = r.str();
  a.evidence = r.str();
  a.value = r.num<std::int32_t>();
  a.reference = r.num<std::int32_t>();
  a.window_from_ms = r.s();
  a.window_to_ms = r.s();
  a.acknowledged = r.b();
  a.acknowledged_at_ms = r.s();
  a.acknowledged_by = r.str();
}

}  // namespace

std::string encode(const animal_state& st) {
  writer w;
  w.raw(k_magic, 3);
  w.u(k_version);
  w.str(st.animal_id);
  w.s(st.newest_ms);
  w.s(st.advanced_ms);
  w.u(st.events);
  put(w, st.latest.temp_centi_c);
  put(w, st.latest.steps);
  put(w, st.latest.rum_deci_min);
  put(w, st.latest.battery_pct);
  put(w, st.latest.rssi_dbm);
  w.u(st.collars.size());
  for (const auto& c : st.collars) {
    w.str(c.collar_id);
    w.u(c.last_seq);
    w.s(c.first_seen_ms);
    w.s(c.last_seen_ms - c.first_seen_ms);
    w.s(c.interval_s);
    w.s(c.battery_pct);
    w.s(c.rssi_dbm);
    w.b(c.has_rssi);
    w.u(c.readings);
    w.s(c.lifeless_since_ms);
    w.s(c.lifeless_count);
  }
  w.u(st.hours.size());
  std::int64_t prev = 0;
  for (const auto& h : st.hours) {
    w.s(h.hour - prev);
    prev = h.hour;
    w.u(h.steps);
    w.u(h.rum_deci_min);
    w.u(h.covered_s);
    w.s(h.temp_sum_centi);
    w.u(h.temp_n);
    w.s(h.temp_max_centi);
    w.u(h.dip_n);
  }
  w.u(st.days.size());
  prev = 0;
  for (const auto& d : st.days) {
    w.s(d.day - prev);
    prev = d.day;
    w.u(d.steps);
    w.u(d.rum_deci_min);
    w.u(d.covered_s);
    w.s(d.temp_sum_centi);
    w.u(d.temp_n);
    w.s(d.temp_max_centi);
    w.u(d.dip_n);
  }
  w.u(st.temps.size());
  prev = 0;
  for (const auto& t : st.temps) {
    w.s(t.at_ms - prev);
    prev = t.at_ms;
    w.s(t.centi_c);
    w.u(t.flags);
  }
  w.u(st.alerts.size());
  for (const auto& a : st.alerts) put(w, a);
  w.s(st.herd.at_ms);
  w.s(st.herd.temp_excess_centi);
  w.s(st.herd.rum_drop_pct);
  w.s(st.herd.animals);
  w.s(st.herd.temp_vs_recent_centi);
  w.s(st.herd.rum6_drop_pct);
  w.s(st.memory.estrus_last_high_ms);
  w.s(st.memory.estrus_onset_ms);
  return w.take();
}

core::result<animal_state> decode(std::string_view bytes) {
  reader r(bytes);
  if (!r.magic()) return core::error::permanent("animal state: not an encoded state (magic)");
  if (const auto v = r.u(); v != k_version) {
    return core::error::permanent("animal state: unsupported version " + std::to_string(v));
  }
  animal_state st;
  st.animal_id = r.str();
  st.newest_ms = r.s();
  st.advanced_ms = r.s();
  st.events = r.u();
  get(r, st.latest.temp_centi_c);
  get(r, st.latest.steps);
  get(r, st.latest.rum_deci_min);
  get(r, st.latest.battery_pct);
  get(r, st.latest.rssi_dbm);
  st.collars.resize(r.count());
  for (auto& c : st.collars) {
    c.collar_id = r.str();
    c.last_seq = r.num<std::uint32_t>();
    c.first_seen_ms = r.s();
    c.last_seen_ms = c.first_seen_ms + r.s();
    c.interval_s = r.num<std::int32_t>();
    c.battery_pct = r.num<std::int32_t>();
    c.rssi_dbm = r.num<std::int32_t>();
    c.has_rssi = r.b();
    c.readings = r.u();
    c.lifeless_since_ms = r.s();
    c.lifeless_count = r.num<std::int32_t>();
  }
  st.hours.resize(r.count());
  std::int64_t prev = 0;
  for (auto& h : st.hours) {
    h.hour = prev + r.s();
    prev = h.hour;
    h.steps = r.num<std::uint32_t>();
    h.rum_deci_min = r.num<std::uint32_t>();
    h.covered_s = r.num<std::uint32_t>();
    h.temp_sum_centi = r.num<std::int32_t>();
    h.temp_n = r.num<std::uint16_t>();
    h.temp_max_centi = r.num<std::int16_t>();
    h.dip_n = r.num<std::uint16_t>();
  }
  st.days.resize(r.count());
  prev = 0;
  for (auto& d : st.days) {
    d.day = prev + r.s();
    prev = d.day;
    d.steps = r.num<std::uint32_t>();
    d.rum_deci_min = r.num<std::uint32_t>();
    d.covered_s = r.num<std::uint32_t>();
    d.temp_sum_centi = r.s();
    d.temp_n = r.num<std::uint32_t>();
    d.temp_max_centi = r.num<std::int16_t>();
    d.dip_n = r.num<std::uint32_t>();
  }
  st.temps.resize(r.count());
  prev = 0;
  for (auto& t : st.temps) {
    t.at_ms = prev + r.s();
    prev = t.at_ms;
    t.centi_c = r.num<std::int16_t>();
    t.flags = r.num<std::uint8_t>();
  }
  st.alerts.resize(r.count());
  for (auto& a : st.alerts) get(r, a);
  st.herd.at_ms = r.s();
  st.herd.temp_excess_centi = r.num<std::int32_t>();
  st.herd.rum_drop_pct = r.num<std::int32_t>();
  st.herd.animals = r.num<std::int32_t>();
  st.herd.temp_vs_recent_centi = r.num<std::int32_t>();
  st.herd.rum6_drop_pct = r.num<std::int32_t>();
  st.memory.estrus_last_high_ms = r.s();
  st.memory.estrus_onset_ms = r.s();
  if (!r.ok()) return core::error::permanent("animal state: truncated or corrupt bytes");
  if (!r.at_end()) return core::error::permanent("animal state: trailing bytes");
  return st;
}

}  // namespace herd::rules
