#pragma once
#include <atomic>
#include <cstdint>

namespace herd::core {

// A time source in ms, injectable so tests control time. A wall clock (system_clock) counts ms
// since the Unix epoch, UTC, and may jump when it is set; boot_clock counts ms since boot and
// never jumps: use it for intervals, never as a timestamp.
class clock {
 public:
  virtual ~clock() = default;
  virtual std::int64_t now_ms() const = 0;
};

// CLOCK_REALTIME.
class system_clock final : public clock {
 public:
  std::int64_t now_ms() const override;
};

// CLOCK_BOOTTIME: monotonic, and unlike CLOCK_MONOTONIC it keeps counting while the system is
// suspended, so wall and boot time advance together except when the wall clock is set.
class boot_clock final : public clock {
 public:
  std::int64_t now_ms() const override;
};

// A clock tests set by hand (as a wall or a monotonic clock). Thread-safe.
class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t start_ms) : now_(start_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void set(std::int64_t ms) { now_.store(ms); }
  void advance(std::int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace herd::core
