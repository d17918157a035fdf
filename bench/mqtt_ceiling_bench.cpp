// The ceilings under herdgate's CPU per reading at ingest (issue 15, goal 6: <= 30 µs per reading
// with synchronous = normal; herd-bench-outbox section 4 prints herdgate's own figure), measured
// as herdgate receives readings: herd-sim floods a mosquitto with QoS 1 readings of 1,000 collars
// at a fixed rate, and a subscriber in this process takes them with Paho's callback API exactly as
// herdgate does (MQTT 5, persistent session, QoS 1: the PUBACK leaves when the callback returns).
// Printed: this process's CPU time (getrusage: user + sys, all its threads) per reading,
//   1. when the callback does nothing: Paho's own cost per QoS 1 message;
//   2. when the callback also inserts the reading into a bare SQLite table (one INSERT, one
//      transaction per reading, WAL, synchronous = NORMAL, 1 KiB pages): a store that commits each
//      reading before its PUBACK, as the acknowledge-after-commit guarantee needs.
// Usage: herd-bench-mqtt-ceiling [readings=30000] [rate=2000]
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <mqtt/async_client.h>

#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>
#include <CLI/CLI.hpp>

#include "bench_processes.hpp"
#include "proc_figures.hpp"
#include "herd/core/logging.hpp"

using namespace std::chrono_literals;
namespace ts = herd::test_support;

namespace {

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string what = err != nullptr ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(std::string(sql) + ": " + what);
  }
}

// A bare store: one table, one INSERT per reading in its own transaction (autocommit).
struct bare_store {
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
  explicit bare_store(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite3_open " + path);
    exec(db, "PRAGMA page_size = 1024");
    exec(db, "PRAGMA journal_mode = WAL");
    exec(db, "PRAGMA synchronous = NORMAL");
    exec(db, "CREATE TABLE readings (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL)");
    if (sqlite3_prepare_v2(db, "INSERT INTO readings (topic, payload) VALUES (?, ?)", -1, &insert, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db));
    }
  }
  ~bare_store() {
    sqlite3_finalize(insert);
    sqlite3_close(db);
  }
  bare_store(const bare_store&) = delete;
  bare_store& operator=(const bare_store&) = delete;
  void store(const std::string& topic, const std::string& payload) {
    sqlite3_bind_text(insert, 1, topic.data(), static_cast<int>(topic.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
    sqlite3_reset(insert);
  }
};

// CPU per reading (µs: user, sys) of a subscriber taking `readings` readings at `rate`/s.
herd::bench::cpu_times subscriber_cpu(const std::filesystem::path& dir, int readings, int rate, bare_store* store) {
  ts::mosquitto_broker broker;
  const std::string id = store != nullptr ? "ceiling-store" : "ceiling-paho";
  mqtt::async_client client(broker.uri(), id, mqtt::create_options(MQTTVERSION_5));
  std::atomic<int> received{0};
  client.set_message_callback([&](mqtt::const_message_ptr m) {
    if (store != nullptr) store->store(m->get_topic(), m->get_payload_str());
    received.fetch_add(1);
  });
  auto conn = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).clean_start(false).finalize();
  conn.set_properties(mqtt::properties{{mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int>(0xFFFFFFFFu)}});
  client.connect(conn)->wait();
  client.subscribe("farm/+/collar/+/telemetry", 1)->wait();
  const auto before = herd::bench::self_cpu();
  auto sim = herd::bench::sim(dir, broker.uri(), {"--collars", "1000", "--count", std::to_string(readings), "--rate",
                                                  std::to_string(rate), "--seed", "3"});
  if (!ts::wait_until([&] { return received.load() >= readings; }, 300s, 5ms)) {
    throw std::runtime_error(fmt::format("{}: {} of {} readings in 300 s", id, received.load(), readings));
  }
  const auto after = herd::bench::self_cpu();
  sim->wait_exit(30s);
  client.disconnect()->wait();
  const double n = readings;
  return {(after.user - before.user) / n * 1e6, (after.sys - before.sys) / n * 1e6};
}

}  // namespace

int main(int argc, char** argv) {
  int readings = 30000, rate = 2000;
  CLI::App app{"the CPU per reading of a bare Paho subscriber and of one that also stores each reading"};
  app.add_option("readings", readings, "readings herd-sim publishes")->check(CLI::PositiveNumber);
  app.add_option("rate", rate, "readings per second")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  herd::core::setup_logging(spdlog::level::warn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ts::temp_dir dir;
  std::printf("MQTT ingest ceilings: %d QoS 1 readings of 1,000 collars at %d/s through mosquitto, taken with Paho's\n"
              "callback API (MQTT 5, persistent session); this process's CPU per reading (getrusage, all threads)\n",
              readings, rate);
  std::printf("%-64s %10s %10s %10s\n", "subscriber", "user µs", "sys µs", "total µs");
  const auto paho = subscriber_cpu(dir.path(), readings, rate, nullptr);
  std::printf("%-64s %10.1f %10.1f %10.1f\n", "1. Paho, callback does nothing", paho.user, paho.sys, paho.user + paho.sys);
  bare_store store((dir / "bare.db").string());
  const auto stored = subscriber_cpu(dir.path(), readings, rate, &store);
  std::printf("%-64s %10.1f %10.1f %10.1f\n", "2. Paho + one SQLite INSERT and commit per reading (WAL, NORMAL)",
              stored.user, stored.sys, stored.user + stored.sys);
  std::printf("(herdgate's own figure: herd-bench-outbox ... 4, \"ingest at 2,000 readings/s\")\n");
  return 0;
}
