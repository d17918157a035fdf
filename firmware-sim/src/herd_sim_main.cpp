// herd-sim: publishes a deterministic, simulated collar fleet to an MQTT broker.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "herd/core/time_format.hpp"
#include "herd/sim/fleet.hpp"
#include "herd/sim/ids.hpp"
#include "herd/sim/publisher.hpp"

namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

// First SIGINT/SIGTERM: stop publishing, wait for the acks, print the summary. SA_RESETHAND makes
// a second one kill the process as usual.
void install_stop_handler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop.store(true); };
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void print_summary(std::FILE* to, const herd::sim::publish_stats& s) {
  const double rate = s.elapsed_s > 0 ? static_cast<double>(s.published) / s.elapsed_s : 0.0;
  std::fprintf(to, "%s\n",
               fmt::format("published {} acked {} in {:.3f} s ({:.0f}/s)", s.published, s.acked,
                           s.elapsed_s, rate)
                   .c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // CLI11's own number validators print DBL_MAX in full; these say what is expected.
  const auto positive = [](const std::string& s) {
    return std::strtod(s.c_str(), nullptr) > 0 ? std::string{} : "must be > 0, got " + s;
  };
  const auto non_negative = [](const std::string& s) {
    return std::strtod(s.c_str(), nullptr) >= 0 ? std::string{} : "must be >= 0, got " + s;
  };

  CLI::App app{"Simulated collar fleet: publishes readings in the collar MQTT format "
               "(farm/<farm>/collar/<collar>/telemetry, QoS 1), deterministic from a seed."};

  herd::sim::fleet_options fo;
  herd::sim::publish_options po;
  po.client_id = fmt::format("herd-sim-{}", ::getpid());
  std::uint64_t count = 0;
  double duration_s = 0;
  std::string start;
  std::string ts_mode = "sim";
  std::uint32_t first_seq = 0;
  std::string registry_out;
  std::string json_out;
  bool dry_run = false;

  app.add_option("--broker", po.broker_uri, "MQTT broker URI")->capture_default_str();
  app.add_option("--client-id", po.client_id, "MQTT client id (default herd-sim-<pid>)");
  app.add_option("--farm", fo.farm_id, "farm id in the topic")->capture_default_str();
  app.add_option("--collars", fo.collars, "number of collars")
      ->check(CLI::Range(1, herd::sim::k_max_collars))
      ->capture_default_str();
  auto* count_opt =
      app.add_option("--count", count, "total readings (default: collars * 6; 0 = none)");
  auto* duration_opt = app.add_option("--duration", duration_s,
                                      "stop after S seconds (with --count: whichever is first)")
                           ->check(positive);
  app.add_option("--rate", po.rate, "readings per second, 0 = as fast as possible")
      ->check(non_negative)
      ->capture_default_str();
  app.add_option("--seed", fo.seed, "seed of the simulation")->capture_default_str();
  app.add_option("--interval-s", fo.interval_s, "seconds between two readings of a collar")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  app.add_option("--start", start, "virtual time of the first reading, ISO-8601 UTC "
                                   "(default 2026-01-01T00:00:00Z)")
      ->check([](const std::string& s) {
        return herd::core::parse_iso8601_utc(s)
                   ? std::string{}
                   : "expected YYYY-MM-DDTHH:MM:SS[.fff]Z or YYYY-MM-DD, got '" + s + "'";
      });
  app.add_option("--ts-mode", ts_mode, "ts of readings: sim (virtual time) or now (wall clock)")
      ->check(CLI::IsMember({"sim", "now"}))
      ->capture_default_str();
  auto* first_seq_opt = app.add_option(
      "--first-seq", first_seq, "seq of every collar's first reading (default: per collar, from the seed)");
  app.add_option("--qos", po.qos, "MQTT QoS")->check(CLI::IsMember({0, 1, 2}))->capture_default_str();
  app.add_option("--max-in-flight", po.max_in_flight, "unacknowledged messages at most")
      ->check(CLI::Range(1, 65'535))
      ->capture_default_str();
  app.add_option("--registry-out", registry_out,
                 "write the collar->animal registry CSV here (with --count 0: only that)");
  app.add_option("--json-out", json_out, "also write every (topic, payload) as a JSON line here");
  app.add_flag("--dry-run", dry_run, "print '<topic> <payload>' lines to stdout, no broker");

  CLI11_PARSE(app, argc, argv);

  if (!start.empty()) fo.start_ms = *herd::core::parse_iso8601_utc(start);
  fo.ts = ts_mode == "now" ? herd::sim::ts_mode::now : herd::sim::ts_mode::sim;
  if (*first_seq_opt) fo.first_seq = first_seq;
  if (auto st = herd::sim::validate(fo); !st) {
    std::fprintf(stderr, "herd-sim: %s\n", st.err().message.c_str());
    return 2;
  }
  if (*count_opt) {
    po.count = count;
  } else if (!*duration_opt) {
    po.count = static_cast<std::uint64_t>(fo.collars) * 6;
  }
  if (*duration_opt) {
    po.duration = std::chrono::milliseconds(static_cast<std::int64_t>(duration_s * 1000));
  }
  po.json_out = json_out;
  po.stop = &g_stop;

  herd::sim::fleet fleet(fo);
  if (!registry_out.empty()) {
    if (auto st = fleet.write_registry(registry_out); !st) {
      std::fprintf(stderr, "herd-sim: %s\n", st.err().message.c_str());
      return 1;
    }
    std::fprintf(stderr, "herd-sim: wrote registry of %d collars to %s\n", fo.collars,
                 registry_out.c_str());
  }
  if (po.count && *po.count == 0) return 0;

  install_stop_handler();
  if (dry_run) {
    auto stats = herd::sim::print(fleet, po, std::cout);
    if (!stats) {
      std::fprintf(stderr, "herd-sim: %s\n", stats.err().message.c_str());
      return 1;
    }
    print_summary(stderr, *stats);  // stdout carries only the readings
    return 0;
  }
  auto stats = herd::sim::publish(fleet, po);
  if (!stats) {
    std::fprintf(stderr, "herd-sim: %s\n", stats.err().message.c_str());
    return 1;
  }
  print_summary(stdout, *stats);
  return 0;
}
