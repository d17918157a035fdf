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

}  // namespace herd::alerts::detail
