#include "projector_rig.hpp"

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

namespace herd::test {

projector_rig::projector_rig() {
  auto k = cloud::dev_kafka::start();
  REQUIRE_MESSAGE(k.ok(), (k.ok() ? "" : k.err().message));
  kafka = std::move(*k);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", kafka->bootstrap().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(producer_ != nullptr);
  proj = std::make_unique<projector_process>(projector_settings(kafka->bootstrap(), dir.path()));
}

projector_rig::~projector_rig() {
  proj.reset();
  if (producer_ != nullptr) rd_kafka_destroy(producer_);
}

void projector_rig::produce(const std::string& key, const std::string& value) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(producer_, "herd.events", nullptr);
  const int rc = rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()),
                                  value.size(), key.data(), key.size(), nullptr);
  rd_kafka_topic_destroy(t);
  REQUIRE(rc == 0);
  REQUIRE(rd_kafka_flush(producer_, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
}

}  // namespace herd::test
