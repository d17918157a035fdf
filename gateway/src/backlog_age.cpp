#include "herd/gateway/backlog_age.hpp"

#include <algorithm>

namespace herd::gateway {

backlog_age::backlog_age(const core::clock_status& start, std::int64_t min_wall_ms)
    : start_mono_ms_(start.mono_ms), min_wall_ms_(min_wall_ms) {
  on_sample(start);
}

void backlog_age::on_sample(const core::clock_status& s) {
  std::lock_guard lock(mu_);
  if (!anchor_ && s.synced) anchor_ = s;
}

void backlog_age::on_stored(std::uint64_t seq, const core::clock_status& s) {
  std::lock_guard lock(mu_);
  if (!anchor_ && s.synced) anchor_ = s;
  if (!first_seq_) first_seq_ = seq;
  if (epochs_.empty() || epochs_.back().steps != s.steps) {
    epochs_.push_back({seq, s.offset_ms(), s.steps});
    if (epochs_.size() > k_max_epochs) epochs_.pop_front();
  }
}

backlog_age::age backlog_age::age_of(std::uint64_t seq, std::int64_t created_ms, const core::clock_status& now) {
  std::lock_guard lock(mu_);
  if (first_seq_ && seq >= *first_seq_ && !epochs_.empty()) {
    // Forget the epochs that ended before `seq`: everything stored in them is gone.
    while (epochs_.size() > 1 && epochs_[1].first_seq <= seq) epochs_.pop_front();
    const std::int64_t stored_mono = created_ms - epochs_.front().offset_ms;
    return {std::max<std::int64_t>(now.mono_ms - stored_mono, 0), false};
  }
  // Stored before this process started: at least as old as the process.
  const std::int64_t since_start = std::max<std::int64_t>(now.mono_ms - start_mono_ms_, 0);
  if (!anchor_ || created_ms < min_wall_ms_) return {since_start, true};
  const std::int64_t at_anchor = anchor_->wall_ms - created_ms + (now.mono_ms - anchor_->mono_ms);
  return {std::max(since_start, at_anchor), false};
}

}  // namespace herd::gateway
