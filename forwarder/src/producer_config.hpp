#pragma once
// The librdkafka producer configuration, built in one place for the forwarder and for
// `herdgate --check-config`, so the check sees exactly what the daemon will hand librdkafka.
#include <librdkafka/rdkafka.h>

#include "herd/core/result.hpp"
#include "herd/forwarder/forwarder.hpp"

namespace herd::forwarder {

// Our defaults, then the config's kafka.properties, then the properties herdgate fixes (README,
// "Order per animal"). The caller owns the returned conf (rd_kafka_new takes it, or
// rd_kafka_conf_destroy). A property librdkafka refuses is a fatal error naming it.
core::result<rd_kafka_conf_t*> build_producer_conf(const forwarder_options& opts);

}  // namespace herd::forwarder
