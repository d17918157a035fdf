#include "herd/forwarder/partition_window.hpp"

#include <algorithm>

namespace herd::forwarder {

void partition_window::set_partitions(std::int32_t partitions) { partitions_ = std::max<std::int32_t>(partitions, 0); }

partition_window::counts& partition_window::at(std::int32_t partition) {
  const auto p = static_cast<std::size_t>(partition);
  if (p >= per_partition_.size()) per_partition_.resize(p + 1);
  return per_partition_[p];
}

void partition_window::produced(std::int32_t partition, bool backlog, std::int64_t now_ms) {
  if (total_++ == 0) progress_ms_ = now_ms;
  if (partition >= 0) reattribute(partition, backlog, now_ms);
}

void partition_window::reattribute(std::int32_t partition, bool backlog, std::int64_t now_ms) {
  if (partition < 0) return;
  auto& c = at(partition);
  if (c.all++ == 0) c.progress_ms = now_ms;
  if (backlog) ++c.backlog;
}

void partition_window::reported(std::int32_t partition, bool backlog, bool ok, std::int64_t now_ms) {
  if (ok) {
    last_ack_ms_ = last_answer_ms_ = progress_ms_ = now_ms;
    all_brokers_down_ = false;
  }
  if (partition < 0) {
    if (total_ > 0) --total_;
    return;
  }
  const auto p = static_cast<std::size_t>(partition);
  if (p >= per_partition_.size() || per_partition_[p].all == 0) return;
  if (total_ > 0) --total_;
  auto& c = per_partition_[p];
  --c.all;
  if (backlog && c.backlog > 0) --c.backlog;
  if (ok) c.progress_ms = now_ms;
}

void partition_window::clear() {
  per_partition_.clear();
  total_ = 0;
}

std::size_t partition_window::share(std::size_t limit) const {
  return std::max<std::size_t>(1, limit / static_cast<std::size_t>(std::max<std::int32_t>(partitions_, 1)));
}

bool partition_window::is_excused(const counts& c, std::int64_t now_ms) const {
  // Stalled while the cluster acknowledged another partition since its last progress, lately.
  return partitions_ > 1 && !all_brokers_down_ && c.all > 0 && now_ms - c.progress_ms > k_stall_ms &&
         last_answer_ms_ > c.progress_ms && now_ms - last_answer_ms_ <= k_answer_ms;
}

std::size_t partition_window::beyond_share(std::size_t limit, std::int64_t now_ms, bool backlog) const {
  if (partitions_ <= 1) return 0;
  const std::size_t s = share(limit);
  std::size_t beyond = 0;
  for (const auto& c : per_partition_) {
    const std::size_t n = backlog ? c.backlog : c.all;
    if (n > s && is_excused(c, now_ms)) beyond += n - s;
  }
  return beyond;
}

std::size_t partition_window::excused(std::int64_t now_ms) const {
  return static_cast<std::size_t>(
      std::count_if(per_partition_.begin(), per_partition_.end(), [&](const counts& c) { return is_excused(c, now_ms); }));
}

std::size_t partition_window::in_excused(std::int64_t now_ms) const {
  std::size_t n = 0;
  for (const auto& c : per_partition_) {
    if (is_excused(c, now_ms)) n += c.all;
  }
  return n;
}

bool partition_window::wants_probe(std::int64_t now_ms) const {
  return partitions_ > 1 && total_ > 0 && now_ms - progress_ms_ > k_stall_ms &&
         (last_probe_ms_ < 0 || now_ms - last_probe_ms_ > k_stall_ms);
}

void partition_window::cluster_answered(std::int64_t now_ms) {
  last_answer_ms_ = now_ms;
  all_brokers_down_ = false;
}

}  // namespace herd::forwarder
