#include "modbus_rig.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <herd/test_support/wait_until.hpp>

#include "herd/gateway/config.hpp"
#include "herd/sim/fleet.hpp"
#include "herd/sim_modbus/base_station.hpp"
#include "herd/sim_modbus/collar_feed.hpp"
#include "herd/sim_modbus/server.hpp"
#include "herd/sim_modbus/walkover_scale.hpp"
#include "minimal_config.hpp"

namespace herd::test_modbus {

namespace ts = herd::test_support;
using namespace std::chrono_literals;

core::status recording_sink::on_reading(const sensors::raw_message& raw, const sensors::reading& r) {
  std::lock_guard lock(mu_);
  readings_.push_back({raw, r, steady::now()});
  return core::ok_v;
}
core::status recording_sink::on_rejected(const sensors::raw_message& raw, const std::string& reason) {
  std::lock_guard lock(mu_);
  rejected_.push_back(raw.source + ": " + reason);
  return core::ok_v;
}
std::vector<stored> recording_sink::readings() const {
  std::lock_guard lock(mu_);
  return readings_;
}
std::vector<std::string> recording_sink::rejections() const {
  std::lock_guard lock(mu_);
  return rejected_;
}
std::size_t recording_sink::count() const {
  std::lock_guard lock(mu_);
  return readings_.size();
}

std::function<void(const sensors::modbus::poll_event&)> poll_log::observer() {
  return [this](const sensors::modbus::poll_event& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
  };
}
std::vector<sensors::modbus::poll_event> poll_log::of(const std::string& device) const {
  std::lock_guard lock(mu_);
  std::vector<sensors::modbus::poll_event> out;
  for (const auto& e : events_) {
    if (e.device == device) out.push_back(e);
  }
  return out;
}
std::size_t poll_log::ok_count(const std::string& device) const {
  const auto ev = of(device);
  return static_cast<std::size_t>(std::count_if(ev.begin(), ev.end(), [](const auto& e) { return e.ok; }));
}
std::chrono::milliseconds poll_log::max_gap(const std::string& device, steady::time_point since) const {
  std::chrono::milliseconds gap{0};
  std::optional<steady::time_point> prev;
  for (const auto& e : of(device)) {
    if (e.started < since) continue;
    if (prev) gap = std::max(gap, std::chrono::duration_cast<std::chrono::milliseconds>(e.started - *prev));
    prev = e.started;
  }
  return gap;
}

sensors::modbus::options devices_from(const std::string& toml) {
  auto c = gateway::parse_config(test::k_minimal_config + toml, HERD_SOURCE_DIR "/config/test.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  return c->modbus;
}

pty_pair::pty_pair() : device_end((dir / "device").string()), gateway_end((dir / "gateway").string()) { restart(); }

void pty_pair::kill() {
  if (socat) socat->kill9();
  socat.reset();
  std::filesystem::remove(device_end);
  std::filesystem::remove(gateway_end);
}

void pty_pair::restart() {
  kill();
  socat = std::make_unique<ts::child_process>(
      "socat", std::vector<std::string>{"pty,raw,echo=0,link=" + device_end, "pty,raw,echo=0,link=" + gateway_end},
      dir.path());
  REQUIRE(ts::wait_until([&] { return std::filesystem::exists(device_end) && std::filesystem::exists(gateway_end); }, 5s));
}

struct sim_device {
  std::unique_ptr<sim_modbus::walkover_scale> scale;
  std::unique_ptr<sim_modbus::base_station> station;
  std::unique_ptr<sim_modbus::collar_feed> feed;
  std::int64_t start_ms = 0;
  std::shared_ptr<sim_modbus::register_bank> bank;
  std::unique_ptr<sim_modbus::modbus_server> server;
};

namespace {
std::shared_ptr<sim_device> make_scale(std::uint64_t seed, int animals, std::int64_t start_ms, double elapsed_s) {
  auto d = std::make_shared<sim_device>();
  d->start_ms = start_ms;
  d->scale = std::make_unique<sim_modbus::walkover_scale>(seed, animals, start_ms);
  d->bank = std::make_shared<sim_modbus::register_bank>(d->scale->registers().size());
  advance(*d, elapsed_s);
  return d;
}
}  // namespace

std::shared_ptr<sim_device> sim_scale_tcp(std::uint64_t seed, int animals, std::int64_t start_ms, double elapsed_s) {
  auto d = make_scale(seed, animals, start_ms, elapsed_s);
  sim_modbus::tcp_options o;
  o.port = 0;
  auto s = sim_modbus::modbus_server::start_tcp(d->bank, o);
  REQUIRE(s.ok());
  d->server = std::move(*s);
  return d;
}

std::shared_ptr<sim_device> sim_scale_rtu(const std::string& device, int unit, std::uint64_t seed, int animals,
                                          std::int64_t start_ms, double elapsed_s) {
  auto d = make_scale(seed, animals, start_ms, elapsed_s);
  sim_modbus::rtu_options o;
  o.device = device;
  o.slave_id = unit;
  auto s = sim_modbus::modbus_server::start_rtu(d->bank, o);
  REQUIRE(s.ok());
  d->server = std::move(*s);
  return d;
}

std::shared_ptr<sim_device> sim_station_tcp(std::uint64_t seed, int collars, std::int64_t start_ms) {
  auto d = std::make_shared<sim_device>();
  d->start_ms = start_ms;
  sim::fleet_options fo;
  fo.seed = seed;
  fo.collars = collars;
  fo.start_ms = start_ms;
  fo.interval_s = 600;
  d->station = std::make_unique<sim_modbus::base_station>(collars, start_ms);
  d->feed = std::make_unique<sim_modbus::collar_feed>(fo);
  d->bank = std::make_shared<sim_modbus::register_bank>(d->station->registers().size());
  advance(*d, 0);
  sim_modbus::tcp_options o;
  o.port = 0;
  auto s = sim_modbus::modbus_server::start_tcp(d->bank, o);
  REQUIRE(s.ok());
  d->server = std::move(*s);
  return d;
}

int port_of(const sim_device& d) { return d.server->port(); }

void advance(sim_device& d, double elapsed_s) {
  const auto now = d.start_ms + static_cast<std::int64_t>(elapsed_s * 1000);
  if (d.scale) {
    d.scale->advance_to(now);
    d.bank->publish(d.scale->registers());
  } else {
    d.feed->advance_to(now, *d.station);
    d.bank->publish(d.station->registers());
  }
}

const std::vector<std::uint16_t>& image(const sim_device& d) {
  return d.scale ? d.scale->registers() : d.station->registers();
}

}  // namespace herd::test_modbus
