// apply(): validate and route one event; the windows (state_ops.cpp) and the rules
// (engine.hpp) do the rest.
#include "herd/rules/fold.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine.hpp"
#include "herd/events/v1/collar_reading.pb.h"
#include "herd/rules/thresholds.hpp"
#include "state_ops.hpp"

namespace herd::rules {

namespace {

using google::protobuf::util::TimeUtil;
constexpr std::int64_t k_min_valid_ms = core::k_min_event_time_ms;  // 2020-01-01: README, Time

apply_result reject(std::string why) { return {apply_status::rejected, std::move(why), {}}; }

// The collar format's ranges (README, "The collar MQTT format"); outside them a value is absurd.
core::result<detail::reading> to_reading(const events::v1::EventEnvelope& e) {
  events::v1::CollarReading p;
  if (!e.has_payload() || !e.payload().Is<events::v1::CollarReading>()) {
    return core::error::permanent("collar.reading.v1 payload is not a herd.events.v1.CollarReading (type_url '" +
                                  e.payload().type_url() + "')");
  }
  if (!e.payload().UnpackTo(&p)) return core::error::permanent("collar.reading.v1 payload does not parse");
  if (!e.has_occurred_at()) return core::error::permanent("occurred_at missing");
  if (!valid_timestamp(e.occurred_at())) return core::error::permanent("occurred_at is not a valid Timestamp");
  detail::reading r;
  r.at_ms = TimeUtil::TimestampToMilliseconds(e.occurred_at());
  if (r.at_ms < k_min_valid_ms) return core::error::permanent("occurred_at before 2020-01-01");
  if (p.collar_id().empty()) return core::error::permanent("collar_id empty");
  r.collar_id = p.collar_id();
  r.seq = p.collar_seq();
  if (p.has_interval_s()) {
    if (p.interval_s() < 1 || p.interval_s() > 86'400) return core::error::permanent("interval_s " + std::to_string(p.interval_s()) + " outside 1..86400");
    r.interval_s = static_cast<std::int32_t>(p.interval_s());
  }
  if (p.has_body_temp_c()) {
    const double v = p.body_temp_c();
    if (!std::isfinite(v) || v < 25.0 || v > 45.0) return core::error::permanent("body_temp_c " + std::to_string(v) + " outside 25..45 °C");
    r.temp_centi = static_cast<std::int32_t>(std::lround(v * 100.0));
  }
  if (p.has_activity_steps()) {
    if (p.activity_steps() > 100'000) return core::error::permanent("activity_steps " + std::to_string(p.activity_steps()) + " over 100000");
    r.steps = p.activity_steps();
  }
  if (p.has_rumination_min()) {
    const double v = p.rumination_min();
    if (!r.interval_s) return core::error::permanent("rumination_min without interval_s");
    if (!std::isfinite(v) || v < 0 || v > *r.interval_s / 60.0 + 1e-9) {
      return core::error::permanent("rumination_min " + std::to_string(v) + " outside 0..interval_s/60");
    }
    r.rum_deci = static_cast<std::uint32_t>(std::lround(v * 10.0));
  }
  if (p.has_battery_pct()) {
    if (p.battery_pct() > 100) return core::error::permanent("battery_pct " + std::to_string(p.battery_pct()) + " over 100");
    r.battery_pct = static_cast<std::int32_t>(p.battery_pct());
  }
  if (p.has_rssi_dbm()) {
    if (p.rssi_dbm() < -140 || p.rssi_dbm() > 0) return core::error::permanent("rssi_dbm " + std::to_string(p.rssi_dbm()) + " outside -140..0");
    r.rssi_dbm = p.rssi_dbm();
  }
  return r;
}

}  // namespace

bool valid_timestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() >= TimeUtil::kTimestampMinSeconds && t.seconds() <= TimeUtil::kTimestampMaxSeconds &&
         t.nanos() >= 0 && t.nanos() <= 999'999'999;
}

apply_result apply(animal_state& s, const events::v1::EventEnvelope& e) {
  if (e.event_type() != k_collar_reading_v1 && e.event_type() != k_alert_acknowledged_v1) {
    return {apply_status::unknown_type, e.event_type(), {}};
  }
  if (e.aggregate_id().empty()) return reject("aggregate_id (animal) empty");
  if (!s.animal_id.empty() && s.animal_id != e.aggregate_id()) {
    return reject("event of animal " + e.aggregate_id() + " applied to the state of " + s.animal_id);
  }
  apply_result out;
  if (e.event_type() == k_alert_acknowledged_v1) {
    auto ack = detail::apply_acknowledgement(s, e);
    if (!ack) return reject(ack.err().message);
    out.alert_changes = std::move(*ack);
    return out;
  }
  auto r = to_reading(e);
  if (!r) return reject(r.err().message);
  s.animal_id = e.aggregate_id();
  const std::uint8_t flags = detail::add_reading(s, *r);
  detail::run_reading_rules(s, *r, flags, out.alert_changes);
  return out;
}

bool accepts_reading(const animal_state& s, const events::v1::EventEnvelope& e) {
  if (e.event_type() != k_collar_reading_v1 || e.aggregate_id().empty()) return false;
  if (!s.animal_id.empty() && s.animal_id != e.aggregate_id()) return false;
  return to_reading(e).ok();
}

std::int64_t watermark_ms(const events::v1::EventEnvelope& e) {
  if (!e.has_ingested_at() || !valid_timestamp(e.ingested_at()) || !valid_timestamp(e.occurred_at())) return 0;
  const std::int64_t ms = std::min(TimeUtil::TimestampToMilliseconds(e.occurred_at()),
                                   TimeUtil::TimestampToMilliseconds(e.ingested_at()) + thresholds::watermark_lead_ms);
  // A gateway that booted at 1970 and has no time yet: its readings say nothing about now. A
  // partition time before 2020 would make the next good reading advance it boundary by boundary
  // across decades.
  return ms < k_min_valid_ms ? 0 : ms;
}

watermark_move move_watermark(std::int64_t wm, const animal_state& state, const events::v1::EventEnvelope& e) {
  watermark_move out{wm, {}};
  const std::int64_t event_ms = watermark_ms(e);
  if (event_ms <= wm || !accepts_reading(state, e)) return out;
  out.watermark_ms = event_ms;
  if (wm > 0) {
    for (std::int64_t b = (wm / k_advance_step_ms + 1) * k_advance_step_ms; b <= event_ms; b += k_advance_step_ms) {
      out.boundaries_ms.push_back(b);
    }
  }
  return out;
}

std::vector<alert_change> advance(animal_state& s, std::int64_t now_ms, const herd_context& herd) {
  std::vector<alert_change> changes;
  if (now_ms <= s.advanced_ms) return changes;
  s.advanced_ms = now_ms;
  if (herd.at_ms != 0) s.herd = herd;
  detail::run_time_rules(s, now_ms, changes);
  return changes;
}

}  // namespace herd::rules
