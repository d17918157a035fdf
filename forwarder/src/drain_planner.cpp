#include "herd/forwarder/drain_planner.hpp"

#include <algorithm>

namespace herd::forwarder {

drain_planner::drain_planner(drain_limits limits, const core::clock& mono) : limits_(limits), mono_(mono) {}

drain_planner::step drain_planner::next_step(std::uint64_t newest, std::uint64_t cursor, std::size_t in_flight,
                                             std::int64_t last_ack_ms) {
  if (newest <= cursor || newest - cursor <= limits_.backlog_threshold) {
    backlog_seen_ms_ = -1;
    return step::in_order;
  }
  if (in_flight > 0) {
    if (backlog_seen_ms_ < 0) backlog_seen_ms_ = mono_.now_ms();
    if (last_ack_ms <= backlog_seen_ms_) return step::wait_for_acks;
  }
  backlog_seen_ms_ = -1;
  return step::split;
}

void drain_planner::start(buffer::outbox::backlog_split split, std::uint64_t after) {
  reset();
  for (auto& [key, seq] : split.last_per_key) backlog_last_.emplace(std::move(key), seq);
  draining_ = true;
  backlog_start_ = after;
  backlog_end_ = live_cursor_ = split.newest;
  tokens_ = 0;
  refilled_ms_ = started_ms_ = mono_.now_ms();
  produced_ = 0;
}

bool drain_planner::must_hold(const std::string& key) const {
  if (backlog_last_.count(key) > 0) return true;
  const auto it = held_.find(key);
  return it != held_.end() && !it->second.empty();  // behind events of its own already held
}

std::size_t drain_planner::hold_room() const {
  return limits_.max_deferred > held_count_ ? limits_.max_deferred - held_count_ : 0;
}

void drain_planner::hold(buffer::record r) {
  ++held_count_;
  live_cursor_ = r.seq;
  auto& q = held_[r.key];
  q.push_back(std::move(r));
}

std::size_t drain_planner::allowance(std::size_t in_flight, std::size_t stalled) {
  const std::size_t queued = queued_ - std::min(stalled, queued_);
  std::size_t n = limits_.drain_max_queued > queued ? limits_.drain_max_queued - queued : 0;
  n = std::min(n, limits_.max_in_flight > in_flight ? limits_.max_in_flight - in_flight : 0);
  if (limits_.drain_rate > 0) {
    // The clock counts whole ms and refilled_ms_ moves to exactly now: no time is lost to rounding.
    const std::int64_t now = mono_.now_ms();
    const double rate = limits_.drain_rate;
    const double burst = std::max(1.0, rate / 10);
    tokens_ = std::min(burst, tokens_ + rate * static_cast<double>(now - refilled_ms_) / 1000.0);
    refilled_ms_ = now;
    n = std::min(n, static_cast<std::size_t>(std::max(0.0, tokens_)));
  }
  return std::min(n, limits_.batch);
}

void drain_planner::backlog_produced(const std::string& key, std::uint64_t seq, bool to_kafka) {
  ++produced_;
  if (to_kafka) {
    ++queued_;
    if (limits_.drain_rate > 0) tokens_ -= 1;
  }
  const auto it = backlog_last_.find(key);
  if (it != backlog_last_.end() && it->second <= seq) {
    backlog_last_.erase(it);
    released_.push_back(key);
  }
}

void drain_planner::backlog_done() {
  backlog_last_.clear();
  for (const auto& entry : held_) released_.push_back(entry.first);
}

void drain_planner::reported(std::uint64_t seq) {
  if (in_backlog(seq) && queued_ > 0) --queued_;
}

const buffer::record* drain_planner::next_release() {
  while (!released_.empty()) {
    const auto it = held_.find(released_.back());
    if (it != held_.end() && !it->second.empty()) return &it->second.front();
    if (it != held_.end()) held_.erase(it);
    released_.pop_back();
  }
  return nullptr;
}

void drain_planner::release_produced() {
  if (released_.empty()) return;
  const auto it = held_.find(released_.back());
  if (it == held_.end() || it->second.empty()) return;
  it->second.pop_front();
  --held_count_;
  if (it->second.empty()) {
    held_.erase(it);
    released_.pop_back();
  }
}

void drain_planner::reset() {
  draining_ = false;
  backlog_start_ = backlog_end_ = live_cursor_ = 0;
  backlog_last_.clear();
  held_.clear();
  released_.clear();
  held_count_ = queued_ = 0;
}

}  // namespace herd::forwarder
