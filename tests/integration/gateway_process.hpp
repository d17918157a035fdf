#pragma once
// The real herdgate binary as a child process, with a config written for the test's broker,
// Kafka cluster, outbox and registry. Start, kill -9, restart, stop with SIGTERM.
// HERD_GATEWAY_BINARY (another herdgate, e.g. the aarch64 build) and HERD_GATEWAY_EMULATOR (e.g.
// "qemu-aarch64 -L /") in the test's environment replace this build's binary.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <herd/test_support/child_process.hpp>

namespace herd::test {

struct gateway_settings {
  std::string mqtt_uri;
  std::string kafka_bootstrap;
  std::filesystem::path dir;  // holds config, outbox, logs
  std::string registry_path;
  std::string gateway_id = "it-gw";
  std::string client_id = "herdgate-it";
  std::vector<std::string> topics = {"farm/+/collar/+/telemetry"};
  std::string synchronous = "full";
  std::map<std::string, std::string> kafka_properties;  // [kafka.properties]
  // [metrics] listen: a free port by default, so parallel tests never collide on 9464.
  std::string metrics_listen = "127.0.0.1:0";
  std::string outbox_extra;  // more [outbox] lines, e.g. "max_bytes = 1048576\n"
  std::string kafka_extra;   // more [kafka] lines, e.g. "drain_rate = 2000\n"
  std::string extra_sections;  // whole sections appended to the config, e.g. "[clock]\n..."
  std::filesystem::path outbox_dir;  // where outbox.db goes; empty: `dir`
  std::map<std::string, std::string> env;  // extra environment of the herdgate process (NOTIFY_SOCKET, ...)
};

class gateway_process {
 public:
  explicit gateway_process(gateway_settings s);
  ~gateway_process();

  // Starts herdgate and waits until it is subscribed (its ready file appears).
  void start(std::chrono::milliseconds deadline = std::chrono::seconds(60));
  void kill9();
  // SIGTERM; returns the exit status (nullopt: still running after the deadline).
  std::optional<int> stop(std::chrono::milliseconds deadline = std::chrono::seconds(20));
  // Waits for herdgate to exit by itself; its exit status (nullopt: still running at the deadline).
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);
  bool running();
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }
  std::string outbox_path() const { return ((s_.outbox_dir.empty() ? s_.dir : s_.outbox_dir) / "outbox.db").string(); }
  const gateway_settings& settings() const { return s_; }
  std::string config_path() const { return (s_.dir / "herdgate.toml").string(); }
  std::string log_text() const;
  // host:port of the running gateway's /metrics and /health (from --metrics-address-file).
  std::string metrics_address() const;

 private:
  gateway_settings s_;
  int starts_ = 0;
  std::unique_ptr<test_support::child_process> proc_;
  std::string logs_;  // logs of earlier runs
};

}  // namespace herd::test
