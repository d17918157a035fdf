// POST /api/v1/animals/{animal}/alerts/{alert_id}/acknowledge (README, "Acknowledging an alert"):
// a command, not a write. herd-api checks the alert exists, then emits alert.acknowledged.v1
// into herd.events through herd::alerts::acknowledger (issue 10's library); the projector folds
// it, so the acknowledgement is in the read model once the projector has consumed it, and a
// rebuild keeps it.
#include "endpoints.hpp"
#include "herd/alerts/acknowledge.hpp"

namespace herd::api::detail {

response post_acknowledge(context& c, const std::string& raw_animal, const std::string& alert_id) {
  allow(c.req, {});
  const std::string animal = checked_animal(raw_animal);
  if (alert_id.empty() || alert_id.size() > 256) throw http_error{400, "alert id: 1-256 characters"};
  if (c.req.body.size() > 16 * 1024) throw http_error{413, "body too large"};
  const json body = c.req.body.empty() ? json::object() : json::parse(c.req.body, nullptr, false);
  if (!body.is_object()) throw http_error{400, "body: a JSON object {\"by\": ..., \"note\": ...} is expected"};
  for (const auto& [k, v] : body.items()) {
    if (k != "by" && k != "note" && k != "request_id") throw http_error{400, "body: unknown field " + k.substr(0, 64)};
    if (!v.is_string()) throw http_error{400, "body: " + k + " must be a string"};
  }
  alerts::acknowledgement a;
  a.alert_id = alert_id;
  a.animal_id = animal;
  a.acknowledged_by = body.value("by", std::string());
  a.note = body.value("note", std::string());
  a.event_id = body.value("request_id", std::string());
  a.acknowledged_at_ms = c.now_ms;
  if (auto v = alerts::validate(a); !v) throw http_error{400, v.err().message};

  read_model::alert_filter f;
  f.animal_id = animal;
  f.limit = 100'000;
  const read_model::alert_row* found = nullptr;
  auto rows = must(c.db->alerts(f));
  for (const auto& r : rows) {
    if (r.alert_id == alert_id) found = &r;
  }
  if (found == nullptr) throw http_error{404, "animal " + animal + " has no alert " + alert_id.substr(0, 256)};
  if (found->acknowledged_at_us) {
    throw http_error{409, "already acknowledged at " + rfc3339_us(*found->acknowledged_at_us)};
  }
  if (c.ack == nullptr) throw http_error{503, "acknowledging is disabled: no [kafka] section in the config"};
  auto id = c.ack->acknowledge(a);
  if (!id) {
    if (id.err().kind == core::error_kind::permanent) throw http_error{400, id.err().message};
    throw http_error{503, "could not emit the acknowledgement (retry with the same request_id): " + id.err().message};
  }
  return json_response(202, {{"status", "accepted"},
                             {"event_id", *id},
                             {"alert_id", alert_id},
                             {"animal_id", animal},
                             {"acknowledged_at", rfc3339_ms(c.now_ms)},
                             {"note", "the read model shows it once the projector has applied the event"}});
}

}  // namespace herd::api::detail
