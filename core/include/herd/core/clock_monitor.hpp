#pragma once
// Can the gateway's wall clock be trusted right now? A Raspberry Pi has no real-time clock: it
// boots with a wrong time (1970, or fake-hwclock's last shutdown time) until NTP syncs, and NTP
// then steps the clock, possibly by years. clock_monitor says, for each event, whether the wall
// time stamped on it was synced, unsynced, or taken just after a step.
//
// Unsynced: any configured check fails: the kernel's NTP error bound (adjtimex), a marker file
// that the time daemon keeps while synced, or a wall time before a plausibility floor.
// Step: between two samples the wall clock moved differently from CLOCK_BOOTTIME (which never
// jumps and counts suspend) by more than a threshold plus the most NTP may slew (500 ppm).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "herd/core/clock.hpp"

namespace spdlog {
class logger;
}

namespace herd::core {

enum class clock_quality : std::uint8_t {
  synced,    // every sync check passes and no step was seen within the hold time
  unsynced,  // a sync check fails: the wall time may be anything (takes precedence over stepped)
  stepped,   // synced, but the wall clock jumped less than the hold time ago
};
const char* to_string(clock_quality q);  // "synced", "unsynced", "stepped"

// 2026-11-01T00:00:00Z: no herdgate release runs before this; an earlier wall time is a clock
// that was never set (update with each release).
inline constexpr std::int64_t k_wall_floor_ms = 1793491200000;

// What the kernel says about the NTP discipline of CLOCK_REALTIME (adjtimex, read only).
struct kernel_clock_state {
  bool known = false;            // adjtimex answered (a seccomp filter may forbid it)
  bool synced = false;           // maximum error below 16 s: the test systemd's timedatectl uses
  std::int64_t max_error_us = 0;  // the kernel's bound on the clock's error
};
kernel_clock_state read_kernel_clock_state();

struct clock_monitor_options {
  bool kernel_sync = true;         // take the kernel's verdict into account
  std::string synced_file;         // if not empty: synced only while this file exists
  std::int64_t min_wall_ms = k_wall_floor_ms;  // earlier wall times are unsynced
  std::int64_t step_threshold_ms = 2000;       // a larger jump between two samples is a step
  std::int64_t stepped_hold_ms = 60'000;       // events this long after a step are "stepped"
  std::int64_t recheck_ms = 200;   // the kernel and file checks are cached this long (boot time)
};

struct clock_status {
  clock_quality quality = clock_quality::unsynced;
  std::int64_t wall_ms = 0;       // the wall clock at this sample, ms since the epoch
  std::int64_t mono_ms = 0;       // the monotonic clock at this sample, ms since boot
  bool synced = false;            // the sync checks alone, steps aside
  std::uint64_t steps = 0;        // steps seen since the monitor was made
  std::int64_t last_step_ms = 0;  // signed size of the last step: + forward, - backward
  std::int64_t offset_ms() const { return wall_ms - mono_ms; }  // changes only with a step
};

class clock_monitor {
 public:
  using kernel_probe = std::function<kernel_clock_state()>;
  // `wall` and `monotonic` must outlive the monitor (in production: system_clock, boot_clock).
  clock_monitor(const clock& wall, const clock& monotonic, clock_monitor_options options,
                kernel_probe kernel = read_kernel_clock_state);
  clock_monitor(const clock_monitor&) = delete;
  clock_monitor& operator=(const clock_monitor&) = delete;

  // Reads both clocks, notices a step since the previous sample, and says how good the wall time
  // just read is. Cheap (two clock reads; the kernel and file checks at most every recheck_ms).
  // Any thread; samples are serialised. Logs each change of state once.
  clock_status sample();
  const clock_monitor_options& options() const { return options_; }

 private:
  void recheck(std::int64_t mono_ms);

  const clock& wall_;
  const clock& mono_;
  clock_monitor_options options_;
  kernel_probe kernel_;
  std::mutex mu_;
  bool have_last_ = false;
  std::int64_t last_wall_ = 0, last_mono_ = 0;
  std::int64_t checked_at_ = 0;  // boot time of the last kernel/file check
  bool checked_ = false;
  std::string external_problem_;  // why the kernel or file check fails; empty when they pass
  bool logged_state_known_ = false;
  std::string logged_reason_;  // the reason last logged, without changing figures; empty: synced
  bool warned_kernel_unknown_ = false;
  std::uint64_t steps_ = 0;
  std::int64_t last_step_ms_ = 0;
  std::int64_t last_step_at_ = 0;  // boot time of the last step
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace herd::core
