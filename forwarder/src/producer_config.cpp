#include "producer_config.hpp"

#include <string>

namespace herd::forwarder {

namespace {

// What herdgate fixes so that "ordered, acknowledged, never lost" holds (README, Kafka section).
const std::map<std::string, std::string>& fixed_properties() {
  static const std::map<std::string, std::string> p = {
      {"enable.idempotence", "true"},       // no duplicates or reordering from internal retries
      {"acks", "all"},                      // acknowledged = replicated to all in-sync replicas
      {"partitioner", "murmur2_random"},    // the Java client's partitioner: same animal, same partition
      {"message.timeout.ms", "0"},          // never expire: offline waits, the outbox holds the rest
      {"enable.gapless.guarantee", "true"}, // a possible gap is a fatal error: we rebuild and resend
  };
  return p;
}

}  // namespace

bool is_reserved_kafka_property(const std::string& name) {
  // delivery.report.only.error would hide the acks we delete on; transactional.id would turn the
  // producer into a transactional one that needs begin/commit calls we do not make.
  return fixed_properties().count(name) > 0 || name == "bootstrap.servers" ||
         name == "metadata.broker.list" || name == "delivery.timeout.ms" ||
         name == "delivery.report.only.error" || name == "transactional.id";
}

const std::map<std::string, std::string>& fixed_kafka_properties() { return fixed_properties(); }

std::optional<std::string> kafka_property_problem(const std::string& name, const std::string& value) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const auto rc = rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err);
  rd_kafka_conf_destroy(conf);
  if (rc == RD_KAFKA_CONF_OK) return std::nullopt;
  return std::string(err);
}

core::result<rd_kafka_conf_t*> build_producer_conf(const forwarder_options& opts) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) -> core::status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return core::error::fatal("kafka property " + k + ": " + err);
    }
    return core::ok_v;
  };
  core::status st = set("bootstrap.servers", opts.bootstrap);
  if (st) st = set("linger.ms", "5");  // a default the config may override
  // One produce request in flight per broker: order and completeness then never rest on the
  // broker's idempotence sequence checks (librdkafka's mock skips them for non-transactional
  // producers, and a few records vanished there under leader moves and request errors with
  // 5 in flight). A request carries up to batch.size per partition, so a farm loses nothing
  // in throughput. The config may raise it.
  if (st) st = set("max.in.flight.requests.per.connection", "1");
  // A broker that was down is retried at least every 0.5 s (librdkafka doubles the wait from
  // reconnect.backoff.ms = 100 up to this cap, default 10 s, jitter included: rdkafka_broker.c,
  // rd_kafka_broker_update_reconnect_backoff). With the default, the partitions of a broker came
  // back up to 10 s after it did (issue 15); the price is two connection attempts a second per
  // broker while the farm is offline. The config may override it.
  if (st) st = set("reconnect.backoff.max.ms", "500");
  for (const auto& [k, v] : opts.properties) if (st) st = set(k, v);
  for (const auto& [k, v] : fixed_kafka_properties()) if (st) st = set(k, v);
  if (!st) {
    rd_kafka_conf_destroy(conf);
    return st.err();
  }
  return conf;
}

core::status check_producer_config(const forwarder_options& opts) {
  auto conf = build_producer_conf(opts);
  if (!conf) return conf.err();
  // rd_kafka_new runs librdkafka's final checks across properties (e.g. max.in.flight above 5
  // with idempotence), which rd_kafka_conf_set cannot see one property at a time. The handle
  // starts connecting in the background; it is destroyed at once, before anything is produced.
  // Quiet: a check prints its verdict, not the connection attempts of a handle about to go.
  rd_kafka_conf_set_log_cb(*conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);  // rd_kafka_new takes the conf only on success
    return core::error::fatal(std::string("kafka producer configuration refused by librdkafka: ") + err);
  }
  rd_kafka_destroy(rk);
  return core::ok_v;
}

}  // namespace herd::forwarder
