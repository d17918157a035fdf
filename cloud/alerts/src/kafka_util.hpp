#pragma once
// Small librdkafka helpers shared by the acknowledger and the herd.alerts relay.
#include <librdkafka/rdkafka.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "herd/core/result.hpp"

namespace herd::alerts::detail {

using header_list = std::vector<std::pair<std::string, std::string>>;

// A producer conf: `fixed` first, then `extra` (an extra key that is in `fixed` is an error).
// Errors: fatal (a property librdkafka refuses, or one of ours overridden).
core::result<rd_kafka_conf_t*> producer_conf(const std::map<std::string, std::string>& fixed,
                                             const std::map<std::string, std::string>& extra);

// rd_kafka_produceva with copied key/value, explicit partition (RD_KAFKA_PARTITION_UA = the
// configured partitioner) and headers. Takes ownership of nothing: headers are copied.
rd_kafka_resp_err_t produce(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, std::string_view key,
                            std::string_view value, const header_list& headers, void* opaque);

}  // namespace herd::alerts::detail
