#include "herd/core/clock_monitor.hpp"

#include <sys/timex.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "herd/core/logging.hpp"
#include "herd/core/time_format.hpp"

namespace herd::core {

namespace {
// The kernel caps its maximum-error estimate at 16 s (NTP_PHASE_LIMIT) when nothing disciplines
// the clock; systemd treats anything below as synchronized and ignores STA_UNSYNC, which chrony
// keeps set on purpose when it does not want the kernel to write the RTC.
constexpr std::int64_t k_kernel_unsynced_error_us = 16'000'000;
// The fastest NTP slews a clock: 500 ppm, i.e. 1 ms per 2 s. Drift up to this is never a step.
constexpr std::int64_t k_max_slew_divisor = 2000;

std::string signed_seconds(std::int64_t ms) {
  return fmt::format("{}{:.3f} s", ms < 0 ? "-" : "+", static_cast<double>(std::llabs(ms)) / 1000.0);
}
}  // namespace

const char* to_string(clock_quality q) {
  switch (q) {
    case clock_quality::synced: return "synced";
    case clock_quality::unsynced: return "unsynced";
    case clock_quality::stepped: return "stepped";
  }
  return "unsynced";
}

kernel_clock_state read_kernel_clock_state() {
  timex tx{};  // modes = 0: read only, needs no privilege
  if (::adjtimex(&tx) < 0) return {};
  return {true, tx.maxerror < k_kernel_unsynced_error_us, static_cast<std::int64_t>(tx.maxerror)};
}

clock_monitor::clock_monitor(const clock& wall, const clock& monotonic, clock_monitor_options options,
                             kernel_probe kernel)
    : wall_(wall),
      mono_(monotonic),
      options_(std::move(options)),
      kernel_(std::move(kernel)),
      log_(module_logger("clock")) {}

void clock_monitor::recheck(std::int64_t mono_ms) {
  checked_ = true;
  checked_at_ = mono_ms;
  std::string problem;
  if (options_.kernel_sync && kernel_) {
    const auto k = kernel_();
    if (!k.known) {
      if (!warned_kernel_unknown_) {
        warned_kernel_unknown_ = true;
        log_->warn("the kernel does not say whether the clock is synchronized (adjtimex failed); "
                   "set [clock] synced_file to tell herdgate another way");
      }
    } else if (!k.synced) {
      problem = fmt::format("the kernel reports the clock unsynchronized (maximum error {:.1f} s)",
                            static_cast<double>(k.max_error_us) / 1e6);
    }
  }
  if (problem.empty() && !options_.synced_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(options_.synced_file, ec)) {
      problem = "the sync marker " + options_.synced_file + " does not exist";
    }
  }
  external_problem_ = std::move(problem);
}

clock_status clock_monitor::sample() {
  std::lock_guard lock(mu_);
  clock_status s;
  s.wall_ms = wall_.now_ms();
  s.mono_ms = mono_.now_ms();

  if (have_last_) {
    const std::int64_t dw = s.wall_ms - last_wall_;
    const std::int64_t dm = s.mono_ms - last_mono_;
    const std::int64_t jump = dw - dm;
    if (std::llabs(jump) > options_.step_threshold_ms + dm / k_max_slew_divisor) {
      ++steps_;
      last_step_ms_ = jump;
      last_step_at_ = s.mono_ms;
      log_->warn("wall clock stepped by {} (from {} to {}, while {:.3f} s passed); events for the next "
                 "{} s are marked stepped",
                 signed_seconds(jump), iso8601_utc_ms(last_wall_), iso8601_utc_ms(s.wall_ms),
                 static_cast<double>(dm) / 1000.0, options_.stepped_hold_ms / 1000);
    }
  }
  have_last_ = true;
  last_wall_ = s.wall_ms;
  last_mono_ = s.mono_ms;

  const bool stale = !checked_ || s.mono_ms - checked_at_ >= options_.recheck_ms || s.mono_ms < checked_at_;
  if (stale) recheck(s.mono_ms);
  const bool below_floor = s.wall_ms < options_.min_wall_ms;
  s.synced = external_problem_.empty() && !below_floor;
  // Log a change of verdict or of its reason once, not every sample.
  const std::string reason = !external_problem_.empty() ? external_problem_.substr(0, external_problem_.find(" ("))
                             : below_floor              ? std::string("floor")
                                                        : std::string();
  if (!logged_state_known_ || reason != logged_reason_) {
    if (s.synced) {
      log_->info("wall clock synchronized: {}", iso8601_utc_ms(s.wall_ms));
    } else {
      log_->warn("wall clock not synchronized ({}): events are marked unsynced until it is",
                 !external_problem_.empty() ? external_problem_
                                            : "wall time " + iso8601_utc_ms(s.wall_ms) + " is before " +
                                                  iso8601_utc_ms(options_.min_wall_ms));
    }
    logged_state_known_ = true;
    logged_reason_ = reason;
  }

  s.steps = steps_;
  s.last_step_ms = last_step_ms_;
  if (!s.synced) {
    s.quality = clock_quality::unsynced;
  } else if (steps_ > 0 && s.mono_ms - last_step_at_ < options_.stepped_hold_ms) {
    s.quality = clock_quality::stepped;
  } else {
    s.quality = clock_quality::synced;
  }
  return s;
}

}  // namespace herd::core
