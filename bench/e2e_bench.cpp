// End-to-end benchmark: herd-sim -> mosquitto -> herdgate (in-process) -> outbox -> dev Kafka.
// Prints, in one run and for each outbox durability setting:
//   - raw SQLite insert rate, one row per transaction, same settings and row size (the limit),
//   - end-to-end throughput: first publish to last Kafka acknowledgement, flood,
//   - latency p50/p99 (publish -> visible to a Kafka consumer) at a fixed offered rate,
//   - and in the same paced run, arrival at herdgate -> Kafka acknowledgement p50/p99, from the
//     forwarder's ack latency histogram (a bucket bound: "<= 25" means in the bucket up to 25 ms).
// Usage: herd-bench-e2e [readings=20000] [rate=500] [seconds=10]
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>
#include <CLI/CLI.hpp>

#include "herd/buffer/outbox.hpp"
#include "herd/core/logging.hpp"
#include "herd/events/v1/collar_reading.pb.h"
#include "herd/events/v1/envelope.pb.h"
#include "herd/gateway/app.hpp"

using namespace herd;
using namespace std::chrono_literals;
namespace ts = herd::test_support;
using steady = std::chrono::steady_clock;

namespace {

constexpr int k_collars = 100;

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

const char* name_of(buffer::sync_mode m) {
  return m == buffer::sync_mode::full ? "full" : m == buffer::sync_mode::normal ? "normal" : "off";
}

// Appends n rows of `row_bytes` one per transaction, as ingest does. Returns rows/s.
double raw_insert_rate(const std::string& path, buffer::sync_mode mode, int n, std::size_t row_bytes) {
  auto ob = buffer::outbox::open({path, mode});
  if (!ob) throw std::runtime_error(ob.err().message);
  const std::string value(row_bytes, 'x');
  const auto t0 = steady::now();
  for (int i = 0; i < n; ++i) {
    auto r = (*ob)->append("276000000000001", "k" + std::to_string(i), [&](std::uint64_t) { return value; });
    if (!r) throw std::runtime_error(r.err().message);
  }
  return n / seconds_since(t0);
}

struct rig {
  ts::temp_dir dir;
  ts::mosquitto_broker broker;
  std::unique_ptr<cloud::dev_kafka> kafka;
  std::string registry;
  int sim_runs = 0;

  rig() {
    auto k = cloud::dev_kafka::start();
    if (!k) throw std::runtime_error(k.err().message);
    kafka = std::move(*k);
    registry = (dir / "collars.csv").string();
    sim({"--collars", std::to_string(k_collars), "--count", "0", "--registry-out", registry})->wait_exit(20s);
  }

  std::unique_ptr<ts::child_process> sim(std::vector<std::string> args) {
    std::vector<std::string> all = {"--broker", broker.uri(), "--client-id", "bench-sim-" + std::to_string(++sim_runs)};
    all.insert(all.end(), args.begin(), args.end());
    return std::make_unique<ts::child_process>(ts::binary_dir() + "/firmware-sim/herd-sim", all, dir.path());
  }

  std::unique_ptr<gateway::app> start_gateway(buffer::sync_mode mode, const core::clock& clock, int run) {
    gateway::gateway_config c;
    c.gateway_id = "bench";
    c.log_level = "warn";
    c.mqtt.broker_uri = broker.uri();
    c.mqtt.client_id = "herdgate-bench-" + std::to_string(run);
    c.kafka.bootstrap = kafka->bootstrap();
    c.outbox.path = (dir / ("outbox-" + std::to_string(run) + ".db")).string();
    c.outbox.synchronous = mode;
    c.registry_path = registry;
    auto gw = gateway::app::create(c, clock);
    if (!gw) throw std::runtime_error(gw.err().message);
    std::atomic<bool> ready{false};
    if (auto st = (*gw)->start([&] { ready = true; }); !st) throw std::runtime_error(st.err().message);
    if (!ts::wait_until([&] { return ready.load(); }, 20s)) throw std::runtime_error("gateway not ready");
    return std::move(*gw);
  }
};

// The bound (ms) of the histogram bucket holding the p-quantile of the events acknowledged between
// two forwarder stats snapshots; -1 when none, infinity when past the last bucket.
double ack_quantile_ms(const forwarder::forwarder_stats& before, const forwarder::forwarder_stats& after, double p) {
  const auto n = after.ack_latency_count - before.ack_latency_count;
  if (n == 0) return -1;
  for (std::size_t b = 0; b < forwarder::k_ack_latency_buckets_ms.size(); ++b) {
    const auto at_most = after.ack_latency_le[b] - before.ack_latency_le[b];
    if (static_cast<double>(at_most) >= p * static_cast<double>(n)) {
      return static_cast<double>(forwarder::k_ack_latency_buckets_ms[b]);
    }
  }
  return std::numeric_limits<double>::infinity();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  int readings = 20000, rate = 500, seconds = 10;
  CLI::App app{"publish -> Kafka acknowledgement and publish -> consumer latency through herdgate"};
  app.add_option("readings", readings, "readings to publish")->check(CLI::PositiveNumber);
  app.add_option("rate", rate, "readings per second")->check(CLI::PositiveNumber);
  app.add_option("seconds", seconds, "seconds of the latency runs")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  core::setup_logging(spdlog::level::warn);
  core::system_clock clock;
  rig r;
  std::printf("herdgate end-to-end benchmark: %d collars, flood of %d readings, latency at %d/s for %d s\n",
              k_collars, readings, rate, seconds);
  std::printf("%-8s %16s %18s %8s %12s %12s %12s %12s %12s\n", "sync", "raw insert/s", "end-to-end/s", "ratio",
              "lat p50 ms", "lat p99 ms", "lat max ms", "ack p50 <=", "ack p99 <=");
  int run = 0;
  for (const auto mode : {buffer::sync_mode::full, buffer::sync_mode::normal}) {
    const double raw = raw_insert_rate((r.dir / ("raw-" + std::string(name_of(mode)) + ".db")).string(),
                                       mode, mode == buffer::sync_mode::full ? 5000 : 20000, 230);

    // Throughput: flood, first publish to the last Kafka acknowledgement (forwarder acknowledged).
    auto gw = r.start_gateway(mode, clock, ++run);
    const auto before = gw->current_stats().forward.acknowledged;
    const auto t0 = steady::now();
    auto sim = r.sim({"--collars", std::to_string(k_collars), "--count", std::to_string(readings), "--rate", "0",
                      "--seed", std::to_string(run), "--first-seq", "1"});
    const bool done = ts::wait_until(
        [&] { return gw->current_stats().forward.acknowledged - before >= static_cast<std::uint64_t>(readings); }, 600s, 1ms);
    const double e2e = readings / seconds_since(t0);
    sim->wait_exit(60s);
    if (!done) std::printf("  (throughput run incomplete: %s)\n", gw->summary().c_str());

    // Latency: a fixed offered rate, ts = wall clock at publish, measured when a consumer sees it.
    const int n = rate * seconds;
    ts::kafka_reader reader(r.kafka->bootstrap(), "herd.events");
    // Only this run's paced readings count: their collar seqs start at 100000 * run.
    const std::uint32_t first_seq = 100000U * static_cast<std::uint32_t>(run);
    std::vector<double> latencies;
    // Catch up on what is already in the topic first, so the reader's backlog is not counted.
    reader.read_until([](const auto&) { return false; }, 2s);
    std::size_t seen = reader.records().size();
    const auto acks_before = gw->current_stats().forward;
    auto paced = r.sim({"--collars", std::to_string(k_collars), "--count", std::to_string(n), "--rate",
                        std::to_string(rate), "--ts-mode", "now", "--seed", std::to_string(100 + run),
                        "--first-seq", std::to_string(first_seq)});
    reader.read_until(
        [&](const auto& recs) {
          const auto now_ms = clock.now_ms();
          for (; seen < recs.size(); ++seen) {
            events::v1::EventEnvelope env;
            events::v1::CollarReading reading;
            if (!env.ParseFromString(recs[seen].value) || !env.payload().UnpackTo(&reading)) continue;
            if (reading.collar_seq() < first_seq || reading.collar_seq() >= first_seq + 100000U) continue;
            latencies.push_back(static_cast<double>(
                now_ms - google::protobuf::util::TimeUtil::TimestampToMilliseconds(env.occurred_at())));
          }
          return latencies.size() >= static_cast<std::size_t>(n);
        },
        std::chrono::seconds(seconds * 3 + 30));
    paced->wait_exit(60s);
    const auto acks_after = gw->current_stats().forward;
    (void)gw->stop();
    std::printf("%-8s %16.0f %18.0f %8.2f %12.1f %12.1f %12.1f %12.0f %12.0f\n", name_of(mode), raw, e2e, e2e / raw,
                percentile(latencies, 0.50), percentile(latencies, 0.99), percentile(latencies, 1.0),
                ack_quantile_ms(acks_before, acks_after, 0.50), ack_quantile_ms(acks_before, acks_after, 0.99));
  }
  std::printf("(ratio = end-to-end / raw insert; latency over %d readings each; ts has ms resolution;\n"
              " ack = arrival at herdgate -> Kafka ack, the bound of its histogram bucket)\n",
              rate * seconds);
  return 0;
}
