#include "herd/api/time_travel.hpp"

#include "herd/events/v1/envelope.pb.h"
#include "herd/rules/fold.hpp"

namespace herd::api {

namespace {
// The projector's advance step (cloud/projector/include/herd/projector/applier.hpp,
// k_advance_step_ms): kept equal by the time-travel test.
constexpr std::int64_t k_step_ms = 10 * 60 * 1000;
constexpr std::size_t k_page = 5000;
}  // namespace

core::result<replay_result> state_at(read_model::queries& q, const std::string& animal_id, std::int64_t at_ms,
                                     std::int64_t final_advance_ms, std::uint64_t max_events) {
  replay_result out;
  std::int64_t wm = 0;
  std::int64_t after = 0;
  const std::int64_t to_us = at_ms * 1000 + 1;  // occurred_at <= T
  for (;;) {
    auto page = q.animal_events(animal_id, std::numeric_limits<std::int64_t>::min(), to_us, after, k_page);
    if (!page) return page.err();
    for (const auto& e : *page) {
      after = e.store_seq;
      if (++out.events > max_events) {
        return core::error::permanent("more than " + std::to_string(max_events) + " events to replay");
      }
      events::v1::EventEnvelope env;
      if (!env.ParseFromString(e.envelope)) {
        ++out.rejected;  // the projector dead-lettered it: never folded
        continue;
      }
      auto res = rules::apply(out.state, env);
      if (res.status != rules::apply_status::applied) {
        ++out.rejected;
        continue;
      }
      if (env.event_type() == rules::k_collar_reading_v1) {
        const std::int64_t occurred_ms = e.occurred_at_us / 1000;
        if (occurred_ms > wm) {
          const std::int64_t old = wm;
          wm = occurred_ms;
          if (old > 0 && occurred_ms / k_step_ms > old / k_step_ms) {
            rules::advance(out.state, occurred_ms / k_step_ms * k_step_ms);
          }
        }
      }
    }
    if (page->size() < k_page) break;
  }
  if (final_advance_ms > 0 && wm > 0) {
    const std::int64_t b = final_advance_ms / k_step_ms * k_step_ms;
    if (b > out.state.advanced_ms) rules::advance(out.state, b);
  }
  return out;
}

}  // namespace herd::api
