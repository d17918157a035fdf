// Modbus polling benchmark. Prints, each beside the ceiling measured or computed in the same run:
//   1. polls/s of one TCP device polled back to back (firmware-sim's scale: 1 request of 11
//      registers; its base station with 50 slots: 8 requests of up to 122), against a bare
//      libmodbus client reading the same blocks in a loop;
//   2. polls/s of an RS-485 bus (two scales on one line) at 19,200 and 115,200 baud, against the
//      line-rate limit computed from the frame sizes. A pty has no line speed (STACK.md), so the
//      simulated slave writes each answer when a real line would have delivered it: request +
//      end-of-frame silence + answer after the request (characters of 11 bits: 8E1); the
//      gateway's own inter-frame gap before each request is real. The limit is one request + one
//      answer + two silences (3.5 characters; 1.75 ms each above 19,200 baud); the unpaced pty
//      rate shows the protocol overhead on its own. Two rigs: a socat pty pair as the tests use,
//      and one pty served by the slave directly (one relay hop less);
//   3. CPU and RSS of the herdgate binary polling 32 TCP devices (16 base stations of 50 slots,
//      16 scales) every second, against the same herdgate with no device.
// Usage: herd-bench-modbus [seconds per figure = 3]; on a busy machine run it as `chrt -f 10 ...`
// (the RTU figures measure wake-up latency as much as the poller).
#define DOCTEST_CONFIG_IMPLEMENT  // the test rig checks with REQUIRE: outside a test, a failure throws
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <modbus.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>
#include <CLI/CLI.hpp>

#include "fault_slave.hpp"
#include "herd/core/clock.hpp"
#include "herd/core/logging.hpp"
#include "herd/sensors/modbus_decode.hpp"
#include "herd/sensors/modbus_poller.hpp"
#include "modbus_rig.hpp"
#include "proc_figures.hpp"

using namespace herd;
using namespace std::chrono_literals;
namespace mb = herd::sensors::modbus;
namespace tmb = herd::test_modbus;
namespace ts = herd::test_support;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::int64_t k_start = 1780012800000;
double g_seconds = 3;

class null_sink final : public sensors::reading_sink {
 public:
  core::status on_reading(const sensors::raw_message&, const sensors::reading&) override { return core::ok_v; }
  core::status on_rejected(const sensors::raw_message&, const std::string&) override { return core::ok_v; }
};

std::string scale_toml(const std::string& name, const std::string& where, int unit) {
  return fmt::format("[[modbus.device]]\nname = \"{}\"\nprofile = \"modbus/herd-walkover-scale.toml\"\n{}\nunit_id = {}\n",
                     name, where, unit);
}

// Polls back to back for g_seconds; polls/s summed over the devices.
double poll_rate(mb::options opts) {
  for (auto& d : opts.devices) d.poll_interval = 0ms;
  core::system_clock clock;
  null_sink sink;
  std::atomic<std::uint64_t> ok{0};
  mb::poller p(opts, clock, [&](const mb::poll_event& e) { ok += e.ok ? 1 : 0; });
  if (!p.start(sink)) throw std::runtime_error("poller start");
  std::this_thread::sleep_for(300ms);  // connected, warm
  const auto n0 = ok.load();
  const auto t0 = steady::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(g_seconds));
  const auto n = ok.load() - n0;
  const double s = std::chrono::duration<double>(steady::now() - t0).count();
  p.stop();
  return n / s;
}

// A bare libmodbus client reading `plan` in a loop: polls/s.
double raw_rate(modbus_t* c, const std::vector<mb::block>& plan) {
  std::vector<std::uint16_t> regs(125);
  std::uint64_t n = 0;
  const auto t0 = steady::now();
  const auto until = t0 + std::chrono::duration<double>(g_seconds);
  while (steady::now() < until) {
    for (const auto& b : plan) {
      if (modbus_read_input_registers(c, static_cast<int>(b.address), static_cast<int>(b.count), regs.data()) < 0) {
        throw std::runtime_error(modbus_strerror(errno));
      }
    }
    ++n;
  }
  return n / std::chrono::duration<double>(steady::now() - t0).count();
}

void tcp_figures() {
  std::printf("\n== 1. one Modbus TCP device on loopback, polled back to back ==\n");
  auto scale = tmb::sim_scale_tcp(3, 50, k_start, 5 * 3600 + 600);
  auto station = tmb::sim_station_tcp(5, 50, k_start);
  const auto scale_opts = tmb::devices_from(scale_toml("scale", fmt::format("transport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}", tmb::port_of(*scale)), 1));
  const auto station_opts = tmb::devices_from(fmt::format(
      "[[modbus.device]]\nname = \"st\"\nprofile = \"modbus/herd-base-station.toml\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\nfarm_id = \"f\"\n",
      tmb::port_of(*station)));
  for (const auto& [what, opts, port] : {std::tuple{"scale (1 request, 11 registers)", scale_opts, tmb::port_of(*scale)},
                                         std::tuple{"base station, 50 slots (8 requests)", station_opts, tmb::port_of(*station)}}) {
    const auto plan = mb::plan_reads(opts.devices[0], opts.merge_gap);
    modbus_t* c = modbus_new_tcp("127.0.0.1", port);
    if (modbus_connect(c) != 0) throw std::runtime_error("connect");
    const double raw = raw_rate(c, plan);
    modbus_close(c);
    modbus_free(c);
    const double got = poll_rate(opts);
    std::printf("%-38s herdgate poller %8.0f polls/s   bare libmodbus client %8.0f polls/s   (%.0f %%)\n", what, got, raw,
                100 * got / raw);
  }
}

void rtu_figures() {
  std::printf("\n== 2. an RS-485 bus (two scales, units 1 and 2) on a pty, line rate emulated by the slave ==\n");
  // Frames of the scale's poll: request 8 bytes; answer unit + function + count + 11 x 2 + CRC.
  const int req = 8, resp = 3 + 2 * 11 + 2;
  for (const bool own_pty : {false, true})
  for (int baud : {19200, 115200}) {
    // Two rigs: a socat pty pair as the tests use (socat relays each frame through two ptys), and
    // one pty whose master side the slave serves itself (one relay hop less).
    std::optional<tmb::pty_pair> pair;
    std::string gateway_end;
    std::unique_ptr<tmb::fault_slave> slave;
    if (own_pty) {
      slave = tmb::fault_slave::rtu_own_pty(gateway_end);
    } else {
      pair.emplace();
      gateway_end = pair->gateway_end;
      slave = tmb::fault_slave::rtu(pair->device_end);
    }
    std::vector<std::uint16_t> image(26, 0);
    image[7] = 7;
    image[9] = 1;
    image[12] = 276;
    image[15] = 1;
    image[17] = 6000;
    slave->set_image(1, image);
    slave->set_image(2, image);
    const int bits = 11;  // 8E1
    const std::string line = fmt::format("transport = \"rtu\"\nserial = \"{}\"\nbaud = {}", gateway_end, baud);
    const auto opts = tmb::devices_from(scale_toml("u1", line, 1) + scale_toml("u2", line, 2));
    mb::serial_line sl;
    sl.baud = baud;
    const double gap_s = static_cast<double>(mb::frame_gap(sl).count()) / 1e6;
    const double char_s = bits / static_cast<double>(baud);
    const double limit = 1 / ((req + resp) * char_s + 2 * gap_s);
    slave->set_line_rate(0, bits);
    const double unpaced = poll_rate(opts);
    slave->set_line_rate(baud, bits);
    const double got = poll_rate(opts);
    // The same rig without the poller: a bare libmodbus client alternating the two units, with the
    // same gap before each request. What it loses to the limit is the rig's (pty, socat, the
    // slave's wake-up), not the poller's.
    modbus_t* c = modbus_new_rtu(gateway_end.c_str(), baud, 'E', 8, 1);
    if (modbus_connect(c) != 0) throw std::runtime_error("open pty");
    std::vector<std::uint16_t> regs(11);
    std::uint64_t n = 0;
    const auto t0 = steady::now();
    auto last = steady::now();
    while (steady::now() < t0 + std::chrono::duration<double>(g_seconds)) {
      std::this_thread::sleep_until(last + std::chrono::microseconds(static_cast<std::int64_t>(gap_s * 1e6)));
      modbus_set_slave(c, 1 + static_cast<int>(n % 2));
      if (modbus_read_input_registers(c, 7, 11, regs.data()) == 11) ++n;
      last = steady::now();
    }
    const double bare = n / std::chrono::duration<double>(steady::now() - t0).count();
    modbus_close(c);
    modbus_free(c);
    std::printf("%-15s %6d baud: poller %6.1f polls/s on the bus = %5.1f %% of the line-rate limit %6.1f polls/s (%d+%d bytes + 2 "
                "gaps of %.2f ms); bare libmodbus client on the same rig %6.1f (%5.1f %%); unpaced pty: poller %.0f polls/s\n",
                own_pty ? "one pty:" : "socat pty pair:", baud, got, 100 * got / limit, limit, req, resp, gap_s * 1e3, bare, 100 * bare / limit, unpaced);
  }
}

struct proc_sample {
  double cpu_s = 0;
  long rss_kb = 0;
};
proc_sample sample(pid_t pid) {
  const auto cpu = herd::bench::cpu_of(pid);
  return {cpu.user + cpu.sys, herd::bench::rss_kb(pid).rss};
}

void gateway_figures() {
  std::printf("\n== 3. the herdgate binary polling 32 TCP devices every second (16 base stations x 50 slots, 16 scales) ==\n");
  ts::temp_dir dir;
  ts::mosquitto_broker broker;
  auto kafka = cloud::dev_kafka::start();
  if (!kafka) throw std::runtime_error(kafka.err().message);
  {
    std::ofstream reg(dir / "collars.csv");
    reg << "collar_id,animal_id,valid_from\n";
    for (int i = 1; i <= 50; ++i) reg << fmt::format("C-{:05},276{:012},2020-01-01\n", i, i);
  }
  std::vector<std::shared_ptr<tmb::sim_device>> devices;
  std::string modbus;
  for (int i = 0; i < 16; ++i) {
    devices.push_back(tmb::sim_station_tcp(5 + i, 50, k_start));
    modbus += fmt::format("[[modbus.device]]\nname = \"station-{}\"\nprofile = \"{}/config/modbus/herd-base-station.toml\"\n"
                          "transport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\nfarm_id = \"f\"\npoll_interval_ms = 1000\n",
                          i, ts::source_dir(), tmb::port_of(*devices.back()));
    devices.push_back(tmb::sim_scale_tcp(3 + i, 50, k_start, 5 * 3600 + 30));
    modbus += fmt::format("[[modbus.device]]\nname = \"scale-{}\"\nprofile = \"{}/config/modbus/herd-walkover-scale.toml\"\n"
                          "transport = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\npoll_interval_ms = 1000\n",
                          i, ts::source_dir(), tmb::port_of(*devices.back()));
  }
  const auto run = [&](const std::string& extra, const char* what) {
    const auto cfg = dir / "herdgate.toml";
    std::filesystem::remove(dir / "outbox.db");
    std::ofstream(cfg) << fmt::format(R"([gateway]
id = "bench"
[mqtt]
broker_uri = "{}"
client_id = "herdgate-bench"
[kafka]
bootstrap = "{}"
[outbox]
path = "{}"
[registry]
path = "{}"
[metrics]
listen = ""
[clock]
kernel_sync = false
{})", broker.uri(), kafka.value()->bootstrap(), (dir / "outbox.db").string(), (dir / "collars.csv").string(), extra);
    ts::child_process gw(ts::binary_dir() + "/gateway/herdgate", {"--config", cfg.string(), "--ready-file", (dir / "ready").string()},
                         dir.path());
    ts::wait_until([&] { return std::filesystem::exists(dir / "ready"); }, 30s);
    std::this_thread::sleep_for(2s);  // first polls (and their first readings) done
    const auto a = sample(gw.pid());
    const auto t0 = steady::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(std::max(g_seconds * 3, 10.0)));
    const auto b = sample(gw.pid());
    const double wall = std::chrono::duration<double>(steady::now() - t0).count();
    std::printf("%-34s CPU %5.2f %% of one core   RSS %6.1f MiB\n", what, 100 * (b.cpu_s - a.cpu_s) / wall, b.rss_kb / 1024.0);
    std::filesystem::remove(dir / "ready");
    gw.signal(SIGTERM);
    gw.wait_exit(20s);
  };
  run("", "herdgate, no Modbus device");
  run(modbus, "herdgate polling 32 devices at 1 Hz");
  std::printf("(per second: 16 x 8 + 16 x 1 = 144 requests, 16 x 50 slots + 16 weighings decoded; images static "
              "after the first poll, so no new events: the polling cost alone)\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Modbus polling: cost per poll and what the gateway adds to the raw libmodbus round trip"};
  app.add_option("seconds", g_seconds, "seconds per measured run")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  doctest::Context checks;
  checks.setAsDefaultForAssertsOutOfTestCases();
  checks.setAssertHandler([](const doctest::AssertData& d) {
    throw std::runtime_error(fmt::format("{}:{}: check failed: {}", d.m_file, d.m_line, d.m_expr));
  });
  core::setup_logging(spdlog::level::warn);
  tcp_figures();
  rtu_figures();
  gateway_figures();
  return 0;
}
