#pragma once
// The relay's read-back: the ce_id headers of the last `per_partition` records of every partition
// of a topic (what a previous relay session may have delivered without deleting its rows).
#include <chrono>
#include <map>
#include <string>
#include <unordered_set>

#include "herd/core/result.hpp"

namespace herd::alerts::detail {

// An unknown topic is empty. Errors: retriable (Kafka unreachable, did not finish in `timeout`).
core::result<std::unordered_set<std::string>> scan_ce_ids(const std::string& bootstrap,
                                                          const std::map<std::string, std::string>& properties,
                                                          const std::string& topic, std::size_t per_partition,
                                                          std::chrono::milliseconds timeout);

}  // namespace herd::alerts::detail
