#pragma once
// One Kafka record handed to a librdkafka producer: the rd_kafka_produceva call shared by the
// forwarder (outbox -> herd.events) and the cloud's alert producers (acknowledgements, the
// herd.alerts relay). It only reports librdkafka's answer; the caller classifies and decides.
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herd::kafka {

using header_list = std::vector<std::pair<std::string, std::string>>;

// librdkafka's answer to a produce call.
struct produce_status {
  rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;  // NO_ERROR: queued, a report will come
  bool retriable = false;  // rd_kafka_error_is_retriable
  bool fatal = false;      // rd_kafka_error_is_fatal
  bool ok() const { return code == RD_KAFKA_RESP_ERR_NO_ERROR; }
};

// Hands one record to `rk` (rd_kafka_produceva without the RD_KAFKA_V_* macros, which expand to C
// casts). Key, value and headers are copied (RD_KAFKA_MSG_F_COPY): nothing needs to outlive the
// call. `partition`: none = the configured partitioner (herdgate: murmur2_random, by key).
// `opaque` comes back in the record's delivery report (only when the call succeeded).
// Thread: any (librdkafka's produce is thread-safe). Errors: the call's code and flags, e.g.
// _QUEUE_FULL when queue.buffering.max.messages are waiting; no report comes for a failed call.
produce_status produce(rd_kafka_t* rk, const std::string& topic, std::string_view key, std::string_view value,
                       const header_list& headers, void* opaque,
                       std::optional<std::int32_t> partition = std::nullopt);

}  // namespace herd::kafka
