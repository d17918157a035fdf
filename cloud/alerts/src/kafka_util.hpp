#pragma once
// The producer configuration shared by the acknowledger and the herd.alerts relay (the record
// call itself: herd/kafka/record.hpp).
#include <librdkafka/rdkafka.h>

#include <map>
#include <string>

#include "herd/core/result.hpp"

namespace herd::alerts::detail {

// A producer conf: `fixed` first, then `extra` (an extra key that is in `fixed` is an error).
// Errors: fatal (a property librdkafka refuses, or one of ours overridden).
core::result<rd_kafka_conf_t*> producer_conf(const std::map<std::string, std::string>& fixed,
                                             const std::map<std::string, std::string>& extra);

}  // namespace herd::alerts::detail
