#include "api_data.hpp"

#include <doctest/doctest.h>

#include <map>

#include "envelopes.hpp"

namespace herd::api_test {

herd_data make_herd(int animals, int hours, int partitions, std::int64_t start_ms) {
  herd_data d;
  d.start_ms = start_ms;
  std::map<int, std::int64_t> next_offset;
  const int per_animal = hours * 6;
  for (int n = 0; n < per_animal; ++n) {
    for (int a = 0; a < animals; ++a) {
      if (a == 2 && n > per_animal / 2) continue;  // DE01002's collar goes silent
      test_envelopes::reading r;
      r.animal = "DE0" + std::to_string(1000 + a);
      r.collar = "C" + std::to_string(100 + a);
      r.seq = static_cast<std::uint32_t>(n + 1);
      r.event_id = "q-" + r.animal + "-" + std::to_string(n);
      r.occurred_ms = start_ms + std::int64_t{n} * 600'000 + a * 1000;
      r.temp_c = 38.5 + 0.01 * ((n * 7 + a * 3) % 20);
      if (a == 3 && n > per_animal - 24) r.temp_c = 40.6;  // the last 4 h: fever
      r.steps = static_cast<std::uint32_t>(150 + (n * 13 + a) % 200);
      r.rum_min = 3.0 + ((n + a) % 4);
      r.battery = a == 1 ? static_cast<std::uint32_t>(n > per_animal / 3 ? 15 : 60) : 90;
      const int p = a % partitions;
      d.records.push_back({"herd.events", p, next_offset[p]++, r.animal, test_envelopes::collar_envelope(r)});
      d.end_ms = std::max(d.end_ms, r.occurred_ms);
    }
  }
  return d;
}

void apply(projector::applier& a, const std::vector<projector::record>& records, std::size_t from, std::size_t to) {
  std::vector<projector::record> batch(records.begin() + static_cast<std::ptrdiff_t>(from),
                                       records.begin() + static_cast<std::ptrdiff_t>(to));
  auto o = a.prepare(batch);
  REQUIRE_MESSAGE(o.ok(), (o.ok() ? "" : o.err().message));
  REQUIRE(*o == projector::applier::outcome::ready);
  auto c = a.commit();
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
}

}  // namespace herd::api_test
