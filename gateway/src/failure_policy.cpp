#include "herd/gateway/failure_policy.hpp"

#include "herd/forwarder/kafka_producer.hpp"

namespace herd::gateway {

const char* to_string(decision d) {
  switch (d) {
    case decision::retry: return "retry";
    case decision::dead_letter: return "dead-letter";
    case decision::stop: break;
  }
  return "stop";
}

const char* to_string(storage_step s) {
  switch (s) {
    case storage_step::ingest: return "ingest";
    case storage_step::forward: return "forward";
    case storage_step::monitor: break;
  }
  return "monitor";
}

decision decide(const core::error& e) {
  switch (e.kind) {
    case core::error_kind::retriable: return decision::retry;
    case core::error_kind::permanent: return decision::dead_letter;
    case core::error_kind::fatal: break;
  }
  return decision::stop;
}

forwarder::kafka_action decide_kafka(forwarder::kafka_origin where, const forwarder::kafka_outcome& o) {
  using forwarder::kafka_action;
  using forwarder::kafka_verdict;
  switch (where) {
    case forwarder::kafka_origin::produce_call:
      switch (o.verdict) {
        case kafka_verdict::retry: return kafka_action::retry;
        case kafka_verdict::rejected: return kafka_action::dead_letter;
        default: return kafka_action::rebuild;
      }
    case forwarder::kafka_origin::delivery_report: return kafka_action::rebuild;
    case forwarder::kafka_origin::client_error: break;
  }
  return o.verdict == kafka_verdict::fatal ? kafka_action::rebuild : kafka_action::retry;
}

void failure_policy::on_stop(std::function<void(const core::error&)> fn) {
  std::lock_guard lock(mu_);
  on_stop_ = std::move(fn);
}

blocked_state& failure_policy::state(storage_step s) {
  switch (s) {
    case storage_step::ingest: return s_.ingest;
    case storage_step::forward: return s_.forward;
    case storage_step::monitor: break;
  }
  return s_.monitor;
}

decision failure_policy::failed(storage_step step, const core::error& e) {
  const decision d = decide(e);
  std::function<void(const core::error&)> stop;
  {
    std::lock_guard lock(mu_);
    auto& st = state(step);
    if (!st.blocked) {
      st.blocked = true;
      st.since_ms = wall_.now_ms();
    }
    st.code = e.code.empty() ? std::string("unclassified") : e.code;
    st.message = e.message;
    blocked_[static_cast<std::size_t>(step)].store(true, std::memory_order_relaxed);
    ++s_.failures[{to_string(step), st.code}];
    if (d == decision::stop && !s_.fatal) {
      s_.fatal = e;
      s_.fatal_ms = wall_.now_ms();
      stopping_.store(true, std::memory_order_release);
      stop = on_stop_;
    }
  }
  if (stop) stop(e);
  return d;
}

void failure_policy::succeeded(storage_step step) {
  auto& flag = blocked_[static_cast<std::size_t>(step)];
  if (!flag.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(mu_);
  state(step) = blocked_state{};
  flag.store(false, std::memory_order_relaxed);
}

failure_snapshot failure_policy::snapshot() const {
  std::lock_guard lock(mu_);
  return s_;
}

std::optional<core::error> failure_policy::fatal() const {
  std::lock_guard lock(mu_);
  return s_.fatal;
}

}  // namespace herd::gateway
