#include <herd/cloud/dev_kafka.hpp>

#include <algorithm>
#include <array>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace herd::cloud {
namespace {

constexpr int max_brokers = 16;

// A mock cluster needs a client handle to run on. It never connects anywhere itself,
// so it gets no bootstrap.servers; log only real problems.
rd_kafka_t* new_owner_handle(std::string& error_text) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, 512> err{};
  if (rd_kafka_conf_set(conf, "log_level", "3", err.data(), err.size()) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    error_text = err.data();
    return nullptr;
  }
  // rd_kafka_new takes ownership of conf only on success.
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err.data(), err.size());
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    error_text = err.data();
  }
  return rk;
}

}  // namespace

core::result<std::unique_ptr<dev_kafka>> dev_kafka::start(const dev_kafka_options& options) {
  if (options.brokers < 1 || options.brokers > max_brokers) {
    return core::error::fatal("dev_kafka: brokers must be 1.." + std::to_string(max_brokers));
  }
  for (const auto& t : options.topics) {
    if (t.name.empty() || t.partitions < 1) {
      return core::error::fatal("dev_kafka: topic '" + t.name + "' needs a name and >= 1 partition");
    }
  }

  std::string error_text;
  rd_kafka_t* owner = new_owner_handle(error_text);
  if (owner == nullptr) return core::error::fatal("dev_kafka: rd_kafka_new: " + error_text);

  rd_kafka_mock_cluster_t* mock = rd_kafka_mock_cluster_new(owner, options.brokers);
  if (mock == nullptr) {
    rd_kafka_destroy(owner);
    return core::error::fatal("dev_kafka: rd_kafka_mock_cluster_new failed");
  }
  // From here the destructor cleans up on every error path.
  std::unique_ptr<dev_kafka> cluster(new dev_kafka(owner, mock));

  const int replication = std::min(3, options.brokers);
  for (const auto& t : options.topics) {
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(mock, t.name.c_str(), t.partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return core::error::fatal("dev_kafka: creating topic '" + t.name +
                                "': " + rd_kafka_err2str(err));
    }
  }
  return cluster;
}

dev_kafka::dev_kafka(rd_kafka_t* owner, rd_kafka_mock_cluster_t* mock)
    : owner_(owner), mock_(mock), bootstrap_(rd_kafka_mock_cluster_bootstraps(mock)) {}

dev_kafka::~dev_kafka() {
  // The cluster must go before the handle it runs on.
  rd_kafka_mock_cluster_destroy(mock_);
  rd_kafka_destroy(owner_);
}

}  // namespace herd::cloud
