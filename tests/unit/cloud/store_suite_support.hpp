#pragma once
// The store suite's helpers (store_suite.hpp): sample rows and a checked begin().
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "herd/read_model/digest.hpp"
#include "herd/read_model/store.hpp"

namespace herd::store_suite {

using read_model::alert_row;
using read_model::animal_row;
using read_model::collar_row;
using read_model::outbox_message;
using read_model::partition_progress;
using read_model::stored_event;

inline stored_event event(const std::string& id, const std::string& animal, std::int64_t occurred_us,
                          std::int64_t offset = 0, const std::string& type = "collar.reading.v1") {
  stored_event e;
  e.event_id = id;
  e.animal_id = animal;
  e.event_type = type;
  e.occurred_at_us = occurred_us;
  e.ingested_at_us = occurred_us + 5;
  e.gateway_id = "gw-1";
  e.gateway_seq = static_cast<std::uint64_t>(offset + 1);
  e.envelope = std::string("env\0") + id;  // embedded NUL: stored as bytes, not text
  e.envelope.push_back('\0');
  e.topic = "herd.events";
  e.partition = 2;
  e.offset = offset;
  return e;
}

inline animal_row animal(const std::string& id, const std::string& state) {
  animal_row a;
  a.animal_id = id;
  a.topic = "herd.events";
  a.partition = 2;
  a.state = state;
  a.events_applied = 3;
  a.last_occurred_at_us = 1'700'000'000'000'000;
  a.body_temp_c = 38.62;
  a.activity_steps = std::nullopt;
  a.rumination_min = 31.5;
  a.collars = {collar_row{"C-2", 17, 87, -71, 1'700'000'000'000'000},
               collar_row{"C-9", -1, std::nullopt, std::nullopt, 0}};
  return a;
}

template <class S>
std::unique_ptr<read_model::store_txn> begin(S& s) {
  auto t = s.begin();
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.err().message));
  return std::move(*t);
}

#define HERD_REQUIRE_OK(expr)                                          \
  do {                                                                 \
    auto herd_r_ = (expr);                                             \
    REQUIRE_MESSAGE(herd_r_.ok(), (herd_r_.ok() ? "" : herd_r_.err().message)); \
  } while (0)

}  // namespace herd::store_suite
