#pragma once
// Event sourcing's time travel: an animal's state at a past time T, computed by replaying its
// events (occurred_at <= T, in event-store order = the order the projector applied them) through
// the projector's fold (rules::apply), with the time-driven rules advanced as the projector
// advanced them.
//
// Exact: the projector records every advance round of a partition (read model `advances`: the
// boundary B, the offset of the record whose reading crossed it, the herd context of the
// partition's animals it used). The replay merges the animal's events with its partition's
// rounds by offset and calls rules::advance(state, B, recorded context) before the crossing
// record, exactly as live, so the state equals the live state at T byte for byte even when the
// animal shares its partition (tests/unit/api/api_time_travel_test.cpp), provided readings
// arrived in time order (then "everything that occurred by T" is what the projector had
// applied at T; after a late batch upload the live state at T had not seen it yet, the replay has).
//
// Fallback (a read model written by a projector that does not record rounds): the animal's events
// through the projector's own applier into a private in-memory read model, as if they were the
// whole partition; exact for an animal alone in its partition, approximate otherwise (advances
// driven by partition mates and their herd context are missing); `final_advance_ms` (the
// partition's watermark at T) then advances the result once more.
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
  bool exact = false;          // replayed with the projector's recorded advance rounds
};

// Replays `animal_id`'s events with occurred_at <= at_ms. `final_advance_ms`: the last boundary to
// advance to (0 = none). Errors: the stores'; permanent if more than `max_events` events would be
// replayed (a guard for the API). Undecodable / rejected events are skipped and counted, as the
// projector does.
core::result<replay_result> state_at(read_model::queries& q, const std::string& animal_id, std::int64_t at_ms,
                                     std::int64_t final_advance_ms, std::uint64_t max_events = 2'000'000);

}  // namespace herd::api
