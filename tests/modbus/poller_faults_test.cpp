// Faults on Modbus devices and lines: a unit that stops answering, answers with exceptions, slowly,
// with garbage or a wrong CRC; a TCP device refusing connections; a stray broadcast frame; the
// serial device removed and recreated. Every failure is counted by kind, and the healthy devices
// keep their schedule (their poll start times are asserted).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <herd/test_support/wait_until.hpp>

#include "fault_slave.hpp"
#include "herd/core/clock.hpp"
#include "herd/sim_modbus/walkover_scale.hpp"
#include "modbus_rig.hpp"

using namespace herd;
using namespace std::chrono_literals;
namespace mb = herd::sensors::modbus;
namespace tmb = herd::test_modbus;
namespace ts = herd::test_support;

namespace {

constexpr std::int64_t k_start = 1780012800000;  // 2026-05-29T00:00:00Z
constexpr double k_after_milking = 5 * 3600 + 600;

std::vector<std::uint16_t> scale_image() {
  sim_modbus::walkover_scale s(3, 20, k_start);
  s.advance_to(k_start + static_cast<std::int64_t>(k_after_milking * 1000));
  return s.registers();
}

const mb::device_stats& stats_of(const std::vector<mb::device_stats>& all, const std::string& name) {
  for (const auto& s : all) {
    if (s.name == name) return s;
  }
  FAIL("no device " << name);
  return all.front();
}

std::string scale_device(const std::string& name, const std::string& where, int unit, int interval_ms,
                         int timeout_ms) {
  return fmt::format(R"(
[[modbus.device]]
name = "{}"
profile = "modbus/herd-walkover-scale.toml"
{}
unit_id = {}
poll_interval_ms = {}
response_timeout_ms = {}
)", name, where, unit, interval_ms, timeout_ms);
}

}  // namespace

TEST_CASE("TCP: a failing device is counted by kind and never delays a healthy one") {
  auto healthy = tmb::sim_scale_tcp(3, 20, k_start, k_after_milking);
  auto bad = tmb::fault_slave::tcp();
  bad->set_image(1, scale_image());
  const auto opts = tmb::devices_from(
      "[modbus]\nbackoff_min_ms = 100\nbackoff_max_ms = 400\n" +
      scale_device("good", fmt::format("transport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}", tmb::port_of(*healthy)), 1, 100, 200) +
      scale_device("bad", fmt::format("transport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}", bad->port()), 1, 100, 200));
  core::system_clock clock;
  tmb::poll_log polls;
  tmb::recording_sink sink;
  mb::poller p(opts, clock, polls.observer());
  REQUIRE(p.start(sink).ok());
  REQUIRE(ts::wait_until([&] { return polls.ok_count("bad") >= 2 && polls.ok_count("good") >= 2; }, 10s));
  const auto since = tmb::steady::now();
  const auto counter = [&](auto field) { return stats_of(p.stats(), "bad").*field; };

  bad->set_fault(1, tmb::fault::silent);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_timeout) >= 2; }, 10s));
  bad->set_fault(1, tmb::fault::exception);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_exception) >= 2; }, 10s));
  bad->set_delay(400ms);  // twice the response timeout
  bad->set_fault(1, tmb::fault::slow);
  const auto timeouts = counter(&mb::device_stats::fail_timeout);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_timeout) >= timeouts + 2; }, 10s));
  // Bytes that are not Modbus TCP: an MBAP header of noise announces a length that never comes
  // (a timeout) or a frame libmodbus refuses (bad data); the connection is renewed either way.
  const auto failures = [&] {
    const auto b = stats_of(p.stats(), "bad");
    return b.fail_bad_data + b.fail_io + b.fail_timeout;
  };
  const auto before_garbage = failures();
  bad->set_fault(1, tmb::fault::garbage);
  CHECK(ts::wait_until([&] { return failures() >= before_garbage + 2; }, 10s));
  bad->set_fault(1, tmb::fault::none);
  bad->refuse(true);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_connect) >= 2; }, 10s));
  const auto failing = stats_of(p.stats(), "bad");
  CHECK(failing.failing_since_ms > 0);
  CHECK(failing.last_error.rfind("connect: ", 0) == 0);
  bad->refuse(false);
  const auto ok_before = polls.ok_count("bad");
  CHECK(ts::wait_until([&] { return polls.ok_count("bad") > ok_before; }, 10s));
  const auto window = tmb::steady::now() - since;
  p.stop();

  // The healthy device polled every 100 ms throughout: had it waited behind the bad one, a gap
  // would reach interval + a timeout (300 ms), a slow answer (400 ms) or a backoff (up to 400 ms);
  // and about as many polls as the window holds.
  const auto gap = polls.max_gap("good", since);
  const auto expected = window / 100ms;
  std::size_t during = 0;
  for (const auto& e : polls.of("good")) during += e.started >= since ? 1 : 0;
  MESSAGE("healthy TCP device: max gap " << gap.count() << " ms, " << during << " polls of ~" << expected
                                         << " in the fault window");
  CHECK(gap < 250ms);  // slack for a loaded CI machine
  CHECK(during >= static_cast<std::size_t>(expected * 8 / 10));
  CHECK(stats_of(p.stats(), "bad").failing_since_ms == 0);
  CHECK(stats_of(p.stats(), "good").polls == stats_of(p.stats(), "good").polls_ok);
}

TEST_CASE("RS-485 bus: faults of one unit are counted and the other unit keeps its schedule") {
  tmb::pty_pair pty;
  auto slave = tmb::fault_slave::rtu(pty.device_end);
  slave->set_image(1, scale_image());
  slave->set_image(2, scale_image());
  const std::string line = fmt::format("transport = \"rtu\"\nserial = \"{}\"\nbaud = 115200", pty.gateway_end);
  const auto opts = tmb::devices_from("[modbus]\nbackoff_min_ms = 100\nbackoff_max_ms = 400\n" +
                                     scale_device("u1", line, 1, 100, 150) + scale_device("u2", line, 2, 100, 150));
  core::system_clock clock;
  tmb::poll_log polls;
  tmb::recording_sink sink;
  mb::poller p(opts, clock, polls.observer());
  REQUIRE(p.start(sink).ok());
  REQUIRE(ts::wait_until([&] { return polls.ok_count("u1") >= 2 && polls.ok_count("u2") >= 2; }, 10s));
  const auto since = tmb::steady::now();
  const auto counter = [&](auto field) { return stats_of(p.stats(), "u2").*field; };

  slave->set_fault(2, tmb::fault::silent);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_timeout) >= 2; }, 10s));
  slave->set_fault(2, tmb::fault::exception);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_exception) >= 2; }, 10s));
  slave->set_fault(2, tmb::fault::bad_crc);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_crc) >= 2; }, 10s));
  slave->set_fault(2, tmb::fault::garbage);
  CHECK(ts::wait_until([&] { return counter(&mb::device_stats::fail_bad_data) + counter(&mb::device_stats::fail_crc) >= 4; }, 10s));
  slave->set_fault(2, tmb::fault::none);
  auto ok_before = polls.ok_count("u2");
  CHECK(ts::wait_until([&] { return polls.ok_count("u2") > ok_before + 1; }, 10s));
  // A stray broadcast frame before the answer: that request fails, is retried at once, and the
  // bus stays in step (every later poll of both units succeeds).
  const auto bad_data = counter(&mb::device_stats::fail_bad_data) + counter(&mb::device_stats::fail_crc);
  const auto before = stats_of(p.stats(), "u2");
  const auto failed_before = before.polls - before.polls_ok;
  slave->set_fault(2, tmb::fault::broadcast_first);
  ok_before = polls.ok_count("u2");
  CHECK(ts::wait_until([&] { return polls.ok_count("u2") >= ok_before + 5; }, 10s));
  const auto after = stats_of(p.stats(), "u2");
  CHECK(after.fail_bad_data + after.fail_crc >= bad_data + 1);
  CHECK(after.polls - after.polls_ok == failed_before);  // the retry read the real answer
  p.stop();
  // Unit 1 shares the line, so it waits for unit 2's timeouts (150 ms) but no more: its polls
  // stay within interval + one timeout + slack.
  const auto gap = polls.max_gap("u1", since);
  MESSAGE("healthy unit on the faulty bus: max gap " << gap.count() << " ms");
  CHECK(gap < 100ms + 150ms + 100ms);
  CHECK(stats_of(p.stats(), "u1").polls == stats_of(p.stats(), "u1").polls_ok);
}

TEST_CASE("the serial device removed and recreated (USB adapter unplugged): reopened, polls resume") {
  tmb::pty_pair pty;
  auto scale = tmb::sim_scale_rtu(pty.device_end, 1, 3, 20, k_start, k_after_milking);
  const auto opts = tmb::devices_from("[modbus]\nbackoff_min_ms = 100\nbackoff_max_ms = 400\n" +
                                     scale_device("s", fmt::format("transport = \"rtu\"\nserial = \"{}\"", pty.gateway_end), 1, 50, 150));
  core::system_clock clock;
  tmb::poll_log polls;
  tmb::recording_sink sink;
  mb::poller p(opts, clock, polls.observer());
  REQUIRE(p.start(sink).ok());
  REQUIRE(ts::wait_until([&] { return polls.ok_count("s") >= 3; }, 10s));
  pty.kill();
  CHECK(ts::wait_until([&] { return stats_of(p.stats(), "s").failing_since_ms > 0; }, 10s));
  const auto down = stats_of(p.stats(), "s");
  CHECK(down.fail_io + down.fail_timeout >= 1);
  pty.restart();
  const auto ok_before = polls.ok_count("s");
  CHECK(ts::wait_until([&] { return polls.ok_count("s") >= ok_before + 3; }, 15s));
  CHECK(stats_of(p.stats(), "s").failing_since_ms == 0);
  p.stop();
}
