#include "herd/api/icar.hpp"

#include "views.hpp"

namespace herd::api {

namespace {

struct kind_map {
  const char* kind;
  const char* category;
  std::vector<const char*> causes;
};

const kind_map* find_kind(const std::string& kind) {
  static const std::vector<kind_map> k{
      {"fever", "Health", {"AnimalTemperature"}},
      {"estrus", "Behaviour", {"Activity"}},
      {"rumination_drop", "Health", {"LowerRumination", "EatingLess"}},
      {"lameness", "Health", {"Lameness", "Inactivity"}},
      {"calving", "Health", {"Parturition"}},
      {"device_offline", "Other", {"Other"}},
      {"collar_fallen_off", "Other", {"Other"}},
      {"low_battery", "Other", {"Other"}},
  };
  for (const auto& m : k) {
    if (kind == m.kind) return &m;
  }
  return nullptr;
}

const char* diagnosis_severity(std::int32_t s) {
  return s >= 3 ? "Severe" : s == 2 ? "Moderate" : "Light";
}

json body_of(const read_model::alert_row& a) {
  json b = json::parse(a.body, nullptr, false);
  return b.is_object() ? b : json::object();
}

json core_fields(const read_model::alert_row& a, const std::string& scheme, const char* resource_type) {
  json j;
  j["resourceType"] = resource_type;
  j["id"] = a.alert_id;
  j["animal"] = {{"id", a.animal_id}, {"scheme", scheme}};
  j["eventDateTime"] = rfc3339_us(a.raised_at_us);
  return j;
}

}  // namespace

std::string icar_priority(std::int32_t severity) {
  return severity >= 3 ? "Critical" : severity == 2 ? "Urgent" : "Informational";
}

std::int32_t severity_from_priority(const std::string& p) {
  if (p == "Informational") return 1;
  if (p == "Urgent" || p == "Normal") return 2;
  if (p == "Critical") return 3;
  return severity_from(p);
}

nlohmann::ordered_json icar_attention_event(const read_model::alert_row& a, const std::string& scheme) {
  json j = core_fields(a, scheme, "icarAttentionEventResource");
  const json body = body_of(a);
  if (body.contains("evidence") && body["evidence"].is_string()) j["remark"] = body["evidence"];
  if (a.resolved_at_us) j["alertEndDateTime"] = rfc3339_us(*a.resolved_at_us);
  const kind_map* m = find_kind(a.kind);
  j["category"] = m ? m->category : "Other";
  json causes = json::array();
  if (m) {
    for (const char* c : m->causes) causes.push_back(c);
  } else {
    causes.push_back("Undefined");
  }
  j["causes"] = std::move(causes);
  j["priority"] = icar_priority(a.severity);
  j["severity"] = diagnosis_severity(a.severity);
  j["deviceAttentionScore"] = a.severity;
  if (body.contains("device_id") && body["device_id"].is_string()) {
    j["device"] = {{"identifier", {{"id", body["device_id"]}, {"scheme", "org.herdgate.device"}}},
                   {"serial", body["device_id"]}};
  }
  return j;
}

nlohmann::ordered_json icar_heat_event(const read_model::alert_row& a, const std::string& scheme) {
  json j = core_fields(a, scheme, "icarReproHeatEventResource");
  const json body = body_of(a);
  if (body.contains("evidence") && body["evidence"].is_string()) j["remark"] = body["evidence"];
  j["heatDetectionMethod"] = "Collar";
  j["certainty"] = a.severity >= 2 ? "InHeat" : "Suspect";
  j["commencementDateTime"] = rfc3339_us(a.raised_at_us);
  const std::int64_t from = body.value("window_from_ms", std::int64_t{0});
  const std::int64_t to = body.value("window_to_ms", std::int64_t{0});
  if (a.resolved_at_us) j["expirationDateTime"] = rfc3339_us(*a.resolved_at_us);
  else if (to > 0) j["expirationDateTime"] = rfc3339_ms(to);
  if (from > 0) {
    json w{{"startDateTime", rfc3339_ms(from)}, {"windowName", "AI"}};
    if (to > 0) w["endDateTime"] = rfc3339_ms(to);
    j["optimumInseminationWindow"] = json::array({std::move(w)});
  }
  return j;
}

}  // namespace herd::api
