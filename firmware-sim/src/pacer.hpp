#pragma once
// Decides when reading i may go out and when a run is over; shared by publish() and print().
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>

#include "herd/sim/publisher.hpp"

namespace herd::sim {

class pacer {
 public:
  using clock = std::chrono::steady_clock;

  explicit pacer(const publish_options& opts)
      : count_(opts.count), duration_(opts.duration), rate_(opts.rate), speed_(opts.speed), stop_(opts.stop) {}

  void start() { start_ = clock::now(); }

  // Blocks until reading i is due; false when the run is over (count, duration or stop).
  // Deadlines are start + i / rate, never "previous + 1 / rate", so sleep overshoot does not
  // accumulate into drift.
  bool wait_turn(std::uint64_t i) {
    if (count_ && i >= *count_) return false;
    if (stopped()) return false;
    const auto end = duration_ ? start_ + *duration_ : clock::time_point::max();
    if (rate_ > 0) {
      const auto due =
          start_ + std::chrono::duration_cast<clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(i) / rate_));
      if (due >= end) return false;
      // Sleep in slices so a stop request is honoured at low rates too.
      while (clock::now() < due) {
        if (stopped()) return false;
        std::this_thread::sleep_until(std::min(due, clock::now() + std::chrono::milliseconds(100)));
      }
    }
    return clock::now() < end;
  }

  // With a speed: blocks until virtual time `send_ms` is due (the first message sets the origin);
  // false when the run is over meanwhile.
  bool wait_virtual(std::int64_t send_ms) {
    if (!(speed_ > 0)) return true;
    if (!origin_) origin_ = send_ms;
    const auto due = start_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
                                  static_cast<double>(send_ms - *origin_) / 1000.0 / speed_));
    const auto end = duration_ ? start_ + *duration_ : clock::time_point::max();
    if (due >= end) return false;
    while (clock::now() < due) {
      if (stopped()) return false;
      std::this_thread::sleep_until(std::min(due, clock::now() + std::chrono::milliseconds(100)));
    }
    return !stopped();
  }

  double elapsed_s() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  bool stopped() const { return stop_ && stop_->load(std::memory_order_relaxed); }

  std::optional<std::uint64_t> count_;
  std::optional<std::chrono::milliseconds> duration_;
  double rate_;
  double speed_;
  std::optional<std::int64_t> origin_;
  const std::atomic<bool>* stop_;
  clock::time_point start_ = clock::now();
};

}  // namespace herd::sim
