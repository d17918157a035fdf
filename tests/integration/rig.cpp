#include "rig.hpp"

#include <doctest/doctest.h>

#include <herd/test_support/paths.hpp>

namespace herd::test {

rig::rig(int collars, std::vector<std::string> topics, std::map<std::string, std::string> kafka_properties,
         std::string synchronous) {
  auto k = cloud::dev_kafka::start();
  REQUIRE_MESSAGE(k.ok(), (k.ok() ? "" : k.err().message));
  kafka = std::move(*k);
  registry_path = (dir / "collars.csv").string();
  REQUIRE(run_sim({"--collars", std::to_string(collars), "--count", "0", "--registry-out", registry_path},
                  std::chrono::seconds(20)) == 0);
  gateway_settings s;
  s.mqtt_uri = broker.uri();
  s.kafka_bootstrap = kafka->bootstrap();
  s.dir = dir.path();
  s.registry_path = registry_path;
  s.topics = std::move(topics);
  s.kafka_properties = std::move(kafka_properties);
  s.synchronous = std::move(synchronous);
  gateway = std::make_unique<gateway_process>(s);
}

std::unique_ptr<test_support::child_process> rig::start_sim(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--broker", broker.uri(), "--client-id", "sim-" + std::to_string(++sim_runs)};
  all.insert(all.end(), args.begin(), args.end());
  return std::make_unique<test_support::child_process>(
      test_support::binary_dir() + "/firmware-sim/herd-sim", all, dir.path(),
      std::map<std::string, std::string>{}, "sim-" + std::to_string(sim_runs) + ".log");
}

int rig::run_sim(const std::vector<std::string>& args, std::chrono::milliseconds deadline) {
  auto sim = start_sim(args);
  const auto status = sim->wait_exit(deadline);
  INFO(sim->log_text());
  REQUIRE(status.has_value());
  return *status;
}

}  // namespace herd::test
