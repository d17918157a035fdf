// clock_monitor: sync checks (kernel, marker file, floor) and step detection, on injected clocks.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "../temp_path.hpp"
#include "herd/core/clock_monitor.hpp"
#include "herd/core/time_format.hpp"

using namespace herd::core;

namespace {

const std::int64_t k_now = *parse_iso8601_utc("2026-11-26T06:00:00Z");

// A wall and a boot clock moved by hand, and a kernel verdict set by hand.
struct fake_clocks {
  manual_clock wall{k_now};
  manual_clock mono{1'000'000};
  kernel_clock_state kernel{true, true, 40'000};

  clock_monitor monitor(clock_monitor_options o = {}) {
    return clock_monitor(wall, mono, std::move(o), [this] { return kernel; });
  }
  void pass(std::int64_t ms) {  // time passes, both clocks move together
    wall.advance(ms);
    mono.advance(ms);
  }
};

}  // namespace

TEST_CASE("a steady, synchronized clock is synced and never stepped") {
  fake_clocks c;
  auto m = c.monitor();
  for (int i = 0; i < 100; ++i) {
    const auto s = m.sample();
    CHECK(s.quality == clock_quality::synced);
    CHECK(s.synced);
    CHECK(s.steps == 0);
    CHECK(s.wall_ms == c.wall.now_ms());
    c.pass(1500);
  }
}

TEST_CASE("a jump of the wall clock against the boot clock is a step, either way, and marks events for the hold time") {
  fake_clocks c;
  clock_monitor_options o;
  o.step_threshold_ms = 2000;
  o.stepped_hold_ms = 60'000;
  auto m = c.monitor(o);
  CHECK(m.sample().quality == clock_quality::synced);

  c.pass(1000);
  c.wall.advance(3'600'000);  // NTP steps the clock an hour forward
  auto s = m.sample();
  CHECK(s.quality == clock_quality::stepped);
  CHECK(s.steps == 1);
  CHECK(s.last_step_ms == 3'600'000);

  c.pass(59'000);
  CHECK(m.sample().quality == clock_quality::stepped);  // still within the hold time
  c.pass(1'000);
  s = m.sample();
  CHECK(s.quality == clock_quality::synced);  // the hold time has passed
  CHECK(s.steps == 1);

  c.pass(500);
  c.wall.advance(-7'200'000);  // and two hours back
  s = m.sample();
  CHECK(s.quality == clock_quality::stepped);
  CHECK(s.steps == 2);
  CHECK(s.last_step_ms == -7'200'000);
  CHECK(s.offset_ms() == k_now - 1'000'000 + 3'600'000 - 7'200'000);
}

TEST_CASE("jitter below the threshold and NTP's slew over a long idle time are not steps") {
  fake_clocks c;
  clock_monitor_options o;
  o.step_threshold_ms = 2000;
  auto m = c.monitor(o);
  m.sample();
  c.pass(10);
  c.wall.advance(1'999);  // just below the threshold
  CHECK(m.sample().steps == 0);
  c.wall.advance(-1'999);  // and back
  CHECK(m.sample().steps == 0);
  // Idle for 2 h while NTP slews at its maximum (500 ppm = 3.6 s): drift, not a step.
  c.mono.advance(7'200'000);
  c.wall.advance(7'200'000 + 3'600);
  CHECK(m.sample().steps == 0);
  // The same 3.6 s in one second is a step.
  c.mono.advance(1'000);
  c.wall.advance(1'000 + 3'600);
  CHECK(m.sample().steps == 1);
}

TEST_CASE("the kernel's verdict: unsynchronized marks events unsynced, unknown or disabled does not") {
  fake_clocks c;
  c.kernel = {true, false, 16'000'000};
  auto m = c.monitor();
  auto s = m.sample();
  CHECK(s.quality == clock_quality::unsynced);
  CHECK_FALSE(s.synced);

  c.kernel = {true, true, 12'000};  // NTP synchronized it
  c.pass(100);
  CHECK(m.sample().quality == clock_quality::unsynced);  // cached for recheck_ms (200 ms)
  c.pass(100);
  CHECK(m.sample().quality == clock_quality::synced);

  c.kernel = {false, false, 0};  // adjtimex forbidden: no verdict, not "unsynced"
  c.pass(200);
  CHECK(m.sample().quality == clock_quality::synced);

  clock_monitor_options off;
  off.kernel_sync = false;
  c.kernel = {true, false, 16'000'000};
  auto m2 = c.monitor(off);
  CHECK(m2.sample().quality == clock_quality::synced);
}

TEST_CASE("synced_file: the clock is synced only while the marker file exists") {
  herd::test::scratch_dir dir;
  fake_clocks c;
  clock_monitor_options o;
  o.synced_file = dir.file("synchronized");
  auto m = c.monitor(o);
  CHECK(m.sample().quality == clock_quality::unsynced);
  std::ofstream(o.synced_file).put('\n');
  c.pass(250);
  CHECK(m.sample().quality == clock_quality::synced);
  std::filesystem::remove(o.synced_file);
  c.pass(250);
  CHECK(m.sample().quality == clock_quality::unsynced);
}

TEST_CASE("a wall time before the floor is unsynced, whatever the kernel says") {
  fake_clocks c;
  c.wall.set(86'400'000);  // 1970-01-02: a Pi that booted without RTC and without fake-hwclock
  auto m = c.monitor();
  CHECK(m.sample().quality == clock_quality::unsynced);
  CHECK(k_wall_floor_ms == *parse_iso8601_utc("2026-11-01"));

  // NTP syncs and steps the clock to the present: stepped, then synced after the hold time.
  c.pass(5'000);
  c.wall.set(k_now);
  auto s = m.sample();
  CHECK(s.quality == clock_quality::stepped);
  CHECK(s.steps == 1);
  c.pass(60'000);
  CHECK(m.sample().quality == clock_quality::synced);
}

TEST_CASE("unsynced takes precedence over stepped") {
  herd::test::scratch_dir dir;
  fake_clocks c;
  clock_monitor_options o;
  o.synced_file = dir.file("synchronized");
  auto m = c.monitor(o);
  m.sample();
  c.pass(1000);
  c.wall.advance(-600'000);
  const auto s = m.sample();
  CHECK(s.steps == 1);
  CHECK(s.quality == clock_quality::unsynced);
  CHECK(std::string(to_string(s.quality)) == "unsynced");
  CHECK(std::string(to_string(clock_quality::stepped)) == "stepped");
}

TEST_CASE("the real kernel answers adjtimex read-only, by systemd's rule") {
  const auto k = read_kernel_clock_state();
  if (k.known) CHECK(k.synced == (k.max_error_us < 16'000'000));
  // And the real clocks: boot time never runs backwards.
  boot_clock b;
  const auto t0 = b.now_ms();
  CHECK(b.now_ms() >= t0);
  CHECK(t0 > 0);
}
