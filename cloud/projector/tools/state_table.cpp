#include "state_table.hpp"

#include <fmt/format.h>

#include "herd/core/time_format.hpp"

namespace herd::projector {

bool print_state_table(read_model::store& s, std::ostream& out) {
  auto opt = [](const std::optional<double>& v, const char* f) {
    return v ? fmt::format(fmt::runtime(f), *v) : std::string("-");
  };
  out << fmt::format("{:<18} {:>7} {:<20} {:>7} {:>6} {:>7}  {}\n", "animal", "events", "last reading (UTC)",
                     "temp_C", "steps", "rum_min", "collars (last seq, battery %, RSSI dBm)");
  std::uint64_t animals = 0;
  for (std::string after;;) {
    auto rows = s.read_animals(after, 500);
    if (!rows) {
      out << rows.err().message << "\n";
      return false;
    }
    for (const auto& a : *rows) {
      std::string collars;
      for (const auto& c : a.collars) {
        collars += fmt::format("{}{} ({}, {}, {})", collars.empty() ? "" : "; ", c.collar_id, c.last_seq,
                               c.battery_pct ? std::to_string(*c.battery_pct) : "-",
                               c.rssi_dbm ? std::to_string(*c.rssi_dbm) : "-");
      }
      out << fmt::format("{:<18} {:>7} {:<20} {:>7} {:>6} {:>7}  {}\n", a.animal_id, a.events_applied,
                         core::iso8601_utc_ms(a.last_occurred_at_us / 1000).substr(0, 19),
                         opt(a.body_temp_c, "{:.2f}"), opt(a.activity_steps, "{:.0f}"),
                         opt(a.rumination_min, "{:.1f}"), collars);
      ++animals;
    }
    if (rows->size() < 500) break;
    after = rows->back().animal_id;
  }
  auto st = s.stats();
  if (st) {
    out << fmt::format("{} animals, {} events in the event store, {} alerts, read model {:.1f} MiB\n", animals,
                       st->events, st->alerts, static_cast<double>(st->bytes) / (1024.0 * 1024.0));
  }
  auto al = s.read_alerts("", 1000);
  if (al && !al->empty()) {
    out << "alerts:\n";
    for (const auto& a : *al) {
      out << fmt::format("  {:<10} {:<18} {:<18} {}\n", a.status, a.animal_id, a.kind, a.alert_id);
    }
  }
  return true;
}

}  // namespace herd::projector
