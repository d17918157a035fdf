// Forwarding after a Kafka outage (issue 15, goal 4), as a farm engineer would try it: herd-sim
// publishes through mosquitto to a herdgate daemon at a fixed rate, every broker of the dev Kafka
// goes down for --outage seconds, then all come back. Printed per rate: the seconds from the
// brokers' return until each partition of herd.events grows again (median and worst over the
// partitions), for herdgate as configured (reconnect.backoff.max.ms = 500) beside herdgate with
// librdkafka's default cap (10,000 ms: herdgate before issue 15). The ceiling is the connect
// itself (a fresh client's first watermark answer, printed as "probe connect").
// Usage: herd-bench-resume [--outage 20] [--rates 250,1000,5000]
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/temp_dir.hpp>

#include "bench_processes.hpp"
#include "herd/core/logging.hpp"

using namespace std::chrono_literals;
namespace ts = herd::test_support;

namespace {

constexpr int k_collars = 200;
constexpr int k_lead_s = 5;    // load before the outage
constexpr int k_after_s = 15;  // load after it

struct outcome {
  std::vector<double> seconds;  // per partition that resumed, sorted
  int stuck = 0;                // partitions that did not grow within 30 s
};

outcome run(const std::filesystem::path& dir, const std::string& registry, int rate, int outage_s,
            const std::string& kafka_extra, const std::string& name) {
  ts::mosquitto_broker broker;
  auto kafka = herd::bench::start_kafka();
  herd::bench::gateway_daemon d(dir, name, broker.uri(), kafka->bootstrap(), (dir / (name + ".db")).string(), registry,
                                kafka_extra);
  const int total = rate * (k_lead_s + outage_s + k_after_s);
  auto sim = herd::bench::sim(dir, broker.uri(), {"--collars", std::to_string(k_collars), "--count",
                                                  std::to_string(total), "--rate", std::to_string(rate), "--seed", "3"});
  std::this_thread::sleep_for(std::chrono::seconds(k_lead_s));  // load is on
  auto* mc = kafka->mock();
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(mc, b);
  std::this_thread::sleep_for(std::chrono::seconds(outage_s));  // the outage
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(mc, b);
  const auto resumed = ts::partition_resume_seconds(kafka->bootstrap(), "herd.events", 30s);
  outcome o;
  for (const auto& r : resumed) {
    if (r.seconds) {
      o.seconds.push_back(*r.seconds);
    } else {
      ++o.stuck;
    }
  }
  std::sort(o.seconds.begin(), o.seconds.end());
  sim->wait_exit(std::chrono::seconds(120 + total / std::max(rate, 1)));
  d.proc->signal(SIGTERM);
  d.proc->wait_exit(30s);
  return o;
}

// The connect time of a fresh client to the dev Kafka: the floor of any resume figure here.
double probe_connect_seconds() {
  auto kafka = herd::bench::start_kafka();
  const auto t0 = std::chrono::steady_clock::now();
  ts::partition_resume_seconds(kafka->bootstrap(), "herd.events", 1ms);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"herd-bench-resume: forwarding after every Kafka broker was down"};
  int outage_s = 20;
  std::vector<int> rates = {250, 1000, 5000};
  app.add_option("--outage", outage_s, "seconds every broker stays down")->check(CLI::Range(1, 600));
  app.add_option("--rates", rates, "readings per second offered by herd-sim")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  herd::core::setup_logging(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ts::temp_dir dir;
  const auto registry = (dir.path() / "collars.csv").string();
  {
    ts::mosquitto_broker broker;
    herd::bench::sim(dir.path(), broker.uri(),
                     {"--collars", std::to_string(k_collars), "--count", "0", "--registry-out", registry})
        ->wait_exit(30s);
  }
  std::printf("herdgate after a Kafka outage: %d collars, every broker down for %d s, seconds from the brokers'\n"
              "return until each partition of herd.events grows again (6 partitions, 3 brokers)\n",
              k_collars, outage_s);
  std::printf("probe connect (the floor): %.3f s\n", probe_connect_seconds());
  std::printf("%-10s %-44s %8s %8s %8s\n", "rate/s", "herdgate", "median", "worst", "stuck");
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"reconnect.backoff.max.ms 500 (as shipped)", ""},
      {"reconnect.backoff.max.ms 10000 (librdkafka)", "[kafka.properties]\n\"reconnect.backoff.max.ms\" = \"10000\"\n"},
  };
  for (const int rate : rates) {
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const auto o = run(dir.path(), registry, rate, outage_s, variants[v].second, fmt::format("resume-{}-{}", rate, v));
      const double median = o.seconds.empty() ? -1 : o.seconds[o.seconds.size() / 2];
      const double worst = o.seconds.empty() ? -1 : o.seconds.back();
      std::printf("%-10d %-44s %8.2f %8.2f %8d\n", rate, variants[v].first.c_str(), median, worst, o.stuck);
    }
  }
  return 0;
}
