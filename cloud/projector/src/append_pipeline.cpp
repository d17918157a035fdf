#include "append_pipeline.hpp"

#include <algorithm>

namespace herd::projector {

core::status append_pipeline::send_more() {
  while (in_flight_ < k_ahead && sent_ < events_.size()) {
    const std::size_t n = std::min(k_piece, events_.size() - sent_);
    if (auto st = txn_.send_append(events_.subspan(sent_, n)); !st) return st;
    sent_ += n;
    ++in_flight_;
  }
  return core::ok_v;
}

core::status append_pipeline::receive_one() {
  auto f = txn_.receive_appended();
  if (!f) return f.err();
  --in_flight_;
  flags_.insert(flags_.end(), f->begin(), f->end());
  return core::ok_v;
}

core::result<bool> append_pipeline::fresh(std::size_t k) {
  if (k >= events_.size()) return core::error::fatal("append_pipeline: no event " + std::to_string(k));
  while (flags_.size() <= k) {
    if (auto st = send_more(); !st) return st.err();
    if (auto st = receive_one(); !st) return st.err();
    // Keep the database busy while the caller folds what it just received.
    if (auto st = send_more(); !st) return st.err();
  }
  return static_cast<bool>(flags_[k]);
}

core::status append_pipeline::drain() {
  while (in_flight_ > 0) {
    if (auto st = receive_one(); !st) return st;
  }
  return core::ok_v;
}

}  // namespace herd::projector
