#include "herd/forwarder/partition_window.hpp"

#include <algorithm>

namespace herd::forwarder {

void partition_window::set_partitions(std::int32_t partitions) { partitions_ = std::max<std::int32_t>(partitions, 0); }

void partition_window::produced(std::int32_t partition, bool backlog) {
  ++total_;
  if (partition < 0) return;
  const auto p = static_cast<std::size_t>(partition);
  if (p >= per_partition_.size()) per_partition_.resize(p + 1);
  ++per_partition_[p].all;
  if (backlog) ++per_partition_[p].backlog;
}

void partition_window::reported(std::int32_t partition, bool backlog) {
  if (partition < 0) {
    if (total_ > 0) --total_;
    return;
  }
  const auto p = static_cast<std::size_t>(partition);
  if (p >= per_partition_.size() || per_partition_[p].all == 0) return;
  --per_partition_[p].all;
  if (backlog && per_partition_[p].backlog > 0) --per_partition_[p].backlog;
  if (total_ > 0) --total_;
}

void partition_window::clear() {
  per_partition_.clear();
  total_ = 0;
}

std::size_t partition_window::beyond_share(std::size_t limit, bool shared, bool backlog) const {
  if (!shared || partitions_ <= 1) return 0;
  const std::size_t share = std::max<std::size_t>(1, limit / static_cast<std::size_t>(partitions_));
  std::size_t beyond = 0;
  for (const auto& c : per_partition_) {
    const std::size_t n = backlog ? c.backlog : c.all;
    if (n > share) beyond += n - share;
  }
  return beyond;
}

}  // namespace herd::forwarder
