#pragma once
// A canonical digest of a read model: equal iff the two read models hold the same animals
// (state bytes, queryable columns, collars), the same alerts and the same set of distinct events
// (event_id, fields, envelope bytes, source position), whatever the back-end and whatever order
// the events were appended in. Progress counters, store_seq and the outbox are NOT part of it
// (a rebuild from the event store sees no duplicates; outbox messages are transient).
// This is what "rebuild == incremental" tests compare.
#include <cstdint>
#include <string>

#include "herd/core/result.hpp"
#include "herd/read_model/store.hpp"

namespace herd::read_model {

struct digest_report {
  std::string hex;  // SHA-256 of the canonical dump, lowercase hex
  std::uint64_t animals = 0;
  std::uint64_t alerts = 0;
  std::uint64_t events = 0;
};

// Reads the whole read model through `s` (pages of 1,000 rows). Errors: those of the store.
core::result<digest_report> digest(store& s);

}  // namespace herd::read_model
