// herdgate: the farm gateway daemon. See README.md for the config file and guarantees.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <unistd.h>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>

#include "herd/core/clock.hpp"
#include "herd/core/logging.hpp"
#include "herd/gateway/app.hpp"
#include "herd/gateway/config.hpp"
#include "herd/forwarder/forwarder.hpp"
#include "herd/gateway/registry.hpp"
#include "systemd_notify.hpp"

namespace {

// Ready and metrics-address files appear whole (write, then rename): scripts and tests wait for them.
void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  { std::ofstream(tmp) << text; }
  std::rename(tmp.c_str(), path.c_str());
}

// Exit statuses (README, "Failure handling"): 1 cannot start, 2 bad config, 74 a fatal storage
// error (EX_IOERR), 70 another fatal error (EX_SOFTWARE), 75 stopped while a reading could not be
// stored (EX_TEMPFAIL). systemd restarts herdgate on any of them (Restart=always).
constexpr int k_exit_fatal_storage = 74;
constexpr int k_exit_fatal = 70;
constexpr int k_exit_tempfail = 75;

// How long a fatal exit waits for Kafka to acknowledge what the outbox holds (app::forward_stored).
constexpr std::chrono::seconds k_fatal_forward_within{5};

// A fatal error: the outbox (or another part) is unusable, and only a restart, whose start-up
// check quarantines and salvages a corrupt outbox, can help. Ingest stores nothing more from the
// moment the error was decided (the held reading is not acknowledged: the broker redelivers it).
// Before exiting, the forwarder gets up to 5 s to have Kafka acknowledge every event the outbox
// holds: storage that failed may not keep what it committed last (with synchronous = normal a
// commit is only in the page cache until the next timed checkpoint, and ext4 remounted read-only
// after an error discards those pages), yet it still serves them, and each is an acknowledged
// reading. Then the process ends as a crash would (no MQTT disconnect: the delivery thread holds
// its unstored reading until the end), which loses nothing else.
[[noreturn]] void exit_after_fatal(const herd::gateway::systemd_notifier& systemd, herd::gateway::app& app,
                                   const herd::core::error& e) {
  const int status = e.module() == "outbox" ? k_exit_fatal_storage : k_exit_fatal;
  spdlog::critical("fatal error ({}): {}; forwarding what the outbox still holds (up to {} s), then "
                   "exiting with status {} so that systemd restarts herdgate",
                   e.code.empty() ? "unclassified" : e.code, e.message, k_fatal_forward_within.count(), status);
  systemd.stopping("fatal error (" + e.code + "): " + e.message);
  if (app.forward_stored(k_fatal_forward_within)) spdlog::info("Kafka acknowledged every event in the outbox");
  spdlog::shutdown();
  std::_Exit(status);
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
  const herd::gateway::systemd_notifier systemd;

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
    // The producer configuration as the daemon will build it, checked whole by librdkafka.
    if (auto st = herd::forwarder::check_producer_config(config->kafka); !st) {
      std::cerr << config_path << ": " << st.err().message << "\n";
      return 2;
    }
    std::cout << config_path << ": ok (registry: " << registry->collar_count() << " collars)\n";
    return 0;
  }
  herd::core::setup_logging(*herd::core::parse_log_level(config->log_level));

  // Block the signals before any thread starts, then take them synchronously (sigtimedwait below).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);  // raised by the failure policy's stop callback (a fatal error)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  herd::core::system_clock clock;
  auto gw = herd::gateway::app::create(*config, clock);
  if (!gw) {
    spdlog::critical("cannot start: {}", gw.err().message);
    systemd.status("cannot start: " + gw.err().message);
    return 1;
  }
  auto& app = **gw;
  // A fatal error (failure_policy, README "Failure handling") wakes this loop at once.
  app.on_fatal([](const herd::core::error&) { ::kill(::getpid(), SIGUSR1); });
  std::atomic<bool> announced = false;
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
    if (!announced.exchange(true)) {
      if (!ready_file.empty()) write_file_atomically(ready_file, "ready\n");
      systemd.ready("subscribed to " + config->mqtt.broker_uri);
    } else {
      systemd.status("subscribed again to " + config->mqtt.broker_uri);
    }
  });
  if (!st) {
    spdlog::critical("cannot start: {}", st.err().message);
    systemd.status("cannot start: " + st.err().message);
    return 1;
  }
  write_metrics_address();

  // The main loop: signals, the systemd watchdog (fed only while the forwarder's loop goes round,
  // see systemd_notify.hpp) and a STATUS line now and then. Never touches storage itself.
  using steady = std::chrono::steady_clock;
  using std::chrono::milliseconds;
  const auto steady_ms = [] {
    return std::chrono::duration_cast<milliseconds>(steady::now().time_since_epoch()).count();
  };
  const std::int64_t started_ms = steady_ms();
  const auto watchdog = systemd.watchdog_timeout();
  const auto ping_every = std::chrono::duration_cast<milliseconds>(watchdog / 2);
  const auto limit = herd::gateway::stall_limit(watchdog);
  if (watchdog.count() > 0) {
    spdlog::info("systemd watchdog: {} ms; pinging every {} ms while the forwarder's loop is younger than {} ms",
                 watchdog.count() / 1000, ping_every.count(), limit.count());
  }
  auto next_ping = steady::now();
  auto next_status = steady::now() + std::chrono::seconds(10);
  bool stalled = false;
  for (;;) {
    const auto now = steady::now();
    if (watchdog.count() > 0 && now >= next_ping) {
      const auto stats = app.current_stats();
      if (auto problem = herd::gateway::pipeline_problem(stats, steady_ms(), started_ms, limit)) {
        if (!stalled) {
          spdlog::error("{}: no longer feeding the systemd watchdog, so systemd restarts herdgate", *problem);
          systemd.status(*problem + "; watchdog not fed");
        }
        stalled = true;
      } else {
        systemd.watchdog();
        if (stalled) {
          spdlog::warn("forwarder going round again: feeding the systemd watchdog again");
          systemd.status(herd::gateway::status_line(stats));
        }
        stalled = false;
      }
      next_ping = now + ping_every;
    }
    if (now >= next_status) {
      if (!stalled) systemd.status(herd::gateway::status_line(app.current_stats()));
      next_status = now + std::chrono::seconds(10);
    }
    auto wake = next_status;
    if (watchdog.count() > 0) wake = std::min(wake, next_ping);
    const auto wait = std::clamp(std::chrono::duration_cast<milliseconds>(wake - steady::now()),
                                 milliseconds(1), milliseconds(1000));
    timespec ts{};
    ts.tv_sec = static_cast<std::time_t>(wait.count() / 1000);
    ts.tv_nsec = static_cast<long>((wait.count() % 1000) * 1000000);
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    if (auto fatal = app.fatal_error()) exit_after_fatal(systemd, app, *fatal);
    if (sig < 0 || sig == SIGUSR1) continue;  // EAGAIN: time to look at the watchdog; EINTR: look again
    if (sig == SIGHUP) {
      systemd.status("reloading the registry");
      (void)app.reload_registry();
      systemd.status(herd::gateway::status_line(app.current_stats()));
      continue;
    }
    spdlog::info("signal {}: stopping (ingest first, then forwarding)", sig);
    break;
  }
  systemd.stopping("stopping: ingest first, then forwarding (up to 5 s)");
  if (auto stopped = app.stop(std::chrono::seconds(5)); !stopped) {
    // The decision the MQTT source leaves to us: a delivery still holds a reading that storage
    // refuses. Exit without acknowledging it, exactly as a crash would: the broker redelivers it.
    spdlog::critical("stopping while storage still fails ({}): exiting without acknowledging the held "
                     "message; the broker will redeliver it", stopped.err().message);
    spdlog::shutdown();
    std::_Exit(k_exit_tempfail);
  }
  spdlog::info("stopped: {}", app.summary());
  return 0;
}
