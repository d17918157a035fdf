#pragma once
// The pure fold over an animal's events: (state, event) -> state, plus the alert lifecycle
// changes the event caused. No I/O, no clock, no randomness: the same events in the same order
// give the same state, byte for byte (encode()), and the same alert changes. Used alike by the
// projector (incremental apply and rebuild), herd-eval and, later, the gateway.
#include <cstdint>
#include <string>
#include <vector>

#include "herd/events/v1/envelope.pb.h"
#include "herd/rules/alert.hpp"
#include "herd/rules/animal_state.hpp"

namespace herd::rules {

inline constexpr const char* k_collar_reading_v1 = "collar.reading.v1";
inline constexpr const char* k_alert_acknowledged_v1 = "alert.acknowledged.v1";

enum class apply_status {
  applied,       // the state took the event (it may also have changed nothing visible)
  unknown_type,  // event_type not known to this version: state unchanged; keep it for later
  rejected,      // a poison pill: cannot be decoded or has absurd values; state unchanged
};

struct apply_result {
  apply_status status = apply_status::applied;
  std::string reason;                       // rejected: why; unknown_type: the type
  std::vector<alert_change> alert_changes;  // lifecycle changes this event caused, in order
};

// True iff `t` is in the range protobuf's Timestamp defines (0001-01-01 .. 9999-12-31, nanos
// 0 .. 999,999,999). Outside it, TimeUtil's conversions are undefined behaviour (signed
// overflow), so every time from an event is checked with this before it is converted. Pure.
bool valid_timestamp(const google::protobuf::Timestamp& t);

// Applies one event to the animal's state. Duplicates must be filtered before (event store).
// Out-of-order events (older occurred_at) go into the windows they belong to. Rejected when:
// the payload is not the message event_type names, aggregate_id is empty or differs from the
// state's animal, occurred_at is missing, not a valid Timestamp or before 2020, or a value is
// outside the collar format's ranges (README: temp 25-45 °C, steps <= 100,000, rumination <=
// interval, interval 1-86,400 s, battery 0-100 %, RSSI -140-0 dBm); an acknowledgement without
// alert_id or whose acknowledged_at (occurred_at when absent) is not a valid Timestamp. A
// rejected or unknown event leaves `state` exactly as it was. Thread: any; the state is the
// caller's.
apply_result apply(animal_state& state, const herd::events::v1::EventEnvelope& event);

// True iff apply(state, event) would take `event` as a collar reading (event_type
// collar.reading.v1, the animal matches, the payload is valid): what a projector checks before a
// reading may move its partition's watermark. Pure; thread: any.
bool accepts_reading(const animal_state& state, const herd::events::v1::EventEnvelope& event);

// The event time, in ms since the Unix epoch, that an accepted reading moves its partition's
// watermark to: occurred_at, but never more than thresholds::watermark_lead_ms past ingested_at
// (the gateway's clock when it took the reading). A reading stamped further ahead (a collar
// clock gone wrong behind a gateway without time sync, or another producer) still applies to its
// own animal; it must not advance every other animal of the partition into the future, where
// their collars would all look offline and the time-driven rules would wait for real time to
// catch up. 0 (moves nothing) when ingested_at is missing, either time is not a valid
// Timestamp, or the result is before 2020-01-01 (a gateway clock that was never set). Pure;
// thread: any.
std::int64_t watermark_ms(const herd::events::v1::EventEnvelope& event);

// Event time between two advance() rounds of a partition, in ms (README, "Alerts": the
// time-driven rules run at every 10-minute boundary of the partition's watermark).
inline constexpr std::int64_t k_advance_step_ms = 10 * 60 * 1000;

// What applying `event` to an animal whose state is `state` does to its partition's watermark
// (`watermark_ms`, ms since the Unix epoch; 0 = the partition has no time yet).
struct watermark_move {
  std::int64_t watermark_ms = 0;             // the partition's watermark after the event
  std::vector<std::int64_t> boundaries_ms;  // k_advance_step_ms boundaries crossed, ascending
};

// The one rule for partition time, shared by the projector and herd-eval: an event accepts_reading()
// takes moves the watermark to watermark_ms(event) if that is newer, and every boundary b with
// old < b <= new is crossed: the caller advances the partition's animals to each b, in order,
// BEFORE it applies the event. A partition's first time (old 0) crosses nothing. Any other event
// leaves the watermark as it was. Pure; thread: any.
watermark_move move_watermark(std::int64_t watermark_ms, const animal_state& state,
                              const herd::events::v1::EventEnvelope& event);

// Moves the animal's event time to `now_ms` for the time-driven rules (device offline: no
// reading for longer than the expected intervals; time-outs of heat and calving alerts) and
// returns the alert changes. `now_ms` is event time, not a wall clock: the projector passes a
// watermark derived from the event log (README, "Alerts": per partition, at every 10-minute
// boundary the partition's newest occurred_at crosses), so a rebuild makes the same calls and
// gets the same alerts. `herd` (herd_context.hpp) is stored in the state when given (at_ms != 0)
// for the rules to compare with. A `now_ms` not newer than the last one changes nothing.
std::vector<alert_change> advance(animal_state& state, std::int64_t now_ms, const herd_context& herd = {});

}  // namespace herd::rules
