// The consumer loop's dead-letter topic: its producer and the batch's dead letters
// (consumer_loop_impl.hpp).
#include "consumer_loop_impl.hpp"

namespace herd::projector {
namespace {

// Dead-letter delivery reports (on the thread that calls rd_kafka_flush).
void dlq_delivered(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<std::uint64_t*>(opaque);
}

}  // namespace

// The dead-letter producer: idempotent, acks=all, the consumer's other properties.
core::status consumer_loop::impl::open_dlq() {
  char err[512];
  rd_kafka_conf_t* pc = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> pprops = {
      {"bootstrap.servers", o.bootstrap}, {"enable.idempotence", "true"}, {"acks", "all"},
      {"log_level", "4"}};
  for (const auto& [k, v] : o.properties) {
    if (!is_consumer_only_property(k)) pprops.emplace_back(k, v);
  }
  for (const auto& [k, v] : pprops) {
    if (auto st = set(pc, k, v); !st) {
      rd_kafka_conf_destroy(pc);
      return st;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(pc, dlq_delivered);
  rd_kafka_conf_set_opaque(pc, &dlq_failures);
  dlq = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  if (dlq == nullptr) {
    rd_kafka_conf_destroy(pc);
    return core::error::fatal(std::string("kafka DLQ producer: ") + err);
  }
  return core::ok_v;
}

core::status consumer_loop::impl::produce_dead_letters() {
  if (app.dead_letters().empty() || dlq == nullptr) return core::ok_v;
  dlq_failures = 0;
  for (const auto& d : app.dead_letters()) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(6);
    auto add = [&](const char* k, const std::string& v) {
      rd_kafka_header_add(hdrs, k, -1, v.data(), static_cast<ssize_t>(v.size()));
    };
    add("dlq_reason", d.reason);
    add("dlq_source_topic", d.original.topic);
    add("dlq_source_partition", std::to_string(d.original.partition));
    add("dlq_source_offset", std::to_string(d.original.offset));
    add("dlq_consumer_group", o.group_id);
    // rd_kafka_produceva: the RD_KAFKA_V_* macros expand to C casts.
    rd_kafka_vu_t vu[5] = {};
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = o.dlq_topic.c_str();
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem = {const_cast<char*>(d.original.key.data()), d.original.key.size()};
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem = {const_cast<char*>(d.original.value.data()), d.original.value.size()};
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[4].u.headers = hdrs;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (rd_kafka_error_t* error = rd_kafka_produceva(dlq, vu, 5)) {
      e = rd_kafka_error_code(error);
      rd_kafka_error_destroy(error);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(hdrs);
      return core::error::retriable(std::string("DLQ produce: ") + rd_kafka_err2str(e));
    }
  }
  const auto e = rd_kafka_flush(dlq, 10000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Unacknowledged dead letters stay queued in the producer and may still arrive: the retry
    // produces them again (at least once).
    return core::error::retriable(std::string("DLQ flush: ") + rd_kafka_err2str(e));
  }
  if (dlq_failures != 0) {
    return core::error::retriable(std::to_string(dlq_failures) + " dead letters not accepted by Kafka");
  }
  return core::ok_v;
}

}  // namespace herd::projector
