#include "herd/read_model/digest.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>

namespace herd::read_model {
namespace {

constexpr std::size_t page = 1000;

// Length-prefixed fields: no two different rows serialize to the same bytes.
class canon {
 public:
  canon() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void str(const std::string& s) {
    u64(s.size());
    EVP_DigestUpdate(ctx_.get(), s.data(), s.size());
  }
  void u64(std::uint64_t v) {
    std::array<unsigned char, 8> b{};
    for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(v >> (8 * i));
    EVP_DigestUpdate(ctx_.get(), b.data(), b.size());
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    u64(bits);
  }
  template <class T>
  void opt(const std::optional<T>& v) {
    u64(v.has_value() ? 1 : 0);
    if (!v) return;
    if constexpr (std::is_floating_point_v<T>) {
      f64(*v);
    } else {
      i64(static_cast<std::int64_t>(*v));
    }
  }
  std::array<unsigned char, 32> finish() {
    std::array<unsigned char, 32> out{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), out.data(), &n);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string hex(const std::array<unsigned char, 32>& d) {
  std::string s;
  char buf[3];
  for (unsigned char c : d) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    s += buf;
  }
  return s;
}

}  // namespace

core::result<digest_report> digest(store& s) {
  digest_report report;
  canon all;
  all.str("animals");
  for (std::string after;;) {
    auto rows = s.read_animals(after, page);
    if (!rows) return rows.err();
    for (const auto& a : *rows) {
      all.str(a.animal_id);
      all.str(a.topic);
      all.i64(a.partition);
      all.str(a.state);
      all.u64(a.events_applied);
      all.i64(a.last_occurred_at_us);
      all.opt(a.body_temp_c);
      all.opt(a.activity_steps);
      all.opt(a.rumination_min);
      all.u64(a.collars.size());
      for (const auto& c : a.collars) {
        all.str(c.collar_id);
        all.i64(c.last_seq);
        all.opt(c.battery_pct);
        all.opt(c.rssi_dbm);
        all.i64(c.last_seen_us);
      }
      ++report.animals;
    }
    if (rows->size() < page) break;
    after = rows->back().animal_id;
  }
  all.str("alerts");
  for (std::string after;;) {
    auto rows = s.read_alerts(after, page);
    if (!rows) return rows.err();
    for (const auto& a : *rows) {
      all.str(a.alert_id);
      all.str(a.animal_id);
      all.str(a.kind);
      all.str(a.status);
      all.i64(a.severity);
      all.i64(a.raised_at_us);
      all.i64(a.updated_at_us);
      all.opt(a.resolved_at_us);
      all.opt(a.acknowledged_at_us);
      all.str(a.body);
      ++report.alerts;
    }
    if (rows->size() < page) break;
    after = rows->back().alert_id;
  }
  // Events: a multiset hash (lane-wise sum of per-event SHA-256), independent of append order.
  std::array<std::uint64_t, 4> lanes{};
  for (std::int64_t after = 0;;) {
    auto rows = s.read_events(after, page);
    if (!rows) return rows.err();
    for (const auto& e : *rows) {
      canon one;
      one.str(e.event_id);
      one.str(e.animal_id);
      one.str(e.event_type);
      one.i64(e.occurred_at_us);
      one.i64(e.ingested_at_us);
      one.str(e.gateway_id);
      one.u64(e.gateway_seq);
      one.str(e.envelope);
      one.str(e.topic);
      one.i64(e.partition);
      one.i64(e.offset);
      const auto d = one.finish();
      for (std::size_t l = 0; l < 4; ++l) {
        std::uint64_t v = 0;
        for (std::size_t b = 0; b < 8; ++b) v |= std::uint64_t{d[l * 8 + b]} << (8 * b);
        lanes[l] += v;
      }
      ++report.events;
    }
    if (rows->size() < page) break;
    after = rows->back().store_seq;
  }
  all.str("events");
  all.u64(report.events);
  for (auto l : lanes) all.u64(l);
  report.hex = hex(all.finish());
  return report;
}

}  // namespace herd::read_model
