// The simulated Modbus devices against a real libmodbus client: over TCP on loopback and over RTU
// on a socat pty pair. Expected values come from the simulator's API (the fleet's readings decoded
// with the gateway's own decoder, the scale model) and the register tables in
// firmware-sim/README.md, written out here by hand: a change of the map breaks these tests.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <fcntl.h>
#include <modbus.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "herd/sensors/collar_format.hpp"
#include "herd/sim/fleet.hpp"
#include "herd/sim/herd.hpp"
#include "herd/sim/ids.hpp"
#include "herd/sim_modbus/base_station.hpp"
#include "herd/sim_modbus/collar_feed.hpp"
#include "herd/sim_modbus/server.hpp"
#include "herd/sim_modbus/walkover_scale.hpp"
#include "herd/test_support/child_process.hpp"
#include "herd/test_support/net.hpp"
#include "herd/test_support/temp_dir.hpp"
#include "herd/test_support/wait_until.hpp"

using namespace std::chrono_literals;
namespace sm = herd::sim_modbus;
namespace ts = herd::test_support;

namespace {

constexpr std::int64_t k_start = herd::sim::k_default_start_ms;  // 2026-01-01T00:00:00Z
constexpr std::int64_t k_min = 60'000;
constexpr std::int64_t k_hour = 3'600'000;
constexpr std::int64_t k_day = 86'400'000;

// A libmodbus client (master).
class client {
 public:
  static client tcp(int port) {
    client c(modbus_new_tcp("127.0.0.1", port));
    c.connect();
    return c;
  }
  static client rtu(const std::string& path, int baud, char parity, int stop_bits, int slave) {
    client c(modbus_new_rtu(path.c_str(), baud, parity, 8, stop_bits));
    REQUIRE(modbus_set_slave(c.ctx_, slave) == 0);
    c.connect();
    return c;
  }
  client(client&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
  client& operator=(client&&) = delete;
  ~client() {
    if (ctx_ != nullptr) {
      modbus_close(ctx_);
      modbus_free(ctx_);
    }
  }
  modbus_t* get() const { return ctx_; }

  // FC 04 (or 03); nullopt with errno set when the slave answered with an exception or not at all.
  std::optional<std::vector<std::uint16_t>> read(int addr, int n, bool holding = false) const {
    std::vector<std::uint16_t> v(static_cast<std::size_t>(n));
    const int rc = holding ? modbus_read_registers(ctx_, addr, n, v.data())
                           : modbus_read_input_registers(ctx_, addr, n, v.data());
    if (rc != n) return std::nullopt;
    return v;
  }
  std::vector<std::uint16_t> must_read(int addr, int n, bool holding = false) const {
    auto v = read(addr, n, holding);
    const std::string why = v ? "" : modbus_strerror(errno);
    INFO("read " << addr << "+" << n << ": " << why);
    REQUIRE(v.has_value());
    return *v;
  }
  // Sends a raw PDU (function + data); returns the exception code of the answer, 0 for a normal
  // response, -1 for none.
  int raw(std::vector<std::uint8_t> pdu, int slave) const {
    const std::uint8_t function = pdu.at(0);
    pdu.insert(pdu.begin(), static_cast<std::uint8_t>(slave));
    REQUIRE(modbus_send_raw_request(ctx_, pdu.data(), static_cast<int>(pdu.size())) > 0);
    std::uint8_t rsp[MODBUS_MAX_ADU_LENGTH];
    const int n = modbus_receive_confirmation(ctx_, rsp);
    const int h = modbus_get_header_length(ctx_);
    if (n < h + 2) return -1;
    if (rsp[h] == (function | 0x80)) return rsp[h + 1];
    return rsp[h] == function ? 0 : -1;
  }

 private:
  explicit client(modbus_t* ctx) : ctx_(ctx) {
    REQUIRE(ctx_ != nullptr);
    modbus_set_response_timeout(ctx_, 2, 0);
  }
  void connect() {
    const int rc = modbus_connect(ctx_);
    const std::string why = rc == 0 ? "" : modbus_strerror(errno);
    INFO("connect: " << why);
    REQUIRE(rc == 0);
  }
  modbus_t* ctx_;
};

std::uint32_t u32(const std::vector<std::uint16_t>& r, std::size_t at) {
  return static_cast<std::uint32_t>(r.at(at)) << 16 | r.at(at + 1);
}
std::int16_t s16(const std::vector<std::uint16_t>& r, std::size_t at) {
  return static_cast<std::int16_t>(r.at(at));
}

// What the station must show: the last reading of each collar among the fleet's first `n`,
// decoded by the gateway's decoder (not the station's).
std::map<int, herd::sensors::collar_reading> last_readings(const herd::sim::fleet_options& fo,
                                                           std::uint64_t n, bool herd_model = false) {
  herd::sim::fleet f = herd_model ? herd::sim::fleet(fo, herd::sim::make_herd_model(fo.seed, fo.collars,
                                                                                    fo.interval_s, fo.start_ms))
                                  : herd::sim::fleet(fo);
  std::map<std::string, int> index;
  for (int i = 0; i < fo.collars; ++i) index[herd::sim::collar_id(i)] = i;
  std::map<int, herd::sensors::collar_reading> last;
  for (std::uint64_t k = 0; k < n; ++k) {
    const auto m = f.next();
    auto r = herd::sensors::decode_collar_message(m.topic, m.payload);
    REQUIRE(r.ok());
    last[index.at(r->collar_id)] = *r;
  }
  return last;
}

// Slot i (documented: 100 + 20 i, 20 registers) against a decoded reading.
void check_slot(const std::vector<std::uint16_t>& s, int collar,
                const herd::sensors::collar_reading& r, std::uint32_t readings) {
  INFO("collar " << collar);
  CHECK(u32(s, 0) == static_cast<std::uint32_t>(collar + 1));
  CHECK(u32(s, 2) == r.seq);
  CHECK(u32(s, 4) == static_cast<std::uint32_t>(r.ts_ms / 1000));
  CHECK(s[6] == r.ts_ms % 1000);
  CHECK(s16(s, 7) == std::llround(*r.temp_c * 100));
  CHECK(u32(s, 8) == *r.steps);
  CHECK(s[10] == std::llround(*r.rum_min * 10));
  CHECK(u32(s, 11) == *r.interval_s);
  CHECK(s[13] == *r.batt_pct);
  CHECK(s16(s, 14) == *r.rssi_dbm);
  CHECK((s[15] & 1u) == 1u);  // in use
  CHECK(((s[15] >> 2) & 1u) == (*r.batt_pct < 20 ? 1u : 0u));
  CHECK(((s[15] >> 3) & 1u) == (*r.temp_c >= 39.495 ? 1u : 0u));
  CHECK(u32(s, 16) == readings);
  CHECK(s[18] == 0);  // no seq gaps in a healthy fleet
}

struct station_rig {
  herd::sim::fleet_options fo;
  sm::base_station station;
  sm::collar_feed feed;
  std::shared_ptr<sm::register_bank> bank;
  std::unique_ptr<sm::modbus_server> server;

  station_rig(herd::sim::fleet_options o, int slots)
      : fo(std::move(o)), station(slots, fo.start_ms), feed(fo),
        bank(std::make_shared<sm::register_bank>(station.registers().size())) {
    bank->publish(station.registers());
    auto s = sm::modbus_server::start_tcp(bank, {"127.0.0.1", 0, 16});
    REQUIRE(s.ok());
    server = std::move(*s);
  }
  void advance_to(std::int64_t t) {
    feed.advance_to(t, station);
    bank->publish(station.registers());
  }
};

herd::sim::fleet_options small_fleet() {
  herd::sim::fleet_options fo;
  fo.seed = 7;
  fo.collars = 20;
  fo.interval_s = 600;
  return fo;
}

// A socat pty pair: <dir>/slave for the device, <dir>/master for the client.
struct pty_pair {
  ts::temp_dir dir;
  std::string slave = (dir / "slave").string();
  std::string master = (dir / "master").string();
  ts::child_process socat{"socat",
                          {"-d", "-d", "pty,raw,echo=0,link=" + slave,
                           "pty,raw,echo=0,link=" + master},
                          dir.path()};
  pty_pair() {
    REQUIRE(ts::wait_until(
        [&] { return std::filesystem::exists(slave) && std::filesystem::exists(master); }, 5s));
  }
};

termios line_settings(const std::string& tty) {
  const int fd = ::open(tty.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK);
  REQUIRE(fd >= 0);
  termios tio{};
  const int rc = ::tcgetattr(fd, &tio);
  ::close(fd);
  REQUIRE(rc == 0);
  return tio;
}

double median_us(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double p99_us(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

template <class F>
double time_us(F&& f) {
  const auto t = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("base station over Modbus TCP: header and every slot show the collars' last readings") {
  const auto fo = small_fleet();
  station_rig rig(fo, 24);  // 4 slots more than collars: they stay empty
  const std::int64_t t1 = k_start + 2 * 10 * k_min + 5 * k_min;  // rounds 0, 1, 2 are due
  rig.advance_to(t1);
  const auto c = client::tcp(rig.server->port());

  const auto h = c.must_read(0, 17);
  CHECK(h[0] == 0x4253);
  CHECK(h[1] == 1);
  CHECK(h[2] == 0x0103);
  CHECK(h[3] == 24);
  CHECK(h[4] == 20);
  CHECK(h[5] == 100);
  CHECK(u32(h, 6) == (t1 - k_start) / 1000);
  CHECK(u32(h, 8) == 60);  // change counter: one per reading
  CHECK(u32(h, 10) == t1 / 1000);
  CHECK(h[12] == 20);
  CHECK(u32(h, 13) == 60);
  CHECK(u32(h, 15) == 0);
  CHECK(c.must_read(0, 17, /*holding=*/true) == h);  // FC 03 shows the same map

  auto expected = last_readings(fo, 60);
  for (int i = 0; i < 20; ++i) check_slot(c.must_read(100 + 20 * i, 20), i, expected.at(i), 3);
  for (int i = 20; i < 24; ++i) {
    CHECK(c.must_read(100 + 20 * i, 20) == std::vector<std::uint16_t>(20, 0));
  }

  SUBCASE("the registers move on with virtual time") {
    const std::int64_t t2 = k_start + 10 * 10 * k_min;  // rounds 0..10
    rig.advance_to(t2);
    const auto h2 = c.must_read(0, 17);
    CHECK(u32(h2, 8) == 220);
    CHECK(u32(h2, 10) == t2 / 1000);
    expected = last_readings(fo, 220);
    for (int i = 0; i < 20; ++i) check_slot(c.must_read(100 + 20 * i, 20), i, expected.at(i), 11);

    // No new readings for more than 3 intervals (the fleet is not fed): every slot goes stale.
    rig.station.advance_to(t2 + 31 * k_min);
    rig.bank->publish(rig.station.registers());
    for (int i = 0; i < 20; ++i) CHECK((c.must_read(100 + 20 * i + 15, 1)[0] & 0x2u) == 0x2u);
  }
}

TEST_CASE("base station: bad requests get Modbus exceptions and the slave keeps answering") {
  station_rig rig(small_fleet(), 24);
  rig.advance_to(k_start);
  const auto c = client::tcp(rig.server->port());
  const int end = 100 + 24 * 20;  // first address past the map

  CHECK_FALSE(c.read(end, 1));
  CHECK(errno == EMBXILADD);
  CHECK_FALSE(c.read(end - 10, 20, true));  // crosses the end
  CHECK(errno == EMBXILADD);
  CHECK_FALSE(c.read(65'000, 10));
  CHECK(errno == EMBXILADD);
  // 126 registers: more than a read may ask for (libmodbus' client refuses to send it, so raw).
  CHECK(c.raw({0x04, 0x00, 0x00, 0x00, 0x7E}, 1) == MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
  CHECK(c.raw({0x04, 0x00, 0x00, 0x00, 0x00}, 1) == MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);  // none
  CHECK(c.raw({0x04, 0x01, 0xF4, 0x00, 0x7D}, 1) == MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);  // 500+125
  CHECK(c.raw({0x42}, 1) == MODBUS_EXCEPTION_ILLEGAL_FUNCTION);  // no such function
  CHECK(c.raw({0x2B, 0x0E, 0x01, 0x00}, 1) == MODBUS_EXCEPTION_ILLEGAL_FUNCTION);  // device id
  CHECK(c.raw({0x08, 0x00, 0x00, 0x12, 0x34}, 1) == MODBUS_EXCEPTION_ILLEGAL_FUNCTION);  // diagnostics
  CHECK(c.raw({0x11}, 1) == 0);  // report slave id is answered
  CHECK(modbus_write_register(c.get(), 0, 1) == -1);
  CHECK(errno == EMBXILFUN);
  std::uint16_t v[2] = {1, 2};
  CHECK(modbus_write_registers(c.get(), 100, 2, v) == -1);
  CHECK(errno == EMBXILFUN);
  std::uint8_t bits[8];
  CHECK(modbus_read_bits(c.get(), 0, 8, bits) == -1);
  CHECK(errno == EMBXILFUN);
  CHECK(c.must_read(0, 1)[0] == 0x4253);  // nothing was written, the slave still answers

  // A peer that sends garbage instead of Modbus TCP is dropped; others are not disturbed.
  for (const std::size_t len : {1u, 7u, 64u, 300u}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(rig.server->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    std::vector<std::uint8_t> junk(len);
    for (std::size_t i = 0; i < len; ++i) junk[i] = static_cast<std::uint8_t>(i * 37 + 11);
    REQUIRE(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(len));
    CHECK(c.must_read(0, 1)[0] == 0x4253);
    ::close(fd);
  }
  CHECK(client::tcp(rig.server->port()).must_read(3, 1)[0] == 24);

  {  // A peer stalled in the middle of a frame holds up nobody: others get answers meanwhile.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(rig.server->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const std::uint8_t half[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x04};  // 8 of 12
    REQUIRE(::send(fd, half, sizeof half, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof half));
    modbus_set_response_timeout(c.get(), 0, 300'000);
    for (int k = 0; k < 10; ++k) CHECK(c.must_read(0, 1)[0] == 0x4253);
    modbus_set_response_timeout(c.get(), 2, 0);
    // The rest of its frame arrives: it is answered too.
    const std::uint8_t rest[] = {0x00, 0x03, 0x00, 0x01};
    REQUIRE(::send(fd, rest, sizeof rest, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof rest));
    std::uint8_t rsp[11] = {};
    std::size_t got = 0;
    REQUIRE(ts::wait_until([&] {
      const ssize_t r = ::recv(fd, rsp + got, sizeof rsp - got, MSG_DONTWAIT);
      if (r > 0) got += static_cast<std::size_t>(r);
      return got == sizeof rsp;
    }, 5s));
    CHECK(rsp[7] == 0x04);  // function
    CHECK(rsp[8] == 2);     // byte count
    CHECK(rsp[9] == 0x00);  // register 3: slot count 24
    CHECK(rsp[10] == 24);
    ::close(fd);
  }
  CHECK(rig.server->stats().rejected >= 6);
  CHECK(ts::wait_until([&] { return rig.server->stats().bad_frames == 4; }, 5s));
}

TEST_CASE("base station: several TCP clients one after another and at the same time") {
  const auto fo = small_fleet();
  station_rig rig(fo, 20);
  rig.advance_to(k_start + 25 * k_min);
  const auto image = rig.station.registers();

  for (int i = 0; i < 20; ++i) {  // one after another, each with a new connection
    const auto c = client::tcp(rig.server->port());
    CHECK(c.must_read(100 + 20 * i, 20) ==
          std::vector<std::uint16_t>(image.begin() + 100 + 20 * i, image.begin() + 120 + 20 * i));
  }

  constexpr int k_clients = 6;
  constexpr int k_reads = 300;
  std::atomic<int> wrong{0};
  std::atomic<int> failed{0};
  std::vector<std::vector<double>> rtt(k_clients);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_clients; ++t) {
    threads.emplace_back([&, t] {
      modbus_t* ctx = modbus_new_tcp("127.0.0.1", rig.server->port());
      if (ctx == nullptr || modbus_connect(ctx) != 0) {
        failed += k_reads;
        if (ctx != nullptr) modbus_free(ctx);
        return;
      }
      modbus_set_response_timeout(ctx, 2, 0);
      std::uint16_t regs[100];
      for (int k = 0; k < k_reads; ++k) {
        const int slot = (t + k) % 20;
        const int addr = 100 + 20 * slot;
        int rc = 0;
        rtt[static_cast<std::size_t>(t)].push_back(
            time_us([&] { rc = modbus_read_input_registers(ctx, addr, 100 - 80 * (k % 2), regs); }));
        const int n = 100 - 80 * (k % 2);
        if (addr + n > 500) {  // past the end: must be an exception
          if (rc != -1 || errno != EMBXILADD) ++wrong;
          continue;
        }
        if (rc != n) {
          ++failed;
          continue;
        }
        if (!std::equal(regs, regs + n, image.begin() + addr)) ++wrong;
      }
      modbus_close(ctx);
      modbus_free(ctx);
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failed.load() == 0);
  CHECK(wrong.load() == 0);
  std::vector<double> all;
  for (const auto& v : rtt) all.insert(all.end(), v.begin(), v.end());
  MESSAGE("Modbus TCP, " << k_clients << " clients at once, " << all.size()
                         << " reads of 20/100 registers: round trip median " << median_us(all)
                         << " us, p99 " << p99_us(all) << " us");
  CHECK(rig.server->stats().clients == 20 + k_clients);

  // Alone: the plain request round trip.
  const auto c = client::tcp(rig.server->port());
  std::vector<double> one;
  for (int k = 0; k < 500; ++k) one.push_back(time_us([&] { c.must_read(100, 20); }));
  MESSAGE("Modbus TCP, one client, 500 reads of 20 registers: round trip median "
          << median_us(one) << " us, p99 " << p99_us(one) << " us");
}

TEST_CASE("walk-over scale over Modbus RTU on a pty pair at a configured baud and parity") {
  pty_pair pty;
  constexpr std::uint64_t k_seed = 11;
  constexpr int k_animals = 30;
  sm::walkover_scale scale(k_seed, k_animals, k_start);
  // Day 2, 05:03: both milkings of day 1 and the first few cows of the morning milking.
  const std::int64_t t1 = k_start + k_day + 5 * k_hour + 3 * k_min;
  scale.advance_to(t1);
  auto bank = std::make_shared<sm::register_bank>(scale.registers().size());
  bank->publish(scale.registers());
  sm::rtu_options ro;
  ro.device = pty.slave;
  ro.baud = 38400;
  ro.parity = 'O';
  ro.stop_bits = 1;
  ro.slave_id = 17;
  auto srv = sm::modbus_server::start_rtu(bank, ro);
  REQUIRE(srv.ok());

  // The device side of the line runs at the configured speed. (A pty keeps the baud rate and
  // stop bits it is given, but Linux forces CS8 and clears PARENB on it, so parity is not visible.)
  const termios tio = line_settings(pty.slave);
  CHECK(cfgetispeed(&tio) == B38400);
  CHECK(cfgetospeed(&tio) == B38400);
  CHECK((tio.c_cflag & CSTOPB) == 0);

  // What the scale must show, from the model: every weighing up to t1.
  sm::scale_model model(k_seed, k_animals, k_start);
  const auto expect_at = [&](std::int64_t t) {
    std::uint64_t n = 0;
    while (model.at(n).ts_ms <= t) ++n;
    return n;
  };
  const std::uint64_t n1 = expect_at(t1);
  REQUIRE(n1 > 2 * k_animals);
  REQUIRE(n1 < 3 * k_animals);
  const auto check_scale = [&](const std::vector<std::uint16_t>& r, std::uint64_t n,
                               std::int64_t now) {
    const auto w = model.at(n - 1);
    CHECK(r[0] == 0x5753);
    CHECK(r[1] == 1);
    CHECK(r[2] == 0x0201);
    CHECK(u32(r, 3) == (now - k_start) / 1000);
    CHECK(u32(r, 5) == now / 1000);
    CHECK((r[7] & 1u) == 1u);
    CHECK(((r[7] >> 1) & 1u) == (w.stable ? 1u : 0u));
    CHECK(((r[7] >> 2) & 1u) == (w.animal >= 0 ? 1u : 0u));
    CHECK(u32(r, 8) == n);
    CHECK(u32(r, 10) == w.ts_ms / 1000);
    const std::string tag = w.animal >= 0 ? herd::sim::animal_id(w.animal) : std::string{};
    const std::uint64_t national = (static_cast<std::uint64_t>(r[13]) << 32) |
                                   (static_cast<std::uint64_t>(r[14]) << 16) | r[15];
    CHECK(r[12] == (tag.empty() ? 0 : std::stoul(tag.substr(0, 3))));
    CHECK(national == (tag.empty() ? 0 : std::stoull(tag.substr(3))));
    CHECK(u32(r, 16) == w.weight_deci_kg);
    CHECK(w.weight_deci_kg > 4'000);  // a cow, not a calf or a tractor
    CHECK(w.weight_deci_kg < 9'000);
    std::string ascii;
    for (int i = 0; i < 8; ++i) {
      for (const int c : {r[18 + static_cast<std::size_t>(i)] >> 8, r[18 + static_cast<std::size_t>(i)] & 0xFF}) {
        if (c != 0) ascii.push_back(static_cast<char>(c));
      }
    }
    CHECK(ascii == tag);
  };

  auto c = client::rtu(pty.master, 38400, 'O', 1, 17);
  check_scale(c.must_read(0, 26), n1, t1);
  CHECK(c.must_read(0, 26, true) == c.must_read(0, 26));

  // Exceptions travel over RTU as well.
  CHECK_FALSE(c.read(26, 1));
  CHECK(errno == EMBXILADD);
  CHECK(modbus_write_register(c.get(), 7, 0) == -1);
  CHECK(errno == EMBXILFUN);

  // Another slave address on the bus: this one stays silent (the client times out).
  modbus_set_response_timeout(c.get(), 0, 300'000);
  REQUIRE(modbus_set_slave(c.get(), 18) == 0);
  CHECK_FALSE(c.read(0, 1));
  CHECK(errno == ETIMEDOUT);
  REQUIRE(modbus_set_slave(c.get(), 17) == 0);
  modbus_set_response_timeout(c.get(), 2, 0);
  CHECK(c.must_read(0, 1)[0] == 0x5753);

  // The morning milking ends: the counter and the last weighing move on.
  const std::int64_t t2 = k_start + k_day + 7 * k_hour;
  scale.advance_to(t2);
  bank->publish(scale.registers());
  const std::uint64_t n2 = expect_at(t2);
  CHECK(n2 == 3 * k_animals);
  check_scale(c.must_read(0, 26), n2, t2);

  std::vector<double> rtt;
  for (int k = 0; k < 200; ++k) rtt.push_back(time_us([&] { c.must_read(0, 26); }));
  MESSAGE("Modbus RTU over a pty pair (38400 8O1), 200 reads of 26 registers: round trip median "
          << median_us(rtt) << " us, p99 " << p99_us(rtt) << " us");
  CHECK((*srv)->stats().bad_frames == 0);
}

TEST_CASE("herd-sim-modbus: a station over TCP moving with virtual time, a scale over RTU") {
  ts::temp_dir logs;
  SUBCASE("station over TCP, 10 virtual minutes per 100 ms") {
    herd::sim::fleet_options fo;
    fo.seed = 5;
    fo.collars = 10;
    const std::uint16_t port = ts::free_port();
    ts::child_process p(HERD_SIM_MODBUS_BIN,
                        {"--device", "station", "--collars", "10", "--seed", "5", "--tcp",
                         "127.0.0.1:" + std::to_string(port), "--speed", "6000"},
                        logs.path());
    REQUIRE(ts::wait_port_accepts(port, 10s));
    const auto c = client::tcp(port);
    // Readings arrive round by round as virtual time passes.
    REQUIRE(ts::wait_until([&] { return u32(c.must_read(0, 17), 8) >= 50; }, 20s, 20ms));
    // Whatever round it shows, each slot is the fleet's reading of that round for that collar.
    const auto slot0 = c.must_read(100, 20);
    const std::int64_t ts_ms = static_cast<std::int64_t>(u32(slot0, 4)) * 1000 + slot0[6];
    REQUIRE(ts_ms >= k_start);
    REQUIRE(ts_ms < k_start + 1000 * 10 * k_min);  // sane, before generating that many readings
    const auto round = static_cast<std::uint64_t>((ts_ms - k_start) / (10 * k_min));
    const auto expected = last_readings(fo, (round + 1) * 10);
    check_slot(slot0, 0, expected.at(0), static_cast<std::uint32_t>(round + 1));
    p.signal(SIGTERM);
    CHECK(p.wait_exit(10s) == 0);
    CHECK(p.log_text().find("tcp: ") != std::string::npos);
  }
  SUBCASE("station over TCP showing the realistic herd's physiology (--model herd)") {
    herd::sim::fleet_options fo;
    fo.seed = 9;
    fo.collars = 10;
    const std::uint16_t port = ts::free_port();
    // An hour of history at real-time speed: rounds 0..6 are in, the next is 10 minutes away.
    ts::child_process p(HERD_SIM_MODBUS_BIN,
                        {"--device", "station", "--model", "herd", "--collars", "10", "--seed", "9",
                         "--tcp", "127.0.0.1:" + std::to_string(port), "--elapsed", "3600"},
                        logs.path());
    REQUIRE(ts::wait_port_accepts(port, 10s));
    const auto c = client::tcp(port);
    const auto expected = last_readings(fo, 7 * 10, true);
    const auto baseline = last_readings(fo, 7 * 10, false);
    for (int i = 0; i < 10; ++i) check_slot(c.must_read(100 + 20 * i, 20), i, expected.at(i), 7);
    CHECK(s16(c.must_read(100, 20), 7) != std::llround(*baseline.at(0).temp_c * 100));  // not the baseline fleet
    p.signal(SIGTERM);
    CHECK(p.wait_exit(10s) == 0);
  }
  SUBCASE("scale over RTU and TCP at once, with a day of history") {
    pty_pair pty;
    const std::uint16_t port = ts::free_port();
    ts::child_process p(HERD_SIM_MODBUS_BIN,
                        {"--device", "scale", "--collars", "40", "--seed", "3", "--tcp",
                         "127.0.0.1:" + std::to_string(port), "--rtu", pty.slave,
                         "--baud", "9600", "--parity", "N", "--stop-bits", "2", "--slave-id", "5",
                         "--elapsed", "86400"},
                        logs.path());
    REQUIRE(ts::wait_until([&] { return p.log_text().find("serving on") != std::string::npos; },
                           10s));
    const termios tio = line_settings(pty.slave);
    CHECK(cfgetospeed(&tio) == B9600);
    CHECK((tio.c_cflag & CSTOPB) != 0);  // 8N2, as configured
    const auto c = client::rtu(pty.master, 9600, 'N', 2, 5);
    const auto r = c.must_read(0, 26);
    CHECK(r[0] == 0x5753);
    // 2026-01-02 00:00 plus a few real seconds: both milkings of day 1, nothing of day 2 yet.
    CHECK(u32(r, 8) == 80);
    sm::scale_model model(3, 40, k_start);
    CHECK(u32(r, 16) == model.at(79).weight_deci_kg);
    CHECK(u32(r, 10) == model.at(79).ts_ms / 1000);
    REQUIRE(ts::wait_port_accepts(port, 10s));
    const auto r_tcp = client::tcp(port).must_read(0, 26);
    CHECK(std::equal(r_tcp.begin() + 8, r_tcp.end(), r.begin() + 8));  // all but uptime, clock
    p.signal(SIGTERM);
    CHECK(p.wait_exit(10s) == 0);
  }
}
