// The ICAR ADE endpoints, every response body validated against the published JSON schemas
// (tests/data/icar-ade/, unchanged from adewg/ICAR) by Debian's python3-jsonschema.
#include <cstdlib>
#include <fstream>

#include "api_fixture.hpp"
#include "herd/projector/state_rows.hpp"
#include "herd/rules/alert.hpp"

using herd::api_test::api_fixture;
using nlohmann::json;

namespace {

// Runs the validator on `files`; returns its exit status (0 = every member valid).
int validate(const std::string& resource, const std::vector<std::string>& files) {
  std::string cmd = "/usr/bin/python3 " HERD_SOURCE_DIR "/tests/support/icar_validate.py " HERD_SOURCE_DIR
                    "/tests/data/icar-ade " + resource;
  for (const auto& f : files) cmd += " '" + f + "'";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string save(api_fixture& f, const std::string& name, const std::string& body) {
  const std::string path = (f.dir / name).string();
  std::ofstream(path) << body;
  return path;
}

// A detected heat and a resolved fever, written as the projector writes alert rows
// (projector::to_row), so every field of the mapping is exercised.
void add_heat_and_resolved(api_fixture& f) {
  herd::rules::alert heat;
  heat.alert_id = "DE01000:estrus:20260603T041000Z";
  heat.kind = herd::rules::alert_kind::estrus;
  heat.severity = herd::rules::alert_severity::warning;
  heat.started_at_ms = f.data.end_ms - 6 * 3'600'000;
  heat.updated_at_ms = f.data.end_ms - 3'600'000;
  heat.evidence = "activity 2.4x own baseline over 2 h";
  heat.value = 240;
  heat.window_from_ms = f.data.end_ms + 6 * 3'600'000;
  heat.window_to_ms = f.data.end_ms + 18 * 3'600'000;
  herd::rules::alert fever;
  fever.alert_id = "DE01004:fever:20260602T101000Z";
  fever.kind = herd::rules::alert_kind::fever;
  fever.severity = herd::rules::alert_severity::critical;
  fever.started_at_ms = f.data.end_ms - 20 * 3'600'000;
  fever.updated_at_ms = f.data.end_ms - 10 * 3'600'000;
  fever.resolved_at_ms = f.data.end_ms - 10 * 3'600'000;
  fever.resolution = "cleared";
  fever.evidence = "40.9 °C";
  std::vector<herd::read_model::alert_row> rows = {herd::projector::to_row("DE01000", heat),
                                                   herd::projector::to_row("DE01004", fever)};
  auto t = f.store->begin();
  REQUIRE(t.ok());
  REQUIRE((*t)->upsert_alerts(rows).ok());
  REQUIRE((*t)->commit().ok());
}

}  // namespace

TEST_CASE("api: ICAR attention and heat events validate against the ADE schemas") {
  api_fixture f;
  add_heat_and_resolved(f);

  auto att = f.call("GET", "/icar/v1/attention-events");
  REQUIRE(att.status == 200);
  const json a = json::parse(att.body);
  // Active and recently resolved alerts, each kind mapped.
  std::map<std::string, json> by_id;
  for (const auto& m : a["member"]) by_id[m["id"].get<std::string>()] = m;
  REQUIRE(by_id.count("DE01004:fever:20260602T101000Z"));
  const json& resolved = by_id["DE01004:fever:20260602T101000Z"];
  CHECK(resolved["category"] == "Health");
  CHECK(resolved["causes"] == json::array({"AnimalTemperature"}));
  CHECK(resolved["priority"] == "Critical");
  CHECK(resolved["alertEndDateTime"].is_string());
  CHECK(resolved["animal"] == json({{"id", "DE01004"}, {"scheme", "org.herdgate.animal"}}));
  bool battery = false;
  for (const auto& m : a["member"]) {
    if (m["animal"]["id"] == "DE01001" && m["causes"] == json::array({"Other"})) {
      battery = m["device"]["serial"] == "C101";
    }
  }
  CHECK(battery);
  auto active = f.call("GET", "/icar/v1/attention-events?status=active&priority=warning");
  REQUIRE(active.status == 200);
  const json active_events = json::parse(active.body);
  for (const auto& m : active_events["member"]) CHECK(!m.contains("alertEndDateTime"));

  auto heats = f.call("GET", "/icar/v1/heat-events");
  REQUIRE(heats.status == 200);
  const json h = json::parse(heats.body);
  REQUIRE(h["member"].size() == 1);
  CHECK(h["member"][0]["heatDetectionMethod"] == "Collar");
  CHECK(h["member"][0]["certainty"] == "InHeat");
  CHECK(h["member"][0]["optimumInseminationWindow"][0]["windowName"] == "AI");

  CHECK(validate("icarAttentionEventResource",
                 {save(f, "attention.json", att.body), save(f, "active.json", active.body)}) == 0);
  CHECK(validate("icarReproHeatEventResource", {save(f, "heats.json", heats.body)}) == 0);
  // The heat is an attention event too (Behaviour / Activity).
  CHECK(validate("icarAttentionEventResource", {save(f, "heat-as-attention.json", att.body)}) == 0);

  // The validator rejects what the schemas forbid (so a pass above means something).
  json broken = a;
  broken["member"][0]["causes"] = json::array({"Fever"});
  broken["member"][0].erase("animal");
  CHECK(validate("icarAttentionEventResource", {save(f, "broken.json", broken.dump())}) == 1);
  json bad_time = h;
  bad_time["member"][0]["commencementDateTime"] = "2026-06-03 06:10";
  CHECK(validate("icarReproHeatEventResource", {save(f, "bad-time.json", bad_time.dump())}) == 1);
}
