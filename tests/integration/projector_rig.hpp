#pragma once
// A dev Kafka cluster, a producer straight into herd.events, and a herd-projector: for the paths
// the gateway never produces (garbage, poison pills, future event types).
#include <memory>
#include <string>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/temp_dir.hpp>

#include "projector_process.hpp"

namespace herd::test {

struct projector_rig {
  projector_rig();
  ~projector_rig();
  // Produces one record (murmur2 partitioning by key, as the gateway does) and waits for the ack.
  void produce(const std::string& key, const std::string& value);

  test_support::temp_dir dir;
  std::unique_ptr<cloud::dev_kafka> kafka;
  std::unique_ptr<projector_process> proj;

 private:
  rd_kafka_t* producer_ = nullptr;
};

}  // namespace herd::test
