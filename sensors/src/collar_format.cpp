#include "herd/sensors/collar_format.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "herd/core/ids.hpp"

namespace herd::sensors {

namespace {

using json = nlohmann::json;

// Reads an optional integer field within [lo, hi]. Absent -> nullopt; wrong type or range -> error.
core::result<std::optional<std::int64_t>> int_field(const json& obj, const char* name,
                                                    std::int64_t lo, std::int64_t hi) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (!it->is_number_integer()) {
    return core::error::permanent(fmt::format("field '{}' must be an integer", name));
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
    return core::error::permanent(fmt::format("field '{}' out of range {}..{}: {}", name, lo, hi,
                                              it->get<std::uint64_t>()));
  }
  const auto v = it->get<std::int64_t>();
  if (v < lo || v > hi) {
    return core::error::permanent(fmt::format("field '{}' out of range {}..{}: {}", name, lo, hi, v));
  }
  return std::optional<std::int64_t>{v};
}

core::result<std::optional<double>> number_field(const json& obj, const char* name, double lo,
                                                 double hi) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::optional<double>{};
  if (!it->is_number()) return core::error::permanent(fmt::format("field '{}' must be a number", name));
  const double v = it->get<double>();
  if (!(v >= lo && v <= hi)) {
    return core::error::permanent(fmt::format("field '{}' out of range {}..{}: {}", name, lo, hi, v));
  }
  return std::optional<double>{v};
}

}  // namespace

core::result<collar_topic> parse_collar_topic(std::string_view topic) {
  // farm/<farm_id>/collar/<collar_id>/telemetry
  std::string_view parts[6];
  std::size_t n = 0;
  std::size_t start = 0;
  while (n < 6) {
    const auto slash = topic.find('/', start);
    parts[n++] = topic.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (n != 5 || parts[0] != "farm" || parts[2] != "collar" || parts[4] != "telemetry" ||
      !core::is_valid_topic_id(parts[1]) || !core::is_valid_topic_id(parts[3])) {
    return core::error::permanent(fmt::format(
        "topic '{}' is not farm/<farm_id>/collar/<collar_id>/telemetry (ids: 1-64 of [A-Za-z0-9._:-])",
        topic.substr(0, 200)));
  }
  return collar_topic{std::string(parts[1]), std::string(parts[3])};
}

core::result<collar_reading> decode_collar_message(std::string_view topic,
                                                   std::string_view payload) {
  auto t = parse_collar_topic(topic);
  if (!t) return t.err();
  if (payload.size() > k_max_collar_payload) {
    return core::error::permanent(fmt::format("payload of {} bytes exceeds the {}-byte limit",
                                              payload.size(), k_max_collar_payload));
  }
  const json doc = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return core::error::permanent("payload is not valid JSON");
  if (!doc.is_object()) return core::error::permanent("payload is not a JSON object");

  collar_reading r;
  r.farm_id = std::move(t->farm_id);
  r.collar_id = std::move(t->collar_id);

  auto seq = int_field(doc, "seq", 0, 4294967295LL);
  if (!seq) return seq.err();
  if (!seq->has_value()) return core::error::permanent("field 'seq' is required");
  r.seq = static_cast<std::uint32_t>(**seq);

  // Up to year 9999; plausibility against the gateway clock is the event factory's job.
  auto ts = int_field(doc, "ts", 0, 253402300799999LL);
  if (!ts) return ts.err();
  if (!ts->has_value()) return core::error::permanent("field 'ts' is required (0 when the collar has no time)");
  r.ts_ms = **ts;

  auto temp = number_field(doc, "temp_c", 25.0, 45.0);
  if (!temp) return temp.err();
  r.temp_c = *temp;

  auto steps = int_field(doc, "steps", 0, 100000);
  if (!steps) return steps.err();
  if (steps->has_value()) r.steps = static_cast<std::uint32_t>(**steps);

  auto interval = int_field(doc, "interval_s", 1, 86400);
  if (!interval) return interval.err();
  if (interval->has_value()) r.interval_s = static_cast<std::uint32_t>(**interval);

  const double max_rum = r.interval_s ? *r.interval_s / 60.0 : 1440.0;
  auto rum = number_field(doc, "rum_min", 0.0, max_rum);
  if (!rum) return rum.err();
  if (rum->has_value() && !r.interval_s) {
    return core::error::permanent("field 'rum_min' needs 'interval_s' to be checked against");
  }
  r.rum_min = *rum;

  auto batt = int_field(doc, "batt_pct", 0, 100);
  if (!batt) return batt.err();
  if (batt->has_value()) r.batt_pct = static_cast<std::uint32_t>(**batt);

  auto rssi = int_field(doc, "rssi_dbm", -140, 0);
  if (!rssi) return rssi.err();
  if (rssi->has_value()) r.rssi_dbm = static_cast<std::int32_t>(**rssi);

  return r;
}

core::status validate_collar_reading(const collar_reading& r) {
  if (!core::is_valid_topic_id(r.farm_id) || !core::is_valid_topic_id(r.collar_id)) {
    return core::error::permanent("farm or collar id is not 1-64 of [A-Za-z0-9._:-]");
  }
  const auto out = [](const char* name, auto lo, auto hi, auto v) {
    return core::error::permanent(fmt::format("field '{}' out of range {}..{}: {}", name, lo, hi, v));
  };
  if (r.ts_ms < 0 || r.ts_ms > 253402300799999LL) return out("ts", 0, 253402300799999LL, r.ts_ms);
  if (r.temp_c && !(*r.temp_c >= 25.0 && *r.temp_c <= 45.0)) return out("temp_c", 25, 45, *r.temp_c);
  if (r.steps && *r.steps > 100000) return out("steps", 0, 100000, *r.steps);
  if (r.interval_s && (*r.interval_s < 1 || *r.interval_s > 86400)) {
    return out("interval_s", 1, 86400, *r.interval_s);
  }
  if (r.rum_min) {
    if (!r.interval_s) return core::error::permanent("field 'rum_min' needs 'interval_s' to be checked against");
    const double max_rum = *r.interval_s / 60.0;
    if (!(*r.rum_min >= 0 && *r.rum_min <= max_rum)) return out("rum_min", 0, max_rum, *r.rum_min);
  }
  if (r.batt_pct && *r.batt_pct > 100) return out("batt_pct", 0, 100, *r.batt_pct);
  if (r.rssi_dbm && (*r.rssi_dbm < -140 || *r.rssi_dbm > 0)) return out("rssi_dbm", -140, 0, *r.rssi_dbm);
  return core::ok_v;
}

}  // namespace herd::sensors
