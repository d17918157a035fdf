// herd-sim-modbus: a simulated collar base station or walk-over scale as a Modbus slave, over
// TCP and/or RTU, its registers moving with virtual (or real) time, deterministic from a seed.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

#include "herd/core/time_format.hpp"
#include "herd/sim/fleet.hpp"
#include "herd/sim/herd.hpp"
#include "herd/sim/stop_signal.hpp"
#include "herd/sim/ids.hpp"
#include "herd/sim_modbus/base_station.hpp"
#include "herd/sim_modbus/collar_feed.hpp"
#include "herd/sim_modbus/server.hpp"
#include "herd/sim_modbus/walkover_scale.hpp"

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace herd;
  CLI::App app{"Simulated Modbus device: a collar base station (per-collar slots) or a walk-over "
               "scale (last RFID and weight), served over Modbus TCP and/or RTU. Register maps: "
               "firmware-sim/README.md."};
  std::string device;
  std::string tcp;
  sim_modbus::rtu_options rtu;
  std::string parity = "E";
  sim::fleet_options fo;
  std::string start;
  int slots = 0;
  int scale_animals = 0;
  double elapsed_s = 0;
  double speed = 1;
  double duration_s = 0;
  std::string model = "baseline";

  app.add_option("--device", device, "station (collar base station) or scale (walk-over scale)")
      ->required()
      ->check(CLI::IsMember({"station", "scale"}));
  app.add_option("--tcp", tcp, "Modbus TCP: listen on HOST:PORT (e.g. 0.0.0.0:502)");
  app.add_option("--rtu", rtu.device, "Modbus RTU: serial device path (e.g. /dev/ttyUSB0, a pty)");
  app.add_option("--baud", rtu.baud, "RTU baud rate")->capture_default_str();
  app.add_option("--parity", parity, "RTU parity: N, E or O")
      ->check(CLI::IsMember({"N", "E", "O"}))
      ->capture_default_str();
  app.add_option("--data-bits", rtu.data_bits, "RTU data bits")->capture_default_str();
  app.add_option("--stop-bits", rtu.stop_bits, "RTU stop bits")->check(CLI::IsMember({1, 2}))->capture_default_str();
  app.add_option("--slave-id", rtu.slave_id, "RTU slave address")->check(CLI::Range(1, 247))->capture_default_str();
  app.add_option("--seed", fo.seed, "seed of the simulation")->capture_default_str();
  app.add_option("--model", model,
                 "station: what the collars measure: baseline (healthy, steady) or herd (the realistic "
                 "herd's physiology: daily rhythms and episodes, no device faults)")
      ->check(CLI::IsMember({"baseline", "herd"}))
      ->capture_default_str();
  app.add_option("--collars", fo.collars, "collars of the simulated herd (animals: the same)")
      ->check(CLI::Range(1, sim::k_max_collars))
      ->capture_default_str();
  app.add_option("--farm", fo.farm_id, "farm id")->capture_default_str();
  app.add_option("--interval-s", fo.interval_s, "seconds between two readings of a collar")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  app.add_option("--start", start, "virtual time at power-on: ISO-8601 UTC or 'now' "
                                   "(default 2026-01-01T00:00:00Z)");
  app.add_option("--slots", slots, "station: slots (default: --collars, at most 3200)")
      ->check(CLI::Range(1, sim_modbus::station::k_max_slots));
  app.add_option("--scale-animals", scale_animals,
                 "scale: animals crossing it (default: --collars, at most 1000)")
      ->check(CLI::Range(1, sim_modbus::scale_model::k_max_animals));
  app.add_option("--elapsed", elapsed_s, "virtual seconds already passed at launch (history)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--speed", speed, "virtual seconds per real second (1 = real time)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--duration", duration_s, "stop after S real seconds (default: until a signal)")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  if (tcp.empty() && rtu.device.empty()) {
    std::fprintf(stderr, "herd-sim-modbus: give --tcp HOST:PORT and/or --rtu PATH\n");
    return 2;
  }
  if (start == "now") {
    fo.start_ms = wall_ms();
  } else if (!start.empty()) {
    const auto t = core::parse_iso8601_utc(start);
    if (!t) {
      std::fprintf(stderr, "herd-sim-modbus: --start: expected ISO-8601 UTC or 'now', got '%s'\n",
                   start.c_str());
      return 2;
    }
    fo.start_ms = *t;
  }
  if (auto st = sim::validate(fo); !st) {
    std::fprintf(stderr, "herd-sim-modbus: %s\n", st.err().message.c_str());
    return 2;
  }
  rtu.parity = parity[0];
  sim_modbus::tcp_options to;
  if (!tcp.empty()) {
    const auto colon = tcp.rfind(':');
    int port = -1;
    if (colon != std::string::npos) {
      try {
        port = std::stoi(tcp.substr(colon + 1));
      } catch (const std::exception&) {
      }
    }
    if (colon == std::string::npos || port < 0 || port > 65'535) {
      std::fprintf(stderr, "herd-sim-modbus: --tcp: expected HOST:PORT, got '%s'\n", tcp.c_str());
      return 2;
    }
    to.host = tcp.substr(0, colon);
    to.port = port;
  }

  // The device and what it shows.
  std::unique_ptr<sim_modbus::base_station> station;
  std::unique_ptr<sim_modbus::collar_feed> feed;
  std::unique_ptr<sim_modbus::walkover_scale> scale;
  std::size_t registers = 0;
  std::string what;
  if (device == "station") {
    if (slots == 0) slots = std::min(fo.collars, sim_modbus::station::k_max_slots);
    station = std::make_unique<sim_modbus::base_station>(slots, fo.start_ms);
    if (model == "herd") {
      auto f = std::make_shared<sim::fleet>(
          fo, sim::make_herd_model(fo.seed, fo.collars, fo.interval_s, fo.start_ms));
      feed = std::make_unique<sim_modbus::collar_feed>([f]() -> std::optional<sim::message> { return f->next(); });
    } else {
      feed = std::make_unique<sim_modbus::collar_feed>(fo);
    }
    registers = station->registers().size();
    what = fmt::format("collar base station, {} slots", slots);
  } else {
    if (scale_animals == 0) scale_animals = std::min(fo.collars, sim_modbus::scale_model::k_max_animals);
    scale = std::make_unique<sim_modbus::walkover_scale>(fo.seed, scale_animals, fo.start_ms);
    registers = scale->registers().size();
    what = fmt::format("walk-over scale, {} animals", scale_animals);
  }
  auto bank = std::make_shared<sim_modbus::register_bank>(registers);
  const auto t0 = std::chrono::steady_clock::now();
  const auto virtual_now = [&] {
    const double real_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return fo.start_ms + static_cast<std::int64_t>(std::llround(elapsed_s * 1000 + real_ms * speed));
  };
  const auto update = [&] {
    const std::int64_t now = virtual_now();
    if (station) {
      feed->advance_to(now, *station);
      bank->publish(station->registers());
    } else {
      scale->advance_to(now);
      bank->publish(scale->registers());
    }
  };
  update();

  sim::install_stop_handler();
  std::unique_ptr<sim_modbus::modbus_server> tcp_server;
  std::unique_ptr<sim_modbus::modbus_server> rtu_server;
  std::string where;
  if (!tcp.empty()) {
    auto s = sim_modbus::modbus_server::start_tcp(bank, to);
    if (!s) {
      std::fprintf(stderr, "herd-sim-modbus: %s\n", s.err().message.c_str());
      return 1;
    }
    tcp_server = std::move(*s);
    where += fmt::format(" tcp {}:{}", to.host, tcp_server->port());
  }
  if (!rtu.device.empty()) {
    auto s = sim_modbus::modbus_server::start_rtu(bank, rtu);
    if (!s) {
      std::fprintf(stderr, "herd-sim-modbus: %s\n", s.err().message.c_str());
      return 1;
    }
    rtu_server = std::move(*s);
    where += fmt::format(" rtu {} {} {}{}{} slave {}", rtu.device, rtu.baud, rtu.data_bits,
                         rtu.parity, rtu.stop_bits, rtu.slave_id);
  }
  std::printf("herd-sim-modbus: %s, seed %llu, speed %g, serving on%s\n", what.c_str(),
              static_cast<unsigned long long>(fo.seed), speed, where.c_str());
  std::fflush(stdout);

  while (!sim::stop_flag().load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    update();
    if (duration_s > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= duration_s) {
      break;
    }
  }
  for (auto* s : {tcp_server.get(), rtu_server.get()}) {
    if (s == nullptr) continue;
    s->stop();
    const auto st = s->stats();
    std::printf("herd-sim-modbus: %s: %llu requests (%llu illegal function), %llu bad frames, "
                "%llu TCP clients\n",
                s == tcp_server.get() ? "tcp" : "rtu", static_cast<unsigned long long>(st.requests),
                static_cast<unsigned long long>(st.rejected),
                static_cast<unsigned long long>(st.bad_frames),
                static_cast<unsigned long long>(st.clients));
  }
  return 0;
}
