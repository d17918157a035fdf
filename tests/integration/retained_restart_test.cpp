// Regression (issue 13, case 5), end to end: a collar that publishes with the retain flag and ts 0
// gave a new event at every herdgate restart (the broker's retained copy arrives at each subscribe
// with RETAIN=1, DUP=0; the dedup rule for ts 0 looked at DUP only): 3 events from one reading
// after two restarts. One reading must stay one event. Beside mqtt_source_test's check of the
// source's redelivered flag, this follows the retained copy through the real herdgate into Kafka.
#include <doctest/doctest.h>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/kafka_reader.hpp>

#include "event_checks.hpp"
#include "rig.hpp"

using namespace herd;
using namespace std::chrono_literals;

TEST_CASE("a retained reading with ts 0 stays one event however often herdgate restarts") {
  test::rig rig(3);
  const std::string topic = "farm/farm-01/collar/C-00001/telemetry";
  const auto publish = [&](const std::string& payload, bool retain) {
    std::vector<std::string> args{"-h", "127.0.0.1", "-p", std::to_string(rig.broker.port()), "-q", "1",
                                  "-t", topic, "-m", payload};
    if (retain) args.push_back("-r");
    test_support::child_process pub("/usr/bin/mosquitto_pub", args, rig.dir.path());
    REQUIRE(pub.wait_exit(10s) == 0);
  };
  publish(R"({"seq": 9, "ts": 0, "temp_c": 38.6})", true);  // the collar's retained reading
  rig.gateway->start();
  test_support::kafka_reader reader(rig.kafka->bootstrap(), "herd.events");
  const auto count_seq = [&](std::uint32_t lo, std::uint32_t hi) {
    std::size_t n = 0;
    for (const auto& e : test::decode_all(reader.records()))
      if (e.reading.collar_seq() >= lo && e.reading.collar_seq() <= hi) ++n;
    return n;
  };
  REQUIRE(reader.read_until([&](const auto&) { return count_seq(9, 9) >= 1; }, 30s));
  for (int restart = 0; restart < 2; ++restart) {
    CAPTURE(restart);
    REQUIRE(rig.gateway->stop() == 0);
    rig.gateway->start();  // subscribes again: the broker hands the retained copy over again
    // A fresh reading of the same collar (same partition) after the restart: once it is in Kafka,
    // whatever the gateway made of the retained copy is there before it.
    publish(R"({"seq": )" + std::to_string(100 + restart) + R"(, "ts": 1780000000000, "temp_c": 38.7})", false);
    REQUIRE(reader.read_until([&](const auto&) { return count_seq(100, 199) >= static_cast<std::size_t>(restart + 1); },
                              30s));
  }
  reader.read_until([](const auto&) { return false; }, 300ms);
  INFO(rig.gateway->log_text());
  CHECK(count_seq(9, 9) == 1);  // one reading, one event
  CHECK(rig.gateway->stop() == 0);
}
