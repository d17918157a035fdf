// herd-projector: consumes herd.events into the herd-health read model (README: "The projector").
//   herd-projector [--config FILE]                    run the daemon
//   herd-projector --check-config --config FILE       validate and exit
//   herd-projector rebuild --from topic|store --into NEW.db [--config FILE]
//   herd-projector digest --db FILE                    canonical digest of a SQLite read model
//   herd-projector animals --db FILE                   per-animal state table
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "herd/alerts/relay.hpp"
#include "herd/core/logging.hpp"
#include "herd/daemon/status_server.hpp"
#include "herd/daemon/systemd_notifier.hpp"
#include "herd/projector/config.hpp"
#include "herd/projector/consumer_loop.hpp"
#include "herd/projector/observability.hpp"
#include "herd/projector/rebuild.hpp"
#include "herd/read_model/digest.hpp"
#ifdef HERD_WITH_POSTGRESQL
#include "herd/read_model/pg_store.hpp"
#endif
#include "herd/read_model/sqlite_store.hpp"
#include "state_table.hpp"

namespace {

using herd::projector::projector_config;

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  { std::ofstream(tmp) << text; }
  std::rename(tmp.c_str(), path.c_str());
}

herd::core::result<std::unique_ptr<herd::read_model::store>> open_store(const herd::projector::read_model_config& c) {
  if (c.backend == "sqlite") {
    return herd::read_model::open_sqlite_store(
        {.path = c.path, .synchronous_full = c.synchronous_full, .cache_mib = c.cache_mib});
  }
#ifdef HERD_WITH_POSTGRESQL
  if (c.backend == "postgresql") {
    return herd::read_model::open_pg_store({.conninfo = c.conninfo,
                                            .application_name = c.application_name,
                                            .lock_timeout_ms = c.lock_timeout_ms,
                                            .statement_timeout_ms = c.statement_timeout_ms});
  }
#endif
  return herd::core::error::fatal("read_model.backend = " + c.backend + " is not built into this herd-projector");
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int run_daemon(const projector_config& config, const std::string& ready_file, const std::string& metrics_file) {
  const herd::daemon::systemd_notifier systemd;
  auto log = herd::core::module_logger("main");
  // Signals: blocked before any thread exists (librdkafka's, the HTTP server's inherit the mask)
  // and taken by one waiter thread below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto store = open_store(config.read_model);
  if (!store) {
    log->error("{}", store.err().message);
    return store.err().kind == herd::core::error_kind::fatal ? 2 : 1;
  }
  herd::projector::consumer_loop loop(config.kafka, **store);
  if (auto st = loop.start(); !st) {
    log->error("{}", st.err().message);
    return 2;
  }
  // The herd.alerts relay: its own thread and store connection (README, "herd.alerts").
  std::unique_ptr<herd::alerts::relay> relay;
  if (config.alerts.relay) {
    herd::alerts::relay_options ro;
    ro.bootstrap = config.kafka.bootstrap;
    ro.topic = config.alerts.topic;
    ro.max_in_flight = config.alerts.max_in_flight;
    ro.dedup_scan = config.alerts.dedup_scan;
    for (const auto& [k, v] : config.kafka.properties) {
      if (!herd::projector::is_consumer_only_property(k)) ro.properties[k] = v;
    }
    relay = std::make_unique<herd::alerts::relay>(ro, [rm = config.read_model] { return open_store(rm); });
    if (auto st = relay->start(); !st) {
      log->error("{}", st.err().message);
      return 2;
    }
  }
  std::unique_ptr<herd::daemon::status_server> http;
  if (!config.metrics_listen.empty()) {
    const auto& stats = loop.stats();
    const char* backend = (*store)->backend();
    const auto max_stall = config.max_stall;
    const herd::alerts::relay_stats* rstats = relay ? &relay->stats() : nullptr;
    const auto max_stuck = config.alerts.max_stuck;
    http = std::make_unique<herd::daemon::status_server>(
        "metrics.listen", config.metrics_listen,
        std::map<std::string, std::function<herd::daemon::http_reply()>>{
            {"/metrics",
             [&stats, backend, rstats] {
               auto text = herd::projector::render_prometheus(stats, backend);
               if (rstats != nullptr) text += herd::alerts::render_relay_prometheus(*rstats);
               return herd::daemon::http_reply{200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)};
             }},
            {"/health", [&stats, max_stall, rstats, max_stuck] {
               const std::string relay_problem =
                   rstats != nullptr ? herd::alerts::relay_problem(*rstats, steady_ms(), max_stuck) : std::string();
               auto h = herd::projector::evaluate_health(stats, steady_ms(), max_stall, relay_problem);
               return herd::daemon::http_reply{h.healthy ? 200 : 503, "application/json", h.json};
             }}});
    if (auto st = http->start(); !st) {
      log->error("{}", st.err().message);
      return 2;
    }
    if (!metrics_file.empty()) write_file_atomically(metrics_file, http->address() + "\n");
  }

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    while (!done) {
      timespec ts{1, 0};
      const int sig = sigtimedwait(&signals, nullptr, &ts);
      if (sig == SIGTERM || sig == SIGINT) {
        log->info("signal {}: stopping (applying the pending batch, leaving the group)", sig);
        systemd.stopping(herd::projector::status_line(loop.stats()));
        loop.stop();
        return;
      }
      systemd.status(herd::projector::status_line(loop.stats()));
    }
  });
  systemd.ready("consuming " + config.kafka.topic);
  if (!ready_file.empty()) write_file_atomically(ready_file, "ready\n");
  log->info("herd-projector: {} -> {} read model", config.kafka.topic, (*store)->backend());
  auto st = loop.run();
  done = true;
  loop.stop();
  waiter.join();
  if (relay) relay->stop();
  if (http) http->stop();
  if (!st) {
    log->error("stopped: {}", st.err().message);
    return 1;
  }
  log->info("stopped cleanly: {}", herd::projector::status_line(loop.stats()));
  return 0;
}

int rebuild(const projector_config& config, const std::string& from, const std::string& into) {
  if (std::filesystem::exists(into)) {
    std::cerr << "rebuild: " << into << " exists; the rebuild writes a fresh read model\n";
    return 2;
  }
  auto target = herd::read_model::open_sqlite_store({.path = into});
  if (!target) {
    std::cerr << target.err().message << "\n";
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (from == "store") {
    auto source = open_store(config.read_model);
    if (!source) {
      std::cerr << source.err().message << "\n";
      return 1;
    }
    auto r = herd::projector::rebuild_from_store(**source, **target);
    if (!r) {
      std::cerr << "rebuild: " << r.err().message << "\n";
      return 1;
    }
    std::cout << "rebuilt from the event store: " << r->records << " events, " << r->applied << " applied, "
              << r->unknown_type << " unknown type, " << r->rejected << " rejected\n";
  } else {
    auto opts = config.kafka;
    opts.use_group = false;
    opts.stop_at_end = true;
    opts.dead_lettering = false;
    opts.alert_outbox = false;  // published when first projected
    herd::projector::consumer_loop loop(opts, **target);
    if (auto st = loop.start(); !st) {
      std::cerr << st.err().message << "\n";
      return 1;
    }
    if (auto st = loop.run(); !st) {
      std::cerr << "rebuild: " << st.err().message << "\n";
      return 1;
    }
    const auto& s = loop.stats();
    std::cout << "rebuilt from topic " << opts.topic << ": " << s.records << " records, " << s.applied
              << " applied, " << s.duplicates << " duplicates, " << s.unknown_type << " unknown type, "
              << s.rejected << " rejected, " << s.undecodable << " undecodable, " << s.future_dated
              << " future-dated\n";
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto d = herd::read_model::digest(**target);
  if (!d) {
    std::cerr << d.err().message << "\n";
    return 1;
  }
  std::cout << "took " << secs << " s; digest " << d->hex << " (" << d->animals << " animals, " << d->events
            << " events)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"herd-projector: herd.events -> the herd-health read model (event store, animal state, alerts)"};
  cli.fallthrough();  // --config may follow a subcommand
  std::string config_path = "/etc/herd-projector/herd-projector.toml";
  std::string ready_file, metrics_file;
  bool check_only = false;
  cli.add_option("-c,--config", config_path, "config file (TOML)")->capture_default_str();
  cli.add_option("--ready-file", ready_file, "file to create once consuming");
  cli.add_option("--metrics-address-file", metrics_file, "file to write the metrics listener's host:port to");
  cli.add_flag("--check-config", check_only, "validate the config file, then exit");
  std::string from = "topic", into, db;
  auto* rb = cli.add_subcommand("rebuild", "build a fresh SQLite read model from the topic or the event store");
  rb->add_option("--from", from, "topic (from its beginning) or store (the configured read model's event store)")
      ->check(CLI::IsMember({"topic", "store"}))
      ->capture_default_str();
  rb->add_option("--into", into, "the new SQLite read model (must not exist)")->required();
  auto* dg = cli.add_subcommand("digest", "print the canonical digest of a SQLite read model");
  dg->add_option("--db", db, "SQLite read model")->required()->check(CLI::ExistingFile);
  auto* an = cli.add_subcommand("animals", "print each animal's state from a SQLite read model");
  an->add_option("--db", db, "SQLite read model")->required()->check(CLI::ExistingFile);
  CLI11_PARSE(cli, argc, argv);

  if (*dg || *an) {
    auto s = herd::read_model::open_sqlite_store({.path = db});
    if (!s) {
      std::cerr << s.err().message << "\n";
      return 1;
    }
    if (*an) return herd::projector::print_state_table(**s, std::cout) ? 0 : 1;
    auto d = herd::read_model::digest(**s);
    if (!d) {
      std::cerr << d.err().message << "\n";
      return 1;
    }
    std::cout << d->hex << "  animals " << d->animals << "  alerts " << d->alerts << "  events " << d->events << "\n";
    return 0;
  }

  auto config = herd::projector::load_config(config_path);
  if (!config) {
    std::cerr << config.err().message << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return 0;
  }
  herd::core::setup_logging(*herd::core::parse_log_level(config->log_level));
  if (*rb) return rebuild(*config, from, into);
  return run_daemon(*config, ready_file, metrics_file);
}
