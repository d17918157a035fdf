#include "herd/projector/decode.hpp"

#include <fmt/format.h>

#include "herd/core/time_format.hpp"
#include "herd/rules/fold.hpp"

namespace herd::projector {

namespace {
constexpr std::size_t k_max_id_bytes = 256;
}

std::int64_t to_us(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000 + t.nanos() / 1000;
}

core::result<decoded_record> decode_record(const record& r) {
  decoded_record d;
  if (r.value.empty()) return core::error::permanent("empty record value (not an EventEnvelope)");
  if (!d.envelope.ParseFromString(r.value)) {
    return core::error::permanent("value is not a protobuf herd.events.v1.EventEnvelope");
  }
  const auto& e = d.envelope;
  // Converting a time outside protobuf's Timestamp range is undefined behaviour: refuse it here.
  if (!rules::valid_timestamp(e.occurred_at())) return core::error::permanent("envelope occurred_at is not a valid Timestamp");
  if (!rules::valid_timestamp(e.ingested_at())) return core::error::permanent("envelope ingested_at is not a valid Timestamp");
  for (const auto& [name, v] : {std::pair{"event_id", &e.event_id()}, std::pair{"event_type", &e.event_type()},
                                std::pair{"aggregate_id", &e.aggregate_id()}}) {
    if (v->empty()) return core::error::permanent(std::string("envelope without ") + name);
    if (v->size() > k_max_id_bytes) {
      return core::error::permanent(std::string("envelope ") + name + " longer than 256 bytes");
    }
  }
  auto& s = d.stored;
  s.event_id = e.event_id();
  s.animal_id = e.aggregate_id();
  s.event_type = e.event_type();
  s.occurred_at_us = to_us(e.occurred_at());
  s.ingested_at_us = to_us(e.ingested_at());
  s.gateway_id = e.gateway_id();
  s.gateway_seq = e.gateway_seq();
  s.envelope = r.value;
  s.topic = r.topic;
  s.partition = r.partition;
  s.offset = r.offset;
  return d;
}

std::optional<std::string> future_dated(const events::v1::EventEnvelope& e, std::int64_t now_ms,
                                        std::string_view judge) {
  // decode_record checked the Timestamp's range: this cannot overflow (year 9999 is ~2.5e14 ms).
  const std::int64_t ingested_ms = to_us(e.ingested_at()) / 1000;
  if (ingested_ms - now_ms <= core::k_max_clock_lead_ms) return std::nullopt;
  return fmt::format("envelope ingested_at {} is {:.0f} s ahead of {} ({}), more than {} s: "
                     "the producer's clock is wrong",
                     core::iso8601_utc_ms(ingested_ms), static_cast<double>(ingested_ms - now_ms) / 1000.0, judge,
                     core::iso8601_utc_ms(now_ms), core::k_max_clock_lead_ms / 1000);
}

}  // namespace herd::projector
