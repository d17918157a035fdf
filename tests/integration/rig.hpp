#pragma once
// Everything an end-to-end test needs, real and on loopback: a mosquitto process, the dev Kafka
// cluster (librdkafka mock, Kafka protocol over TCP) in-process, a registry from the simulator,
// and the herdgate binary.
#include <memory>
#include <string>
#include <vector>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/temp_dir.hpp>

#include "gateway_process.hpp"

namespace herd::test {

struct rig {
  explicit rig(int collars, std::vector<std::string> topics = {"farm/+/collar/+/telemetry"},
               std::map<std::string, std::string> kafka_properties = {},
               std::string synchronous = "full");

  // Runs herd-sim to completion with the given extra arguments; returns its exit status.
  int run_sim(const std::vector<std::string>& args, std::chrono::milliseconds deadline);
  // Starts herd-sim in the background.
  std::unique_ptr<test_support::child_process> start_sim(const std::vector<std::string>& args);

  test_support::temp_dir dir;
  test_support::mosquitto_broker broker;
  std::unique_ptr<cloud::dev_kafka> kafka;
  std::string registry_path;
  std::unique_ptr<gateway_process> gateway;
  int sim_runs = 0;
};

}  // namespace herd::test
