// herd.alerts relay benchmark: how fast the relay empties a backlog of alert events from the
// read model's outbox into Kafka (produce, delivery report, delete by seq), beside the raw
// ceiling measured in the same run: an idempotent acks=all producer sending the same records
// with the same headers and nothing else (no database).
// Usage: herd-bench-alerts-relay [rows=20000]
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <CLI/CLI.hpp>

#include "herd/alerts/relay.hpp"
#include "herd/read_model/sqlite_store.hpp"

using namespace herd;
using clk = std::chrono::steady_clock;

namespace {

// `run` makes the ce_ids distinct per run: a relay skips rows whose ce_id the topic already has.
std::vector<read_model::outbox_message> make_rows(int n, int run) {
  std::vector<read_model::outbox_message> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string animal = "DE0" + std::to_string(100000000 + i % 500);
    const std::string id = animal + ":fever:20260601T000000Z/raised/" + std::to_string(1780000000000LL + i) + "/" +
                           std::to_string(run);
    out.push_back({0, "herd.alerts", animal, std::string(380, static_cast<char>('a' + i % 26)),
                   {{"ce_specversion", "1.0"},
                    {"ce_id", id},
                    {"ce_type", "alert.raised.v1"},
                    {"ce_source", "/herd-projector/rules/fever"},
                    {"ce_time", "2026-06-01T00:00:00.000Z"},
                    {"ce_subject", animal},
                    {"content-type", "application/x-protobuf"}}});
  }
  return out;
}

double raw_producer(const std::string& bootstrap, const std::vector<read_model::outbox_message>& rows) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_conf_set(conf, "acks", "all", err, sizeof err);
  rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  const auto t0 = clk::now();
  for (const auto& m : rows) {
    for (;;) {
      rd_kafka_headers_t* h = rd_kafka_headers_new(m.headers.size());
      for (const auto& [k, v] : m.headers) rd_kafka_header_add(h, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
      rd_kafka_vu_t vu[5] = {};
      vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
      vu[0].u.cstr = "herd.alerts.raw";
      vu[1].vtype = RD_KAFKA_VTYPE_KEY;
      vu[1].u.mem = {const_cast<char*>(m.key.data()), m.key.size()};
      vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[2].u.mem = {const_cast<char*>(m.value.data()), m.value.size()};
      vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vu[3].u.i = RD_KAFKA_MSG_F_COPY;
      vu[4].vtype = RD_KAFKA_VTYPE_HEADERS;
      vu[4].u.headers = h;
      rd_kafka_error_t* e = rd_kafka_produceva(rk, vu, 5);
      if (e == nullptr) break;
      rd_kafka_error_destroy(e);
      rd_kafka_headers_destroy(h);
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  const double s = std::chrono::duration<double>(clk::now() - t0).count();
  rd_kafka_destroy(rk);
  return static_cast<double>(rows.size()) / s;
}

double relay_run(const std::string& bootstrap, const std::string& db, const std::vector<read_model::outbox_message>& rows,
                 std::size_t max_in_flight) {
  {
    auto s = read_model::open_sqlite_store({.path = db});
    auto t = (*s)->begin();
    (void)(*t)->append_outbox(rows);
    (void)(*t)->commit();
  }
  alerts::relay_options o;
  o.bootstrap = bootstrap;
  o.max_in_flight = max_in_flight;
  alerts::relay r(o, [db]() -> core::result<std::unique_ptr<read_model::store>> {
    return read_model::open_sqlite_store({.path = db});
  });
  const auto t0 = clk::now();
  if (!r.start()) return 0;
  const auto target = r.stats().relayed.load() + rows.size();
  while (r.stats().relayed.load() < target) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double s = std::chrono::duration<double>(clk::now() - t0).count();
  r.stop();
  return static_cast<double>(rows.size()) / s;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 20000;
  CLI::App app{"the alert outbox relay: a backlog of alert events relayed to Kafka"};
  app.add_option("events", n, "alert events in the backlog")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  cloud::dev_kafka_options ko;
  ko.topics.push_back({"herd.alerts.raw", 6});
  auto kafka = cloud::dev_kafka::start(ko);
  if (!kafka) {
    std::fprintf(stderr, "%s\n", kafka.err().message.c_str());
    return 1;
  }
  test_support::temp_dir dir;
  const double raw = raw_producer((*kafka)->bootstrap(), make_rows(n, 0));
  std::printf("herd.alerts relay, %d alert events of ~0.5 KiB with CloudEvents headers, dev Kafka (mock, loopback):\n", n);
  std::printf("  raw idempotent producer (acks=all, no database): %9.0f events/s  (the ceiling)\n", raw);
  int run = 0;
  for (const std::size_t inflight : {std::size_t{100}, std::size_t{1000}, std::size_t{5000}}) {
    const auto db = (dir / ("rm-" + std::to_string(inflight) + ".db")).string();
    const double rate = relay_run((*kafka)->bootstrap(), db, make_rows(n, ++run), inflight);
    std::printf("  relay, max_in_flight %5zu (SQLite outbox):     %9.0f events/s  (%.0f %% of the ceiling)\n", inflight,
                rate, raw > 0 ? 100.0 * rate / raw : 0.0);
  }
  return 0;
}
