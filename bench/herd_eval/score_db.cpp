#include "score_db.hpp"

#include <nlohmann/json.hpp>

#include "herd/read_model/sqlite_store.hpp"
#include "herd/rules/animal_state.hpp"
#include "herd/rules/thresholds.hpp"

namespace herd::eval {

core::result<run_output> run_from_read_model(const std::string& db_path) {
  auto s = read_model::open_sqlite_store({.path = db_path});
  if (!s) return s.err();
  run_output out;
  for (std::string after;;) {
    auto page = (*s)->read_alerts(after, 5000);
    if (!page) return page.err();
    if (page->empty()) break;
    for (const auto& a : *page) {
      auto kind = rules::alert_kind_from(a.kind);
      if (!kind) continue;
      raised_alert r;
      r.animal_id = a.animal_id;
      r.kind = *kind;
      r.alert_id = a.alert_id;
      r.started_ms = a.raised_at_us / 1000;
      r.resolved_ms = a.resolved_at_us ? *a.resolved_at_us / 1000 : 0;
      const auto body = nlohmann::json::parse(a.body, nullptr, false);
      if (body.is_object()) {
        r.device_id = body.value("device_id", "");
        r.evidence = body.value("evidence", "");
      }
      out.raised.push_back(std::move(r));
    }
    after = page->back().alert_id;
  }
  for (std::string after;;) {
    auto page = (*s)->read_animals(after, 1000);
    if (!page) return page.err();
    if (page->empty()) break;
    for (const auto& row : *page) {
      ++out.animals;
      auto st = rules::decode(row.state);
      if (!st) continue;
      for (const auto& c : st->collars) {
        if (c.interval_s > 0) out.device_interval_s[c.collar_id] = c.interval_s;
        if (c.battery_pct >= 0 && c.battery_pct <= rules::thresholds::low_battery_pct) {
          out.low_battery.emplace(c.collar_id, c.last_seen_ms);
        }
      }
    }
    after = page->back().animal_id;
  }
  std::sort(out.raised.begin(), out.raised.end(),
            [](const raised_alert& a, const raised_alert& b) { return a.started_ms < b.started_ms; });
  return out;
}

}  // namespace herd::eval
