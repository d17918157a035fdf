#pragma once
// How long the oldest unsent event has waited, measured on the monotonic clock, so a wall clock
// that is set (NTP's first sync after boot, a step) never makes the backlog look older or younger
// than it is, and /health never flips on a clock step.
//
// The outbox stamps each event with the wall time (created_ms). Between two steps the wall clock
// and the boot clock advance together, so an event stored by this process maps back to boot time
// through the wall-minus-boot offset of its epoch: the stretch between two steps it was stored
// in, recorded here by seq. An event stored before this process started has no such record: its
// age is at least the time since the start, and once the clock is synchronized it is estimated
// from its stamp against the first synchronized reading (the stamp of a clock that was never set,
// before the plausibility floor, is not believed).
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "herd/core/clock_monitor.hpp"

namespace herd::gateway {

class backlog_age {
 public:
  // `start`: a sample taken when the outbox was opened; `min_wall_ms`: the plausibility floor.
  backlog_age(const core::clock_status& start, std::int64_t min_wall_ms);

  // Each event stored, in seq order, with the clock sample taken for it (the ingest thread).
  void on_stored(std::uint64_t seq, const core::clock_status& s);
  // Any sample; the first synchronized one anchors the events from before this process.
  void on_sample(const core::clock_status& s);

  struct age {
    std::int64_t ms = 0;
    bool lower_bound = false;  // only "at least ms" is known (the clock has not been synchronized)
  };
  // The age at `now` of the event `seq` stamped `created_ms`; forgets epochs before `seq` (the
  // oldest unsent event: older ones are gone). Any thread.
  age age_of(std::uint64_t seq, std::int64_t created_ms, const core::clock_status& now);

 private:
  struct epoch {
    std::uint64_t first_seq;
    std::int64_t offset_ms;  // wall minus boot time in this epoch
    std::uint64_t steps;     // the monitor's step count in this epoch
  };
  static constexpr std::size_t k_max_epochs = 4096;  // a clock stepping all day stays bounded

  std::mutex mu_;
  std::int64_t start_mono_ms_;
  std::int64_t min_wall_ms_;
  std::optional<std::uint64_t> first_seq_;  // the first seq this process stored
  std::deque<epoch> epochs_;
  std::optional<core::clock_status> anchor_;  // the first synchronized sample
};

}  // namespace herd::gateway
