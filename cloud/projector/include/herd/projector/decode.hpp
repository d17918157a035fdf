#pragma once
// Kafka record -> envelope + event-store row. A record that fails here is undecodable (a dead
// letter): not a protobuf EventEnvelope, or without the fields the event store keys on.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "herd/core/result.hpp"
#include "herd/events/v1/envelope.pb.h"
#include "herd/projector/applier.hpp"
#include "herd/read_model/rows.hpp"

namespace herd::projector {

struct decoded_record {
  herd::events::v1::EventEnvelope envelope;
  read_model::stored_event stored;
};

// Errors: permanent, with the reason (goes into the dead letter's header). Checks: the value
// parses as an EventEnvelope; event_id, event_type and aggregate_id are set (each at most 256
// bytes); occurred_at and ingested_at (unset is 0) are valid protobuf Timestamps
// (rules::valid_timestamp: converting one outside that range is undefined behaviour); the rest
// (payload, how plausible a time is, ranges) is the fold's to judge.
core::result<decoded_record> decode_record(const record& r);

// Why an envelope decode_record() accepted (its Timestamps are valid) is future-dated, or
// nullopt: its ingested_at (the gateway's clock when it took the event; unset counts as 0) is
// more than core::k_max_clock_lead_ms (5 min, the contract's tolerance for a time ahead of a
// clock, which the gateway applies to a collar's ts) after `now_ms` (ms since the Unix epoch),
// the time of the clock `judge` names (for the reason). Such a producer's clock is wrong: the
// reason names both times and the difference. Pure; thread: any.
std::optional<std::string> future_dated(const herd::events::v1::EventEnvelope& e, std::int64_t now_ms,
                                        std::string_view judge);

// google.protobuf.Timestamp -> µs since the epoch (0 when unset).
std::int64_t to_us(const google::protobuf::Timestamp& t);

}  // namespace herd::projector
