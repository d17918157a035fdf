#include "records.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "herd/sensors/collar_format.hpp"

namespace herd::sensors::modbus {

namespace {

class fields {
 public:
  fields(const device& d, const register_view& v, std::uint32_t record) : d_(d), v_(v), r_(record) {}

  std::optional<double> get(const char* name) const {
    for (const auto& f : d_.registers) {
      if (f.field != name) continue;
      const auto regs = v_.at(d_, f, r_);
      if (regs.empty()) return std::nullopt;
      const decoded x = decode(f, regs);
      if (!x.present) return std::nullopt;
      return x.value;
    }
    return std::nullopt;
  }
  // A whole number within [lo, hi], or nullopt (absent) / an error message (not whole, out of range).
  std::optional<std::int64_t> integer(const char* name, std::int64_t lo, std::int64_t hi,
                                      std::string& problem) const {
    const auto v = get(name);
    if (!v) return std::nullopt;
    const double r = std::round(*v);
    // Not finite (an f32 register holding NaN or infinity): no whole number, and converting it
    // to an integer would be undefined behaviour.
    if (!std::isfinite(*v) || std::fabs(*v - r) > 1e-6 || r < static_cast<double>(lo) || r > static_cast<double>(hi)) {
      if (problem.empty()) problem = fmt::format("field '{}' must be a whole number in {}..{}, got {}", name, lo, hi, *v);
      return std::nullopt;
    }
    return static_cast<std::int64_t>(r);
  }

 private:
  const device& d_;
  const register_view& v_;
  std::uint32_t r_;
};

record_result base_station_record(const device& d, const fields& f, record_result out,
                                  const std::optional<record_key>& seen) {
  std::string problem;
  const auto number = f.integer("collar_number", 0, 4294967295LL, problem);
  if (!number || *number == 0) return out;  // an empty slot
  const auto seq = f.integer("seq", 0, 4294967295LL, problem);
  const auto ts_s = f.integer("ts_s", 0, 253402300799LL, problem);
  const auto ts_ms = f.integer("ts_ms", 0, 999, problem);
  collar_reading c;
  c.farm_id = d.farm_id;
  c.seq = static_cast<std::uint32_t>(seq.value_or(0));
  c.ts_ms = ts_s.value_or(0) * 1000 + ts_ms.value_or(0);
  out.key = {static_cast<std::uint64_t>(*number), c.seq, static_cast<std::uint64_t>(c.ts_ms)};
  if (seen && *seen == out.key) {
    out.what = record_result::kind::unchanged;
    return out;
  }
  c.collar_id = fmt::format("{}{:0{}}", d.collar_id_prefix, *number, d.collar_id_digits);
  if (!seq || !ts_s) {
    out.what = record_result::kind::rejected;
    out.reason = problem.empty() ? "slot without seq or ts" : problem;
    return out;
  }
  c.temp_c = f.get("temp_c");
  if (auto v = f.integer("steps", 0, 4294967295LL, problem)) c.steps = static_cast<std::uint32_t>(*v);
  c.rum_min = f.get("rum_min");
  if (auto v = f.integer("interval_s", 0, 4294967295LL, problem)) c.interval_s = static_cast<std::uint32_t>(*v);
  if (auto v = f.integer("batt_pct", 0, 65535, problem)) c.batt_pct = static_cast<std::uint32_t>(*v);
  if (auto v = f.integer("rssi_dbm", -2147483648LL, 2147483647LL, problem)) c.rssi_dbm = static_cast<std::int32_t>(*v);
  if (problem.empty()) {
    if (auto st = validate_collar_reading(c); !st) problem = st.err().message;
  }
  if (!problem.empty()) {
    out.what = record_result::kind::rejected;
    out.reason = fmt::format("collar {}: {}", c.collar_id, problem);
    return out;
  }
  out.what = record_result::kind::reading;
  out.value = make_reading(std::move(c), "modbus:" + d.name);
  return out;
}

record_result scale_record(const device& d, const fields& f, record_result out,
                           const std::optional<record_key>& seen) {
  std::string problem;
  if (auto shown = f.get("shown"); shown && *shown == 0) return out;
  const auto seq = f.integer("weighing_seq", 0, std::int64_t{1} << 48, problem);
  if (!seq) return out;  // nothing readable to watch
  const auto at_s = f.integer("weighed_at_s", 0, 253402300799LL, problem);
  out.key = {static_cast<std::uint64_t>(*seq), static_cast<std::uint64_t>(at_s.value_or(0)), 0};
  if (seen && *seen == out.key) {
    out.what = record_result::kind::unchanged;
    return out;
  }
  scale_weighing w;
  w.scale_id = d.name;
  w.weighing_seq = static_cast<std::uint64_t>(*seq);
  w.ts_ms = at_s.value_or(0) * 1000;
  const auto country = f.integer("rfid_country", 0, 999, problem);
  const auto national = f.integer("rfid_national", 0, 999'999'999'999LL, problem);
  const auto weight = f.get("weight_kg");
  const auto stable = f.get("stable");
  w.stable = !stable || *stable != 0;
  if (problem.empty() && (!country || *country == 0)) problem = "weighing without a tag read (RFID country code 0)";
  if (problem.empty() && !national) problem = "weighing without an RFID national id";
  // Up to 2,000 kg: a walk-over scale for cattle; above is a fault, not an animal.
  if (problem.empty() && (!weight || !(*weight > 0 && *weight <= 2000))) {
    problem = fmt::format("weight out of range 0..2000 kg: {}", weight ? *weight : 0.0);
  }
  if (!problem.empty()) {
    out.what = record_result::kind::rejected;
    out.reason = fmt::format("scale {} weighing {}: {}", d.name, *seq, problem);
    return out;
  }
  w.country_code = static_cast<std::uint32_t>(*country);
  w.national_id = static_cast<std::uint64_t>(*national);
  w.weight_kg = *weight;
  out.what = record_result::kind::reading;
  out.value = make_reading(std::move(w), "modbus:" + d.name);
  return out;
}

}  // namespace

record_result convert_record(const device& d, const register_view& v, std::uint32_t record,
                             std::int64_t received_ms, const std::optional<record_key>& seen) {
  const fields f(d, v, record);
  record_result out = d.kind == device_kind::collar_base_station ? base_station_record(d, f, {}, seen)
                                                                 : scale_record(d, f, {}, seen);
  if (out.what == record_result::kind::reading || out.what == record_result::kind::rejected) {
    out.raw.source = d.kind == device_kind::collar_base_station
                         ? fmt::format("modbus/{}/slot/{}", d.name, record)
                         : fmt::format("modbus/{}", d.name);
    out.raw.payload = v.hex_record(d, record);
    out.raw.received_ms = received_ms;
  }
  return out;
}

}  // namespace herd::sensors::modbus
