// The forwarder's Kafka error bookkeeping (forwarder/src/kafka_error_log.hpp), table-driven: each
// case is a sequence of errors and acknowledged deliveries, then what forwarder_stats shows.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "kafka_error_log.hpp"

using herd::forwarder::forwarder_stats;
using herd::forwarder::kafka_error_log;

namespace {

struct step {
  const char* name;     // a librdkafka error name; nullptr: an acknowledged delivery (ok())
  std::int64_t wall_ms; // wall time of the error
  std::int64_t at_ms;   // monotonic time of the error (steady clock, from its epoch)
};

struct log_case {
  const char* what;
  std::vector<step> steps;
  std::int64_t now_ms;  // monotonic time of the snapshot
  std::map<std::string, std::uint64_t> counts;
  std::string last;
  std::int64_t last_ms;
  std::int64_t failing_since_ms;
  std::int64_t failing_ms;
};

const std::vector<log_case> log_cases = {
    {"nothing yet", {}, 5000, {}, "", 0, 0, 0},
    {"one error: failing since it", {{"_TRANSPORT", 1000, 10}}, 60, {{"_TRANSPORT", 1}}, "_TRANSPORT", 1000, 1000, 50},
    {"errors counted by name; the since-time is the first one's",
     {{"_TRANSPORT", 1000, 10}, {"_ALL_BROKERS_DOWN", 2000, 20}, {"_TRANSPORT", 3000, 30}},
     100, {{"_TRANSPORT", 2}, {"_ALL_BROKERS_DOWN", 1}}, "_TRANSPORT", 3000, 1000, 90},
    {"a delivery ends the failing period; counts and the last error stay",
     {{"_TRANSPORT", 1000, 10}, {nullptr, 0, 0}}, 100, {{"_TRANSPORT", 1}}, "_TRANSPORT", 1000, 0, 0},
    {"an error after a delivery starts a new period",
     {{"_TRANSPORT", 1000, 10}, {nullptr, 0, 0}, {"TOPIC_AUTHORIZATION_FAILED", 5000, 50}},
     70, {{"_TRANSPORT", 1}, {"TOPIC_AUTHORIZATION_FAILED", 1}}, "TOPIC_AUTHORIZATION_FAILED", 5000, 5000, 20},
    // The wall clock stepped back between errors: the duration comes from the monotonic clock.
    {"a wall clock step does not change the duration",
     {{"_TRANSPORT", 9000, 10}, {"_TRANSPORT", 4000, 20}}, 40, {{"_TRANSPORT", 2}}, "_TRANSPORT", 4000, 9000, 30},
    {"deliveries without errors: nothing shown", {{nullptr, 0, 0}, {nullptr, 0, 0}}, 10, {}, "", 0, 0, 0},
};

kafka_error_log::steady::time_point at(std::int64_t ms) {
  return kafka_error_log::steady::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

TEST_CASE("forwarder Kafka error log: counts by name, the last error, failing since the first one") {
  for (const auto& c : log_cases) {
    CAPTURE(c.what);
    kafka_error_log log;
    for (const auto& s : c.steps) {
      if (s.name == nullptr) {
        log.ok();
      } else {
        log.error(s.name, std::string("words for ") + s.name, s.wall_ms, at(s.at_ms));
      }
    }
    forwarder_stats st;
    log.fill(st, at(c.now_ms));
    CHECK(st.kafka_errors == c.counts);
    CHECK(st.last_kafka_error == c.last);
    CHECK(st.last_kafka_error_message == (c.last.empty() ? std::string() : "words for " + c.last));
    CHECK(st.last_kafka_error_ms == c.last_ms);
    CHECK(st.kafka_failing_since_ms == c.failing_since_ms);
    CHECK(st.kafka_failing_ms == c.failing_ms);
  }
}
