#include "kafka_util.hpp"

namespace herd::alerts::detail {

core::result<rd_kafka_conf_t*> producer_conf(const std::map<std::string, std::string>& fixed,
                                             const std::map<std::string, std::string>& extra) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) -> core::status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return core::error::fatal("kafka property " + k + ": " + err);
    }
    return core::ok_v;
  };
  for (const auto& [k, v] : fixed) {
    if (auto st = set(k, v); !st) {
      rd_kafka_conf_destroy(conf);
      return st.err();
    }
  }
  for (const auto& [k, v] : extra) {
    if (fixed.count(k) != 0) {
      rd_kafka_conf_destroy(conf);
      return core::error::fatal("kafka property " + k + " is fixed by herd (" + fixed.at(k) + ")");
    }
    if (auto st = set(k, v); !st) {
      rd_kafka_conf_destroy(conf);
      return st.err();
    }
  }
  return conf;
}

rd_kafka_resp_err_t produce(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, std::string_view key,
                            std::string_view value, const header_list& headers, void* opaque) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [k, v] : headers) {
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
  }
  rd_kafka_vu_t vu[7] = {};
  vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  vu[0].u.cstr = topic.c_str();
  vu[1].vtype = RD_KAFKA_VTYPE_KEY;
  vu[1].u.mem = {const_cast<char*>(key.data()), key.size()};
  vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[2].u.mem = {const_cast<char*>(value.data()), value.size()};
  vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[3].u.i = RD_KAFKA_MSG_F_COPY;
  vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
  vu[4].u.headers = hdrs;
  vu[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[5].u.ptr = opaque;
  vu[6].vtype = RD_KAFKA_VTYPE_PARTITION;
  vu[6].u.i32 = partition;
  rd_kafka_error_t* error = rd_kafka_produceva(rk, vu, 7);
  if (error == nullptr) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const rd_kafka_resp_err_t e = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  rd_kafka_headers_destroy(hdrs);
  return e;
}

}  // namespace herd::alerts::detail
