#pragma once
// A throwaway Kafka cluster for development and tests: librdkafka's mock cluster
// (rdkafka_mock.h) speaking the Kafka protocol over loopback TCP, so other processes
// (the gateway, kcat) can use it as if it were real. Not for production.
//
// Retention trap: a mock partition keeps at most 5 MiB or 100,000 messages (rdkafka_mock.c,
// mpart->max_size / max_cnt, not configurable in 2.0.2); past that its oldest segments are
// deleted, so a consumer from the beginning (a rebuild --from topic, a benchmark's ceiling) sees
// only the newest part. Spread big runs over enough partitions to stay under it.
#include <memory>
#include <string>
#include <vector>

#include <herd/core/result.hpp>

// Opaque librdkafka types, declared here so users of this header need not include rdkafka.h.
// Redeclaring the same typedef in rdkafka.h / rdkafka_mock.h is legal C++.
typedef struct rd_kafka_s rd_kafka_t;                            // NOLINT(modernize-use-using)
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;  // NOLINT(modernize-use-using)

namespace herd::cloud {

struct topic_spec {
  std::string name;
  int partitions;
};

struct dev_kafka_options {
  int brokers = 3;  // 1..16; each broker listens on its own random loopback port
  std::vector<topic_spec> topics = {
      {"herd.events", 6}, {"herd.events.dlq", 1}, {"herd.events.projector.dlq", 1}, {"herd.alerts", 6}};
};

// Owns the cluster; destroying it stops every broker (clients then see connection refused).
// Ports are random: librdkafka 2.0.2 has no option to fix them, so publish bootstrap().
class dev_kafka {
 public:
  static core::result<std::unique_ptr<dev_kafka>> start(const dev_kafka_options& options = {});

  dev_kafka(const dev_kafka&) = delete;
  dev_kafka& operator=(const dev_kafka&) = delete;
  ~dev_kafka();

  // "127.0.0.1:port,127.0.0.1:port,..." — one entry per broker.
  const std::string& bootstrap() const { return bootstrap_; }

  // For fault injection in tests (rd_kafka_mock_broker_set_down, push_request_errors, ...).
  // Owned by this object; valid until it is destroyed. Thread-safe per librdkafka.
  rd_kafka_mock_cluster_t* mock() { return mock_; }

 private:
  dev_kafka(rd_kafka_t* owner, rd_kafka_mock_cluster_t* mock);

  rd_kafka_t* owner_;  // the client handle the mock cluster's thread hangs off
  rd_kafka_mock_cluster_t* mock_;
  std::string bootstrap_;
};

}  // namespace herd::cloud
