#pragma once
// Event sourcing's time travel: an animal's state at a past time T, computed by replaying its
// events (occurred_at <= T, in event-store order = the order the projector applied them) through
// the projector's own applier (herd/projector/applier.hpp) into a private in-memory read model:
// the same fold (rules::apply) and the same advance rounds of the time-driven rules
// (rules::advance at 10-minute event-time boundaries, with the partition's herd context), as the
// animal's events were the whole partition.
//
// Exact for an animal alone in its Kafka partition (tests/unit/api/api_time_travel_test.cpp:
// byte for byte equal to the live state recorded at T). Approximate otherwise: the projector
// advances an animal whenever ITS PARTITION's watermark crosses a boundary (other animals'
// readings can move it first) with a herd context computed over the partition's animals; the
// replay sees this animal only, so time-driven alerts and the heat-stress guard can differ at
// the edges. `final_advance_ms` (the partition's watermark at T, if known) advances the replayed
// state once more, as the partition mates would have.
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

// Replays `animal_id`'s events with occurred_at <= at_ms. `final_advance_ms`: the last boundary to
// advance to (0 = none). Errors: the stores'; permanent if more than `max_events` events would be
// replayed (a guard for the API). Undecodable / rejected events are skipped and counted, as the
// projector does.
core::result<replay_result> state_at(read_model::queries& q, const std::string& animal_id, std::int64_t at_ms,
                                     std::int64_t final_advance_ms, std::uint64_t max_events = 2'000'000);

}  // namespace herd::api
