#include "engine.hpp"

namespace herd::rules::detail {

void run_reading_rules(animal_state&, const reading&, std::uint8_t, std::vector<alert_change>&) {}
void run_time_rules(animal_state&, std::int64_t, std::vector<alert_change>&) {}
core::result<std::vector<alert_change>> apply_acknowledgement(animal_state&, const events::v1::EventEnvelope&) {
  return core::error::permanent("alert.acknowledged.v1 not supported yet");
}

}  // namespace herd::rules::detail
