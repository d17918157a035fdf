#include "herd/sim/publisher.hpp"

#include <fmt/format.h>
#include <mqtt/async_client.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <ostream>

#include "json_lines.hpp"
#include "pacer.hpp"

namespace herd::sim {

namespace {

// Counts outcomes of publishes. Paho calls it on its own threads; the publishing thread waits on
// it for room in the in-flight window and, at the end, for the last acknowledgement.
class ack_tracker final : public mqtt::iaction_listener, public mqtt::callback {
 public:
  void on_success(const mqtt::token&) override { settle(true); }
  void on_failure(const mqtt::token&) override { settle(false); }
  void connection_lost(const std::string& cause) override {
    {
      std::lock_guard lock(mu_);
      lost_ = true;
      lost_cause_ = cause.empty() ? "connection lost" : cause;
    }
    cv_.notify_all();
  }

  // Waits until fewer than `window` messages are unsettled; false when the connection is lost.
  // Once the window is full it waits for a quarter of it to drain, so the publisher wakes once
  // per batch of acknowledgements rather than once per acknowledgement.
  bool wait_room(std::uint64_t published, std::size_t window) {
    std::unique_lock lock(mu_);
    if (published - settled() >= window) {
      const std::uint64_t batch = std::max<std::uint64_t>(1, window / 4);
      wait_until_settled(lock, published - window + batch);
    }
    return !lost_;
  }

  // Waits until every published message is settled; false on timeout or a lost connection.
  bool wait_all(std::uint64_t published, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    wake_at_ = published;
    const bool done = cv_.wait_for(lock, timeout, [&] { return lost_ || settled() >= published; });
    wake_at_ = k_never;
    return done && !lost_;
  }

  std::uint64_t acked() {
    std::lock_guard lock(mu_);
    return acked_;
  }
  std::uint64_t failed() {
    std::lock_guard lock(mu_);
    return failed_;
  }
  std::string lost_cause() {
    std::lock_guard lock(mu_);
    return lost_cause_;
  }

 private:
  static constexpr std::uint64_t k_never = ~std::uint64_t{0};

  std::uint64_t settled() const { return acked_ + failed_; }

  void wait_until_settled(std::unique_lock<std::mutex>& lock, std::uint64_t target) {
    wake_at_ = target;
    cv_.wait(lock, [&] { return lost_ || settled() >= target; });
    wake_at_ = k_never;
  }

  // Notifies only when the waiting thread's target is reached: waking it costs more than the ack.
  void settle(bool ok) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      ++(ok ? acked_ : failed_);
      wake = settled() >= wake_at_;
    }
    if (wake) cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t acked_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t wake_at_ = k_never;  // settled count the publishing thread waits for
  bool lost_ = false;
  std::string lost_cause_;
};

class fleet_source final : public message_source {
 public:
  explicit fleet_source(fleet& f) : f_(f) {}
  std::optional<message> next() override { return f_.next(); }

 private:
  fleet& f_;
};

core::status check_limits(const publish_options& opts, bool endless) {
  if (endless && !opts.count && !opts.duration) return core::error::fatal("give a count or a duration");
  if (!(opts.speed >= 0)) return core::error::fatal(fmt::format("speed must be >= 0, got {}", opts.speed));
  if (!(opts.rate >= 0)) return core::error::fatal(fmt::format("rate must be >= 0, got {}", opts.rate));
  return core::ok_v;
}

}  // namespace

core::result<publish_stats> publish(fleet& f, const publish_options& opts) {
  if (auto st = check_limits(opts, true); !st) return st.err();
  fleet_source src(f);
  return publish(src, opts);
}

core::result<publish_stats> print(fleet& f, const publish_options& opts, std::ostream& out) {
  if (auto st = check_limits(opts, true); !st) return st.err();
  fleet_source src(f);
  return print(src, opts, out);
}

core::result<publish_stats> publish(message_source& src, const publish_options& opts) {
  if (auto st = check_limits(opts, false); !st) return st.err();
  if (opts.qos < 0 || opts.qos > 2) return core::error::fatal("qos must be 0, 1 or 2");
  if (opts.max_in_flight < 1 || opts.max_in_flight > 65'535) {
    return core::error::fatal("max_in_flight must be 1..65535");
  }
  json_lines record;
  if (auto st = record.open(opts.json_out); !st) return st.err();

  ack_tracker tracker;
  std::unique_ptr<mqtt::async_client> client;
  try {
    // Paho C caps messages queued for its send thread at max_buffered_messages (default 100) even
    // while connected; our in-flight window counts queued and unacknowledged ones alike.
    const auto create = mqtt::create_options_builder()
                            .max_buffered_messages(static_cast<int>(opts.max_in_flight))
                            .finalize();
    client = std::make_unique<mqtt::async_client>(opts.broker_uri, opts.client_id, create);
    client->set_callback(tracker);
    const auto conn = mqtt::connect_options_builder()
                          .clean_session(true)  // the publisher has nothing to resume
                          .connect_timeout(opts.connect_timeout)
                          .max_inflight(static_cast<int>(opts.max_in_flight))
                          .automatic_reconnect(false)
                          .finalize();
    // Paho enforces connect_timeout itself; the margin only guards against a token never firing.
    if (!client->connect(conn)->wait_for(opts.connect_timeout + std::chrono::seconds(1))) {
      return core::error::retriable(fmt::format("cannot connect to broker {} within {} s",
                                                opts.broker_uri, opts.connect_timeout.count()));
    }
  } catch (const mqtt::exception& e) {
    return core::error::retriable(
        fmt::format("cannot connect to broker {}: {}", opts.broker_uri, e.what()));
  }

  publish_stats stats;
  pacer pace(opts);
  pace.start();
  std::string failure;
  try {
    for (std::uint64_t i = 0; pace.wait_turn(i); ++i) {
      if (!tracker.wait_room(stats.published, opts.max_in_flight)) {
        failure = tracker.lost_cause();
        break;
      }
      auto next = src.next();
      if (!next || !pace.wait_virtual(next->send_ms)) break;
      const message& m = *next;
      client->publish(m.topic, m.payload.data(), m.payload.size(), opts.qos, false, nullptr,
                      tracker);
      ++stats.published;
      record.write(m.topic, m.payload);
    }
    if (failure.empty() && !tracker.wait_all(stats.published, opts.drain_timeout)) {
      failure = tracker.lost_cause();
      if (failure.empty()) {
        failure = fmt::format("broker did not acknowledge within {} s", opts.drain_timeout.count());
      }
    }
  } catch (const mqtt::exception& e) {
    failure = e.what();
  }
  stats.elapsed_s = pace.elapsed_s();
  stats.acked = tracker.acked();

  try {
    if (client->is_connected()) client->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {
    // Every message is settled or the run already failed: a failing disconnect changes nothing.
  }
  if (auto st = record.close(); !st && failure.empty()) failure = st.err().message;
  if (failure.empty() && tracker.failed() > 0) {
    failure = fmt::format("{} publish(es) failed", tracker.failed());
  }
  if (!failure.empty()) {
    return core::error::retriable(fmt::format("{} (published {}, acknowledged {})", failure,
                                              stats.published, stats.acked));
  }
  return stats;
}

core::result<publish_stats> print(message_source& src, const publish_options& opts, std::ostream& out) {
  if (auto st = check_limits(opts, false); !st) return st.err();
  json_lines record;
  if (auto st = record.open(opts.json_out); !st) return st.err();
  publish_stats stats;
  pacer pace(opts);
  pace.start();
  for (std::uint64_t i = 0; pace.wait_turn(i); ++i) {
    auto next = src.next();
    if (!next || !pace.wait_virtual(next->send_ms)) break;
    const message& m = *next;
    out << m.topic << ' ' << m.payload << '\n';
    record.write(m.topic, m.payload);
    ++stats.published;
  }
  out.flush();
  stats.acked = stats.published;
  stats.elapsed_s = pace.elapsed_s();
  if (auto st = record.close(); !st) return st.err();
  if (!out) return core::error::fatal("cannot write the readings to the output stream");
  return stats;
}

}  // namespace herd::sim
