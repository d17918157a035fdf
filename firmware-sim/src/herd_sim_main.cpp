// herd-sim: publishes a deterministic, simulated collar fleet to an MQTT broker.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "herd/core/time_format.hpp"
#include "herd/sim/fleet.hpp"
#include "herd/sim/herd.hpp"
#include "herd/sim/ids.hpp"
#include "herd/sim/publisher.hpp"
#include "herd/sim/stop_signal.hpp"

namespace {

void print_summary(std::FILE* to, const herd::sim::publish_stats& s) {
  const double rate = s.elapsed_s > 0 ? static_cast<double>(s.published) / s.elapsed_s : 0.0;
  std::fprintf(to, "%s\n",
               fmt::format("published {} acked {} in {:.3f} s ({:.0f}/s)", s.published, s.acked,
                           s.elapsed_s, rate)
                   .c_str());
}

// The herd as a publisher source; remembers how far virtual time got.
class herd_source final : public herd::sim::message_source {
 public:
  explicit herd_source(herd::sim::herd& h) : h_(h) {}
  std::optional<herd::sim::message> next() override {
    auto m = h_.next();
    if (m) last_ms_ = m->send_ms;
    else done_ = true;
    return m;
  }
  std::int64_t reached_ms() const { return done_ ? h_.end_ms() : last_ms_ + 1; }

 private:
  herd::sim::herd& h_;
  std::int64_t last_ms_ = 0;
  bool done_ = false;
};

void print_herd_stats(const herd::sim::herd& h) {
  const auto& s = h.stats();
  std::fprintf(stderr, "%s\n",
               fmt::format("herd-sim: sampled {} sent {} (live {}, batched {}, duplicates {}, "
                           "malformed {}), valid {}, lost {}, fallen {}, without temp {}; episodes {}",
                           s.sampled, s.sent, s.live, s.batched, s.duplicates, s.malformed, s.valid, s.lost,
                           s.fallen_readings, s.no_temp, h.episodes().size())
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
  std::string model = "baseline";
  std::string config_path;
  herd::sim::herd_options ho;
  herd::sim::herd_run_config run;
  std::string ground_truth_out;
  std::string episodes_file;
  std::string thi_file;
  bool no_random_episodes = false;
  bool no_faults = false;
  bool realtime = false;
  bool flood = false;

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

  // The realistic herd (--model herd, or a --config file).
  auto* model_opt = app.add_option("--model", model,
                                   "baseline: round-robin healthy fleet (tests, benchmarks); herd: the "
                                   "realistic herd with episodes, device faults and ground truth")
                        ->check(CLI::IsMember({"baseline", "herd"}))
                        ->capture_default_str();
  app.add_option("--config", config_path, "herd TOML config ([herd] [episodes] [faults] [thi] [run]); "
                                          "implies --model herd; options given here override it")
      ->check(CLI::ExistingFile);
  auto* days_opt = app.add_option("--days", ho.days, "herd: virtual days to simulate")->check(CLI::Range(1, 3660));
  auto* speed_opt = app.add_option("--speed", po.speed,
                                   "herd: virtual seconds per wall-clock second (0 = as fast as possible)")
                        ->check(non_negative);
  app.add_flag("--realtime", realtime, "herd: real time (speed 1) from now, for demos");
  app.add_flag("--flood", flood, "herd: as fast as possible (speed 0, rate 0), for benchmarks");
  auto* gt_opt = app.add_option("--ground-truth-out", ground_truth_out,
                                "herd: write every episode (JSON lines) here at the end");
  app.add_option("--episodes-file", episodes_file, "herd: scripted episodes (JSON lines, ground-truth format)")
      ->check(CLI::ExistingFile);
  app.add_flag("--no-random-episodes", no_random_episodes, "herd: only the scripted episodes");
  app.add_option("--thi-file", thi_file, "herd: THI series, CSV time,thi")->check(CLI::ExistingFile);
  app.add_flag("--no-faults", no_faults, "herd: no device faults");
  auto* bolus_opt = app.add_option("--bolus-pct", ho.bolus_pct, "herd: share of boluses (rest collars)")->check(CLI::Range(0, 100));
  auto* civ_opt = app.add_option("--collar-interval-s", ho.collar_interval_s, "herd: collar sample interval")->check(CLI::Range(1, 86'400));
  auto* biv_opt = app.add_option("--bolus-interval-s", ho.bolus_interval_s, "herd: bolus sample interval")->check(CLI::Range(1, 86'400));
  herd::sim::fault_rates fr;
  auto* off_opt = app.add_option("--offline-per-day", fr.offline_per_device_day, "herd: offline gaps per device-day")->check(non_negative);
  auto* dup_opt = app.add_option("--duplicate-pct", fr.duplicate_pct, "herd: % of readings sent twice")->check(CLI::Range(0.0, 100.0));
  auto* mal_opt = app.add_option("--malformed-pct", fr.malformed_pct, "herd: % of readings sent as corrupt frames")->check(CLI::Range(0.0, 100.0));
  auto* fall_opt = app.add_option("--fall-off-per-year", fr.fall_off_per_collar_year, "herd: falls per collar-year")->check(non_negative);
  auto* move_opt = app.add_option("--move-per-year", fr.move_per_collar_year, "herd: moves per collar-year")->check(non_negative);

  CLI11_PARSE(app, argc, argv);

  if (!config_path.empty() || model == "herd") {
    (void)model_opt;
    // Defaults < config file < command line.
    const herd::sim::herd_options cli = ho;
    herd::sim::herd_options h;
    if (!config_path.empty()) {
      if (auto st = herd::sim::load_herd_config(config_path, h, run); !st) {
        std::fprintf(stderr, "herd-sim: %s\n", st.err().message.c_str());
        return 2;
      }
    }
    if (*app.get_option("--seed")) h.seed = fo.seed;
    if (*app.get_option("--collars")) h.animals = fo.collars;
    if (*app.get_option("--farm")) h.farm_id = fo.farm_id;
    if (*days_opt) h.days = cli.days;
    if (*bolus_opt) h.bolus_pct = cli.bolus_pct;
    if (*civ_opt) h.collar_interval_s = cli.collar_interval_s;
    if (*biv_opt) h.bolus_interval_s = cli.bolus_interval_s;
    if (*first_seq_opt) h.first_seq = first_seq;
    if (*off_opt) h.faults.offline_per_device_day = fr.offline_per_device_day;
    if (*dup_opt) h.faults.duplicate_pct = fr.duplicate_pct;
    if (*mal_opt) h.faults.malformed_pct = fr.malformed_pct;
    if (*fall_opt) h.faults.fall_off_per_collar_year = fr.fall_off_per_collar_year;
    if (*move_opt) h.faults.move_per_collar_year = fr.move_per_collar_year;
    if (no_faults) h.faults.offline_per_device_day = h.faults.duplicate_pct = h.faults.malformed_pct =
        h.faults.fall_off_per_collar_year = h.faults.move_per_collar_year = 0;
    if (no_random_episodes) h.random_episodes = false;
    if (!episodes_file.empty()) {
      auto sc = herd::sim::load_episode_script(episodes_file, h.animals);
      if (!sc) {
        std::fprintf(stderr, "herd-sim: %s\n", sc.err().message.c_str());
        return 2;
      }
      h.script = std::move(*sc);
    }
    if (!thi_file.empty()) {
      auto t = herd::sim::load_thi_csv(thi_file);
      if (!t) {
        std::fprintf(stderr, "herd-sim: %s\n", t.err().message.c_str());
        return 2;
      }
      h.thi = std::move(*t);
    }
    if (run.broker && !*app.get_option("--broker")) po.broker_uri = *run.broker;
    if (run.rate && !*app.get_option("--rate")) po.rate = *run.rate;
    if (run.speed && !*speed_opt) po.speed = *run.speed;
    if (run.realtime && *run.realtime) realtime = true;
    if (run.ground_truth && !*gt_opt) ground_truth_out = *run.ground_truth;
    if (run.registry && registry_out.empty()) registry_out = *run.registry;
    if (run.json_out && json_out.empty()) json_out = *run.json_out;
    if (realtime) {
      po.speed = 1;
      if (start.empty()) {
        h.start_ms = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count() * 1000;
      }
    }
    if (flood) {
      po.speed = 0;
      po.rate = 0;
    }
    if (!start.empty()) h.start_ms = *herd::core::parse_iso8601_utc(start);
    if (auto st = herd::sim::validate(h); !st) {
      std::fprintf(stderr, "herd-sim: %s\n", st.err().message.c_str());
      return 2;
    }
    if (*count_opt) po.count = count;
    if (*duration_opt) po.duration = std::chrono::milliseconds(static_cast<std::int64_t>(duration_s * 1000));
    po.json_out = json_out;
    po.stop = &herd::sim::stop_flag();
    herd::sim::herd herd(std::move(h));
    if (!registry_out.empty()) {
      if (auto st = herd.write_registry(registry_out); !st) {
        std::fprintf(stderr, "herd-sim: %s\n", st.err().message.c_str());
        return 1;
      }
      std::fprintf(stderr, "herd-sim: wrote registry of %d devices (%zu rows) to %s\n", herd.devices(),
                   herd.registry().size(), registry_out.c_str());
    }
    if (po.count && *po.count == 0) {
      if (!ground_truth_out.empty()) {
        if (auto st = herd.write_ground_truth(ground_truth_out, herd.end_ms()); !st) {
          std::fprintf(stderr, "herd-sim: %s\n", st.err().message.c_str());
          return 1;
        }
      }
      return 0;
    }
    herd::sim::install_stop_handler();
    herd_source src(herd);
    auto stats = dry_run ? herd::sim::print(src, po, std::cout) : herd::sim::publish(src, po);
    if (!ground_truth_out.empty()) {
      if (auto st = herd.write_ground_truth(ground_truth_out, src.reached_ms()); !st) {
        std::fprintf(stderr, "herd-sim: %s\n", st.err().message.c_str());
        return 1;
      }
    }
    print_herd_stats(herd);
    if (!stats) {
      std::fprintf(stderr, "herd-sim: %s\n", stats.err().message.c_str());
      return 1;
    }
    print_summary(dry_run ? stderr : stdout, *stats);
    return 0;
  }

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
  po.stop = &herd::sim::stop_flag();

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

  herd::sim::install_stop_handler();
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
