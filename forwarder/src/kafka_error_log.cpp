#include "kafka_error_log.hpp"

namespace herd::forwarder {

void kafka_error_log::error(const std::string& name, const std::string& message, std::int64_t wall_ms,
                            steady::time_point at) {
  std::lock_guard lock(mu_);
  last_ = name;
  last_message_ = message;
  last_ms_ = wall_ms;
  if (failing_since_ms_ == 0) {
    failing_since_ms_ = wall_ms;
    failing_since_ = at;
  }
  ++counts_[name];
}

void kafka_error_log::ok() {
  std::lock_guard lock(mu_);
  failing_since_ms_ = 0;
}

void kafka_error_log::fill(forwarder_stats& s, steady::time_point now) const {
  std::lock_guard lock(mu_);
  s.kafka_errors = counts_;
  s.last_kafka_error = last_;
  s.last_kafka_error_message = last_message_;
  s.last_kafka_error_ms = last_ms_;
  s.kafka_failing_since_ms = failing_since_ms_;
  s.kafka_failing_ms = failing_since_ms_ == 0
                           ? 0
                           : std::chrono::duration_cast<std::chrono::milliseconds>(now - failing_since_).count();
}

}  // namespace herd::forwarder
