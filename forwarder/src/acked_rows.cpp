#include "acked_rows.hpp"

#include <algorithm>

namespace herd::forwarder {

acked_rows::acked_rows(buffer::outbox& outbox, const storage_reporter& reporter, std::shared_ptr<spdlog::logger> log)
    : outbox_(outbox), reporter_(reporter), log_(std::move(log)) {}

void acked_rows::add_event(std::uint64_t seq) {
  if (empty()) waiting_since_ = steady::now();
  if (event_set_.insert(seq).second) {
    events_.push_back(seq);
    added_.fetch_add(1);
  }
}

void acked_rows::add_dead_letter(std::int64_t id) {
  if (empty()) waiting_since_ = steady::now();
  if (dead_letter_set_.insert(id).second) dead_letters_.push_back(id);
}

acked_rows::steady::time_point acked_rows::due_at() const {
  if (failing_) return retry_at_;
  if (events_.size() >= k_gather_max_events || !dead_letters_.empty()) return waiting_since_;
  return waiting_since_ + k_gather_delay;
}

void acked_rows::apply(steady::time_point now, bool force) {
  if (empty() || (!force && now < due_at())) return;
  core::status st = core::ok_v;
  if (!events_.empty()) {
    st = outbox_.ack(events_);
    if (st) {
      deleted_.fetch_add(events_.size());
      for (const auto seq : events_) event_set_.erase(seq);
      events_.clear();
    }
  }
  if (st && !dead_letters_.empty()) {
    st = outbox_.mark_dead_letters_forwarded(dead_letters_);
    if (st) {
      dead_letters_marked_.fetch_add(dead_letters_.size());
      for (const auto id : dead_letters_) dead_letter_set_.erase(id);
      dead_letters_.clear();
    }
  }
  if (st) {
    if (failing_) {
      log_->info("storage recovered: acknowledged events deleted; forwarding resumes");
      failing_ = false;
    }
    backoff_ = k_backoff_min;
    if (reporter_.succeeded) reporter_.succeeded();
    return;
  }
  if (!failing_) {
    log_->error("cannot delete {} events Kafka acknowledged: {}; keeping them pending (never "
                "resent) and retrying with backoff", events_.size() + dead_letters_.size(), st.err().message);
  }
  failing_ = true;
  if (reporter_.failed) reporter_.failed(st.err());
  retry_at_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, k_backoff_max);
}

}  // namespace herd::forwarder
