#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/sensors/collar_format.hpp"
#include "herd/sim/fleet.hpp"
#include "herd/sim/ids.hpp"
#include "herd/sim/publisher.hpp"

namespace sim = herd::sim;

namespace {

std::vector<sim::message> take(sim::fleet& f, int n) {
  std::vector<sim::message> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(f.next());
  return out;
}

sim::fleet_options opts(std::uint64_t seed, int collars = 50) {
  sim::fleet_options o;
  o.seed = seed;
  o.collars = collars;
  return o;
}

// A unique, empty directory under the system temp dir, removed at scope exit.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("herd_sim_test_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("ids are fixed-width collar ids and 15-digit ISO 11784 animal ids") {
  CHECK(sim::collar_id(0) == "C-00001");
  CHECK(sim::collar_id(41) == "C-00042");
  CHECK(sim::animal_id(0) == "276000000000001");
  CHECK(sim::animal_id(sim::k_max_collars - 1) == "276000000099999");
}

TEST_CASE("the payload format is pinned byte for byte") {
  const sim::collar_values v{3862, 412, 31, 87, -71};
  CHECK(sim::format_payload(18234, 1795668000000, 600, v) ==
        R"({"seq":18234,"ts":1795668000000,"temp_c":38.62,"steps":412,"rum_min":3.1,)"
        R"("interval_s":600,"batt_pct":87,"rssi_dbm":-71})");
  const sim::collar_values small{3805, 0, 0, 0, -100};
  CHECK(sim::format_payload(0, 0, 1, small) ==
        R"({"seq":0,"ts":0,"temp_c":38.05,"steps":0,"rum_min":0.0,"interval_s":1,)"
        R"("batt_pct":0,"rssi_dbm":-100})");
}

TEST_CASE("the same seed gives identical first 1,000 messages") {
  sim::fleet a(opts(7));
  sim::fleet b(opts(7));
  const auto ma = take(a, 1000);
  const auto mb = take(b, 1000);
  for (std::size_t i = 0; i < ma.size(); ++i) {
    CAPTURE(i);
    REQUIRE(ma[i].topic == mb[i].topic);
    REQUIRE(ma[i].payload == mb[i].payload);
  }
}

TEST_CASE("output of seed 1 is the same on every platform (golden)") {
  // If this changes, the simulation changed: recorded runs and benchmark baselines no longer
  // compare. Change it only on purpose.
  sim::fleet f(opts(1));
  const auto m = f.next();
  CHECK(m.topic == "farm/farm-01/collar/C-00001/telemetry");
  CHECK(m.payload ==
        R"({"seq":501124,"ts":1767225600000,"temp_c":38.36,"steps":488,"rum_min":2.0,)"
        R"("interval_s":600,"batt_pct":97,"rssi_dbm":-80})");
  // FNV-1a over the next 999 payloads pins every draw, not only the first.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const auto& next : take(f, 999)) {
    for (const char c : next.payload) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  CHECK(h == 5250939825747259707ULL);
}

TEST_CASE("different seeds give different messages") {
  sim::fleet a(opts(1));
  sim::fleet b(opts(2));
  const auto ma = take(a, 1000);
  const auto mb = take(b, 1000);
  int differing = 0;
  for (std::size_t i = 0; i < ma.size(); ++i) {
    CHECK(ma[i].topic == mb[i].topic);  // topics depend on collar and farm only
    differing += ma[i].payload != mb[i].payload;
  }
  CHECK(differing > 990);
}

TEST_CASE("round robin order, seq +1 and ts +interval per collar") {
  auto o = opts(3, 7);
  o.interval_s = 300;
  sim::fleet f(o);
  std::map<std::string, herd::sensors::collar_reading> last;
  for (int i = 0; i < 7 * 20; ++i) {
    const auto m = f.next();
    CAPTURE(m.topic);
    CAPTURE(m.payload);
    REQUIRE(m.topic == "farm/farm-01/collar/" + sim::collar_id(i % 7) + "/telemetry");
    auto r = herd::sensors::decode_collar_message(m.topic, m.payload);
    REQUIRE(r.ok());
    const int k = i / 7;
    CHECK(r->ts_ms == sim::k_default_start_ms + k * 300'000LL);
    if (auto it = last.find(r->collar_id); it != last.end()) {
      CHECK(r->seq == it->second.seq + 1);
      CHECK(*r->batt_pct <= *it->second.batt_pct);  // the battery only drains
    } else {
      CHECK(r->seq < 1'000'000);
    }
    last[r->collar_id] = *r;
  }
  CHECK(f.generated() == 140);
}

TEST_CASE("every message decodes with the gateway's decoder and is plausible") {
  for (const int interval_s : {600, 1, 7, 60, 3600, 86'400}) {
    CAPTURE(interval_s);
    auto o = opts(11, 40);
    o.interval_s = interval_s;
    sim::fleet f(o);
    for (int i = 0; i < 2000; ++i) {
      const auto m = f.next();
      CAPTURE(m.payload);
      const auto r = herd::sensors::decode_collar_message(m.topic, m.payload);
      REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
      CHECK(r->farm_id == "farm-01");
      REQUIRE(r->temp_c.has_value());
      CHECK(*r->temp_c >= 38.0);
      CHECK(*r->temp_c <= 39.5);
      REQUIRE(r->steps.has_value());
      CHECK(static_cast<double>(*r->steps) <= 1000.0 * interval_s / 600 + 1e-9);
      REQUIRE(r->rum_min.has_value());
      CHECK(*r->rum_min <= interval_s / 60.0);
      CHECK(*r->interval_s == static_cast<std::uint32_t>(interval_s));
      CHECK(*r->batt_pct <= 100);
      CHECK(*r->rssi_dbm >= -100);
      CHECK(*r->rssi_dbm <= -50);
    }
  }
}

TEST_CASE("a given first_seq starts every collar there and wraps like firmware") {
  auto o = opts(5, 2);
  o.first_seq = 4'294'967'295U;
  sim::fleet f(o);
  const auto m = take(f, 4);
  CHECK(herd::sensors::decode_collar_message(m[0].topic, m[0].payload)->seq == 4'294'967'295U);
  CHECK(herd::sensors::decode_collar_message(m[1].topic, m[1].payload)->seq == 4'294'967'295U);
  CHECK(herd::sensors::decode_collar_message(m[2].topic, m[2].payload)->seq == 0);
}

TEST_CASE("ts_mode now stamps the wall clock, the rest stays deterministic") {
  herd::core::manual_clock wall(1'800'000'000'123);
  auto o = opts(9, 3);
  o.ts = sim::ts_mode::now;
  sim::fleet f(o, &wall);
  const auto m0 = f.next();
  wall.advance(250);
  const auto m1 = f.next();
  CHECK(herd::sensors::decode_collar_message(m0.topic, m0.payload)->ts_ms == 1'800'000'000'123);
  CHECK(herd::sensors::decode_collar_message(m1.topic, m1.payload)->ts_ms == 1'800'000'000'373);
  sim::fleet g(opts(9, 3));
  const auto r = herd::sensors::decode_collar_message(m0.topic, g.next().payload);
  CHECK(*r->temp_c == *herd::sensors::decode_collar_message(m0.topic, m0.payload)->temp_c);
}

TEST_CASE("the registry file has the header and one row per collar") {
  temp_dir dir;
  const auto path = dir.path / "registry.csv";
  sim::fleet f(opts(1, 25));
  REQUIRE(f.write_registry(path).ok());
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 26);
  CHECK(lines[0] == "collar_id,animal_id,valid_from");
  CHECK(lines[1] == "C-00001,276000000000001,2020-01-01T00:00:00Z");
  CHECK(lines[25] == "C-00025,276000000000025,2020-01-01T00:00:00Z");
  CHECK_FALSE(std::filesystem::exists(dir.path / "registry.csv.tmp"));
}

TEST_CASE("a start before 2020 moves valid_from back with it") {
  auto o = opts(1, 1);
  o.start_ms = 1'000'000'000'500;  // 2001-09-09T01:46:40.500Z
  sim::fleet f(o);
  CHECK(f.registry().at(0).valid_from_ms == 1'000'000'000'000);
}

TEST_CASE("invalid options are refused with the reason") {
  auto o = opts(1, 0);
  o.farm_id = "farm/01";
  o.interval_s = 0;
  const auto st = sim::validate(o);
  REQUIRE_FALSE(st.ok());
  CHECK(st.err().message.find("collars") != std::string::npos);
  CHECK(st.err().message.find("interval_s") != std::string::npos);
  CHECK(st.err().message.find("farm id") != std::string::npos);
  CHECK_THROWS_AS(sim::fleet{o}, std::invalid_argument);
}

TEST_CASE("print writes mosquitto_sub -v style lines and honours count") {
  sim::fleet a(opts(4, 3));
  sim::fleet b(opts(4, 3));
  sim::publish_options po;
  po.count = 10;
  std::ostringstream out;
  const auto stats = sim::print(a, po, out);
  REQUIRE(stats.ok());
  CHECK(stats->published == 10);
  std::istringstream lines(out.str());
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto m = b.next();
    CHECK(line == m.topic + " " + m.payload);
  }
  CHECK(n == 10);
}
