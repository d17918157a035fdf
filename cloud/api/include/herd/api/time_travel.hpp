#pragma once
// Event sourcing's time travel: an animal's state at a past time T, computed by replaying its
// events from the event store through the projector's fold (rules::apply), with the time-driven
// rules advanced (rules::advance) at the same 10-minute event-time boundaries the projector uses
// (cloud/projector/src/applier.cpp: after an applied collar reading moves the watermark across a
// boundary B = k * 10 min, advance to B).
//
// What it reproduces exactly: everything the fold builds from the animal's own events (latest
// readings, collars, hourly/daily windows, temperature series, alerts raised by apply()). What it
// approximates: the projector advances an animal whenever ITS PARTITION's watermark crosses a
// boundary (other animals' readings can move it first) and gives advance() the partition's herd
// context; the replay sees this animal only, so it advances on the animal's own readings plus
// once at the end (to T's boundary, not past the partition's watermark now), without a herd
// context. For an animal alone in its partition, or readings arriving in time order, the result
// is the live state at T byte for byte (tests/unit/api/time_travel_test.cpp).
#include <cstdint>
#include <string>

#include "herd/core/result.hpp"
#include "herd/read_model/queries.hpp"
#include "herd/rules/animal_state.hpp"

namespace herd::api {

struct replay_result {
  rules::animal_state state;
  std::uint64_t events = 0;    // events read from the event store (occurred_at <= T)
  std::uint64_t rejected = 0;  // rejected / unknown types (skipped, as the projector does)
};

// Replays `animal_id`'s events with occurred_at <= at_ms in event-store order. `final_advance_ms`:
// the last boundary to advance to (0 = none). Errors: the store's; permanent if more than
// `max_events` events would be replayed (a guard for the API) or a stored envelope does not parse.
core::result<replay_result> state_at(read_model::queries& q, const std::string& animal_id, std::int64_t at_ms,
                                     std::int64_t final_advance_ms, std::uint64_t max_events = 2'000'000);

}  // namespace herd::api
