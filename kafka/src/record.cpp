#include "herd/kafka/record.hpp"

namespace herd::kafka {

produce_status produce(rd_kafka_t* rk, const std::string& topic, std::string_view key, std::string_view value,
                       const header_list& headers, void* opaque, std::optional<std::int32_t> partition) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [k, v] : headers) {
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
  }
  rd_kafka_vu_t vu[7] = {};
  std::size_t n = 0;
  vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
  vu[n++].u.cstr = topic.c_str();
  vu[n].vtype = RD_KAFKA_VTYPE_KEY;
  vu[n++].u.mem = {const_cast<char*>(key.data()), key.size()};
  vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[n++].u.mem = {const_cast<char*>(value.data()), value.size()};
  vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
  vu[n++].u.headers = hdrs;  // owned by librdkafka only on success
  vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[n++].u.ptr = opaque;
  if (partition) {
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[n++].u.i32 = *partition;
  }
  rd_kafka_error_t* error = rd_kafka_produceva(rk, vu, n);
  if (error == nullptr) return {};
  rd_kafka_headers_destroy(hdrs);
  produce_status st;
  st.code = rd_kafka_error_code(error);
  st.retriable = rd_kafka_error_is_retriable(error) != 0;
  st.fatal = rd_kafka_error_is_fatal(error) != 0;
  rd_kafka_error_destroy(error);
  return st;
}

}  // namespace herd::kafka
