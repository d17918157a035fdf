// herd-api: the query side (README, "Query API"): ICAR ADE alerts, animal state, history, state
// at a past time, herd summary, acknowledgements (as events), the dashboard.
//   herd-api --config FILE
//   herd-api --check-config --config FILE       validate and exit
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "herd/alerts/acknowledge.hpp"
#include "herd/api/config.hpp"
#include "herd/api/server.hpp"
#include "herd/api/service.hpp"
#include "herd/core/logging.hpp"
#include "herd/daemon/systemd_notifier.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"herd-api: the herd-health query API and dashboard over the read model"};
  std::string config_path = "/etc/herdgate/herd-api.toml";
  std::string address_file;
  bool check_only = false;
  cli.add_option("-c,--config", config_path, "config file (TOML)")->capture_default_str();
  cli.add_option("--address-file", address_file, "file to write the listener's host:port to once listening");
  cli.add_flag("--check-config", check_only, "validate the config file, then exit");
  CLI11_PARSE(cli, argc, argv);

  auto config = herd::api::load_config(config_path);
  if (!config) {
    std::cerr << config.err().message << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return 0;
  }
  herd::core::setup_logging(*herd::core::parse_log_level(config->log_level));
  auto log = herd::core::module_logger("api");

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: they inherit it

  std::unique_ptr<herd::alerts::acknowledger> ack;
  if (!config->bootstrap.empty()) {
    herd::alerts::acknowledger_options o;
    o.bootstrap = config->bootstrap;
    o.topic = config->topic;
    o.properties = config->kafka_properties;
    auto a = herd::alerts::acknowledger::create(o);
    if (!a) {
      log->critical("kafka: {}", a.err().message);
      return 1;
    }
    ack = std::move(*a);
  } else {
    log->warn("no [kafka] section: acknowledging alerts is disabled (503)");
  }
  herd::api::queries_pool pool(herd::api::make_opener(*config), config->threads);
  herd::api::service svc(*config, pool, ack.get());
  herd::api::http_server server(svc, config->threads);
  auto port = server.bind(config->listen_host, config->listen_port);
  if (!port) {
    log->critical("{}", port.err().message);
    return 1;
  }
  log->info("listening on {}:{} (read model: {}, writes {})", config->listen_host, *port, config->backend,
            config->token.empty() ? "disabled: no token" : "need the bearer token");
  std::thread http([&] { server.run(); });
  if (!address_file.empty()) {
    std::ofstream(address_file + ".tmp") << config->listen_host << ":" << *port << "\n";
    std::rename((address_file + ".tmp").c_str(), address_file.c_str());
  }
  herd::daemon::systemd_notifier notifier;
  notifier.ready("serving on " + config->listen_host + ":" + std::to_string(*port));
  int sig = 0;
  sigwait(&signals, &sig);
  log->info("signal {}: stopping", sig);
  notifier.stopping("stopping");
  server.stop();
  http.join();
  return 0;
}
