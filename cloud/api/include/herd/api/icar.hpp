#pragma once
// Alerts as ICAR Animal Data Exchange resources (../shared/icar-ade/, ADE 1.4 work, Apache 2.0;
// DESIGN.md "Speaking the farm's language"). Mapping (README, "ICAR ADE endpoints"):
//   id = alert_id; animal = {"id": animal_id, "scheme": api.animal_scheme};
//   eventDateTime = raised_at; alertEndDateTime = resolved_at (only when resolved);
//   category / causes per kind:
//     fever            Health     [AnimalTemperature]
//     estrus           Behaviour  [Activity]
//     rumination_drop  Health     [LowerRumination, EatingLess]
//     lameness         Health     [Lameness, Inactivity]
//     calving          Health     [Parturition]
//     device_offline, collar_fallen_off, low_battery   Other [Other] (+ device = the collar)
//   priority: severity info -> Informational, warning -> Urgent, critical -> Critical;
//   severity (icarDiagnosisSeverityType): Light / Moderate / Severe;
//   deviceAttentionScore: the severity as 1, 2, 3 (herdgate's own scale, stated here);
//   remark: the rule's evidence text.
// Heat (estrus) alerts also as icarReproHeatEventResource: heatDetectionMethod "Collar",
//   certainty InHeat (warning/critical) or Suspect (info), commencementDateTime = raised_at,
//   expirationDateTime = resolved_at or else the end of the insemination window,
//   optimumInseminationWindow = [{startDateTime, endDateTime, windowName: "AI"}] from the rule.
#include <string>

#include <nlohmann/json.hpp>

#include "herd/read_model/rows.hpp"

namespace herd::api {

nlohmann::ordered_json icar_attention_event(const read_model::alert_row& a, const std::string& scheme);
nlohmann::ordered_json icar_heat_event(const read_model::alert_row& a, const std::string& scheme);
// The ICAR priority name for a severity 1..3 ("Informational", "Urgent", "Critical"), and back
// (also accepts herdgate's names and numbers); 0 = not recognised.
std::string icar_priority(std::int32_t severity);
std::int32_t severity_from_priority(const std::string& p);

}  // namespace herd::api
