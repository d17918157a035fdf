// Per-device Modbus metrics and the /health reason for a device failing too long.
#include <doctest/doctest.h>

#include "herd/gateway/observability.hpp"

using namespace herd;

namespace {
gateway::observability_snapshot with_devices() {
  gateway::observability_snapshot s;
  s.mqtt_connected = true;
  s.outbox_depth = 0;
  s.now_ms = 1'800'000'000'000;
  sensors::modbus::device_stats ok;
  ok.name = "station-1";
  ok.endpoint = "127.0.0.1:502";
  ok.unit_id = 1;
  ok.polls = ok.polls_ok = 10;
  ok.latency_sum_ms = 25;
  ok.last_latency_ms = 2.5;
  ok.last_success_ms = s.now_ms - 1000;
  ok.readings = 7;
  sensors::modbus::device_stats bad;
  bad.name = "scale-1";
  bad.endpoint = "/dev/ttyUSB0 19200 8E1";
  bad.unit_id = 3;
  bad.polls = 12;
  bad.polls_ok = 2;
  bad.fail_timeout = 9;
  bad.fail_crc = 1;
  bad.failing_since_ms = s.now_ms - 400'000;
  bad.last_error = "timeout: Connection timed out";
  s.modbus_devices = {ok, bad};
  return s;
}
}  // namespace

TEST_CASE("modbus metrics: one series per device, failures by kind") {
  const auto text = gateway::render_prometheus(with_devices());
  CHECK(text.find("herdgate_modbus_polls_total{device=\"station-1\"} 10\n") != std::string::npos);
  CHECK(text.find("herdgate_modbus_failures_total{device=\"scale-1\",kind=\"timeout\"} 9\n") != std::string::npos);
  CHECK(text.find("herdgate_modbus_failures_total{device=\"scale-1\",kind=\"crc\"} 1\n") != std::string::npos);
  CHECK(text.find("herdgate_modbus_up{device=\"station-1\"} 1\n") != std::string::npos);
  CHECK(text.find("herdgate_modbus_up{device=\"scale-1\"} 0\n") != std::string::npos);
  CHECK(text.find("herdgate_modbus_poll_seconds_sum{device=\"station-1\"} 0.025000\n") != std::string::npos);
  CHECK(text.find("# TYPE herdgate_modbus_readings_total counter\n") != std::string::npos);
  // No device configured: no modbus series at all.
  gateway::observability_snapshot none;
  CHECK(gateway::render_prometheus(none).find("herdgate_modbus") == std::string::npos);
}

TEST_CASE("/health names a device failing longer than max_device_failing, not one failing briefly") {
  gateway::observability_options o;
  o.max_device_failing = std::chrono::seconds(300);
  const auto r = gateway::evaluate_health(with_devices(), o);
  CHECK_FALSE(r.healthy);
  REQUIRE(r.reasons.size() == 1);
  CHECK(r.reasons[0] ==
        "modbus: device 'scale-1' (/dev/ttyUSB0 19200 8E1 unit 3) failing for 400 s (limit 300 s): timeout: "
        "Connection timed out");
  o.max_device_failing = std::chrono::seconds(600);
  CHECK(gateway::evaluate_health(with_devices(), o).healthy);
}
