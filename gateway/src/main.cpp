// herdgate: the farm gateway daemon. See README.md for the config file and guarantees.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>

#include "herd/core/clock.hpp"
#include "herd/core/logging.hpp"
#include "herd/gateway/app.hpp"
#include "herd/gateway/config.hpp"
#include "herd/gateway/registry.hpp"

namespace {

// Ready and metrics-address files appear whole (write, then rename): scripts and tests wait for them.
void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  { std::ofstream(tmp) << text; }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"herdgate: cattle collar telemetry gateway (MQTT -> SQLite outbox -> Kafka)"};
  std::string config_path = "/etc/herdgate/herdgate.toml";
  std::string ready_file;
  std::string metrics_address_file;
  bool check_only = false;
  cli.add_option("-c,--config", config_path, "config file (TOML)")->capture_default_str();
  cli.add_option("--ready-file", ready_file, "file to create once subscribed to the broker");
  cli.add_option("--metrics-address-file", metrics_address_file,
                 "file to write the metrics listener's host:port to (useful with port 0)");
  cli.add_flag("--check-config", check_only, "validate the config file and the registry it names, then exit");
  CLI11_PARSE(cli, argc, argv);

  auto config = herd::gateway::load_config(config_path);
  if (!config) {
    std::cerr << config.err().message << "\n";
    return 2;
  }
  if (check_only) {
    auto registry = herd::gateway::collar_registry::load_csv(config->registry_path);
    if (!registry) {
      std::cerr << registry.err().message << "\n";
      return 2;
    }
    std::cout << config_path << ": ok (registry: " << registry->collar_count() << " collars)\n";
    return 0;
  }
  herd::core::setup_logging(*herd::core::parse_log_level(config->log_level));

  // Block the signals before any thread starts, then take them synchronously with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  herd::core::system_clock clock;
  auto gw = herd::gateway::app::create(*config, clock);
  if (!gw) {
    spdlog::critical("cannot start: {}", gw.err().message);
    return 1;
  }
  auto& app = **gw;
  bool announced = false;
  // Written once, after the listener is bound and before the ready file, from whichever comes
  // first: the ready callback (a Paho thread) or the return of start().
  std::once_flag address_written;
  auto write_metrics_address = [&] {
    std::call_once(address_written, [&] {
      if (!metrics_address_file.empty()) write_file_atomically(metrics_address_file, app.metrics_address() + "\n");
    });
  };
  auto st = app.start([&] {
    write_metrics_address();
    if (!ready_file.empty() && !announced) write_file_atomically(ready_file, "ready\n");
    announced = true;
  });
  if (!st) {
    spdlog::critical("cannot start: {}", st.err().message);
    return 1;
  }
  write_metrics_address();
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      (void)app.reload_registry();
      continue;
    }
    spdlog::info("signal {}: stopping (ingest first, then forwarding)", sig);
    break;
  }
  app.stop(std::chrono::seconds(5));
  spdlog::info("stopped: {}", app.summary());
  return 0;
}
