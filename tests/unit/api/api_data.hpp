#pragma once
// A small herd for the query side's tests, with alerts to show: DE01000 ok, DE01001's collar
// battery runs low, DE01002's collar goes silent half way, DE01003 has a fever at the end, more
// animals healthy. Readings every 10 min; event ids "q-<animal>-<n>".
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "herd/projector/applier.hpp"
#include "herd/read_model/store.hpp"

namespace herd::api_test {

struct herd_data {
  std::vector<projector::record> records;  // per partition in offset order, interleaved by time
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;                 // newest occurred_at
};

// `partitions`: partition = animal index % partitions (one animal per partition when equal).
herd_data make_herd(int animals, int hours, int partitions, std::int64_t start_ms = 1'780'000'000'000);

// Applies records [from, to) through the projector's applier (the live path, without Kafka).
void apply(projector::applier& a, const std::vector<projector::record>& records, std::size_t from, std::size_t to);

}  // namespace herd::api_test
