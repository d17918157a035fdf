// The adapter from the collar simulator to the base station: the only file that reads herd::sim
// output. It decodes the collar format (README, "The collar MQTT format") on its own, as a base
// station's firmware would, rather than with the gateway's decoder.
#include "herd/sim_modbus/collar_feed.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <utility>

namespace herd::sim_modbus {

namespace {

// "farm/<farm>/collar/C-00042/telemetry" -> 42
std::optional<std::uint32_t> collar_number(std::string_view topic) {
  constexpr std::string_view k_marker = "/collar/C-";
  const auto at = topic.find(k_marker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = topic.substr(at + k_marker.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash > 9) return std::nullopt;
  std::uint32_t n = 0;
  for (const char c : rest.substr(0, slash)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return n;
}

template <class T>
std::optional<T> integer(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(v);
  }
  const auto v = it->get<std::int64_t>();
  if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
      (v > 0 && static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))) {
    return std::nullopt;
  }
  return static_cast<T>(v);
}

// A decimal figure in fixed point: 38.62 with scale 100 -> 3862.
std::optional<std::int64_t> fixed(const nlohmann::json& j, const char* key, double scale) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>() * scale;
  if (!std::isfinite(v) || std::fabs(v) > 1e9) return std::nullopt;
  return std::llround(v);
}

}  // namespace

std::optional<collar_frame> decode_frame(std::string_view topic, std::string_view payload) {
  const auto number = collar_number(topic);
  if (!number) return std::nullopt;
  const auto j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto seq = integer<std::uint32_t>(j, "seq");
  const auto ts = integer<std::int64_t>(j, "ts");
  if (!seq || !ts || *ts < 0) return std::nullopt;
  collar_frame f;
  f.collar_number = *number;
  f.seq = *seq;
  f.ts_ms = *ts;
  if (auto t = fixed(j, "temp_c", 100); t && *t > -32768 && *t < 32768) {
    f.temp_centi_c = static_cast<std::int32_t>(*t);
  }
  f.steps = integer<std::uint32_t>(j, "steps");
  if (auto r = fixed(j, "rum_min", 10); r && *r >= 0 && *r < 65535) {
    f.rum_deci_min = static_cast<std::uint32_t>(*r);
  }
  f.interval_s = integer<std::uint32_t>(j, "interval_s");
  f.batt_pct = integer<std::uint32_t>(j, "batt_pct");
  f.rssi_dbm = integer<std::int32_t>(j, "rssi_dbm");
  return f;
}

collar_feed::collar_feed(sim::fleet_options opts) {
  opts.ts = sim::ts_mode::sim;
  auto f = std::make_shared<sim::fleet>(std::move(opts));
  next_ = [f]() -> std::optional<sim::message> { return f->next(); };
}

collar_feed::collar_feed(source next) : next_(std::move(next)) {}

std::uint64_t collar_feed::advance_to(std::int64_t now_ms, base_station& station) {
  std::uint64_t fed = 0;
  // A bound per call keeps a source that never gets ahead of now (all ts 0) from looping forever.
  const std::uint64_t limit = 100'000'000;
  while (fed < limit) {
    if (!pending_) {
      pending_ = next_();
      if (!pending_) break;  // the source has ended
      ++generated_;
    }
    // Due when the collar sends it: its ts (a source that knows better, such as a herd with
    // offline spells and batch uploads, is the place to change this).
    const auto frame = decode_frame(pending_->topic, pending_->payload);
    if (frame && frame->ts_ms > now_ms) break;  // not yet sent in virtual time
    if (frame) {
      station.receive(*frame);
    } else {
      station.reject();
    }
    pending_.reset();
    ++fed;
  }
  station.advance_to(now_ms);
  return fed;
}

}  // namespace herd::sim_modbus
