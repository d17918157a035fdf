// The processes the gateway benchmarks run: a herdgate daemon with a minimal config, herd-sim and
// the dev Kafka (librdkafka's mock cluster, in this process). Header-only; for bench/ programs.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/wait_until.hpp>

namespace herd::bench {

// The dev Kafka cluster (3 brokers, herd.events with 6 partitions); throws if it cannot start.
inline std::unique_ptr<cloud::dev_kafka> start_kafka() {
  auto k = cloud::dev_kafka::start();
  if (!k) throw std::runtime_error(k.err().message);
  return std::move(*k);
}

// A herdgate daemon (test_support::gateway_command(): build/<preset>/gateway/herdgate, or the one
// HERD_GATEWAY_BINARY names) writing `dir`/<name>.toml and <name>.log;
// `kafka_extra` is appended to its [kafka] table (TOML lines). Waits up to 120 s for its ready
// file; throws std::runtime_error with its log otherwise.
struct gateway_daemon {
  std::unique_ptr<test_support::child_process> proc;
  std::filesystem::path ready;

  gateway_daemon(const std::filesystem::path& dir, const std::string& name, const std::string& mqtt,
                 const std::string& kafka, const std::string& outbox, const std::string& registry,
                 const std::string& kafka_extra = "", const std::string& outbox_extra = "") {
    using namespace std::chrono_literals;
    const auto cfg = dir / (name + ".toml");
    std::ofstream(cfg) << fmt::format(
        "[gateway]\nid = \"{0}\"\nlog_level = \"info\"\n[mqtt]\nbroker_uri = \"{1}\"\nclient_id = \"{0}\"\n"
        "[kafka]\nbootstrap = \"{2}\"\n{5}[outbox]\npath = \"{3}\"\n{6}[registry]\npath = \"{4}\"\n[metrics]\n"
        "listen = \"\"\n",
        name, mqtt, kafka, outbox, registry, kafka_extra, outbox_extra);
    ready = dir / (name + ".ready");
    const auto cmd = test_support::gateway_command({"--config", cfg.string(), "--ready-file", ready.string()});
    proc = std::make_unique<test_support::child_process>(cmd.program, cmd.args, dir,
                                                         std::map<std::string, std::string>{}, name + ".log");
    if (!test_support::wait_until([&] { return std::filesystem::exists(ready); }, 120s, 20ms)) {
      throw std::runtime_error(name + " not ready:\n" + proc->log_text());
    }
  }
};

// herd-sim publishing to the MQTT broker at `broker` with `args` (its CLI), from `dir`.
inline std::unique_ptr<test_support::child_process> sim(const std::filesystem::path& dir, const std::string& broker,
                                                        std::vector<std::string> args) {
  static int runs = 0;
  std::vector<std::string> all = {"--broker", broker, "--client-id", "bench-sim-" + std::to_string(++runs)};
  all.insert(all.end(), args.begin(), args.end());
  return std::make_unique<test_support::child_process>(test_support::binary_dir() + "/firmware-sim/herd-sim", all,
                                                       dir);
}

}  // namespace herd::bench
