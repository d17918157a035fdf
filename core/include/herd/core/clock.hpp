#pragma once
#include <atomic>
#include <cstdint>

namespace herd::core {

// Wall-clock source, injectable so tests control time. Units: ms since the Unix epoch, UTC.
class clock {
 public:
  virtual ~clock() = default;
  virtual std::int64_t now_ms() const = 0;
};

class system_clock final : public clock {
 public:
  std::int64_t now_ms() const override;
};

// A clock tests set by hand. Thread-safe.
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
