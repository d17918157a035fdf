#pragma once
// Valid event envelopes written straight into an outbox, for forwarder tests.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "herd/buffer/outbox.hpp"
#include "herd/core/clock.hpp"
#include "herd/core/uuid.hpp"
#include "herd/gateway/event_factory.hpp"

namespace herd::test {

// `n` readings of `collars` collars (animal 276000000000001, ...), in collar-seq order per animal.
inline void append_envelopes(buffer::outbox& ob, int n, int collars = 10) {
  const gateway::event_factory factory("inproc-gw");
  const auto now = core::system_clock().now_ms();
  for (int i = 0; i < n; ++i) {
    sensors::collar_reading r;
    r.farm_id = "farm-01";
    r.collar_id = fmt::format("C-{:05d}", 1 + i % collars);
    r.seq = static_cast<std::uint32_t>(1 + i / collars);
    r.ts_ms = now;
    r.temp_c = 38.6;
    const auto animal = fmt::format("276{:012d}", 1 + i % collars);
    REQUIRE(ob.append(animal, "", [&](std::uint64_t seq) {
      gateway::envelope_meta meta{core::new_uuid_v4(), animal, gateway::resolve_occurred_at(now, now), now, seq};
      return factory.collar_reading_event(r, meta).SerializeAsString();
    }).ok());
  }
}

}  // namespace herd::test
