#include "herd/sensors/mqtt_source.hpp"

#include <mqtt/async_client.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "herd/core/logging.hpp"
#include "herd/sensors/collar_format.hpp"
#include "mqtt_connect.hpp"

namespace herd::sensors {

struct mqtt_source::impl {
  mqtt_options opts;
  const core::clock& clock;
  std::shared_ptr<spdlog::logger> log = core::module_logger("mqtt");
  std::unique_ptr<mqtt::async_client> client;
  reading_sink* sink = nullptr;
  std::function<void()> on_subscribed;

  std::mutex mu;                 // guards the flags below
  std::condition_variable cv;    // wakes the supervisor and a delivery's storage backoff
  // Wakes whoever waits for a delivery to return (stop(), the destructor). Apart from `cv` so that
  // each delivery's return does not also wake the supervisor: at thousands of readings per second
  // that was a futex wake-up and two context switches per reading for nothing.
  std::condition_variable delivery_cv;
  bool stopping = false;
  bool connection_lost = false;
  bool stopped = false;  // stop() completed: disconnected, supervisor joined
  bool recheck_connection = false;  // a delivery outlived the keep-alive: ask Paho if still connected
  // A delivery is inside the sink (from its first store attempt until it returns). Paho holds its
  // client lock meanwhile, so stop() waits on this, not on a failed attempt: a stop that arrived
  // during the first, still unfinished attempt of a delivery that then fails must see it too.
  bool delivering = false;
  std::uint64_t deliveries_done = 0;  // deliveries returned from the sink (they run one at a time)
  std::thread supervisor;

  std::mutex delivery_mu;        // held for the duration of each sink call
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<bool> connected{false};

  impl(mqtt_options o, const core::clock& c) : opts(std::move(o)), clock(c) {}

  bool is_stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  // Runs on Paho's delivery thread. Returning lets Paho send the PUBACK, so this returns only
  // once the sink has made the message durable. While storage fails it keeps the message
  // unacknowledged and retries with backoff (50 ms doubling to 2 s; the broker holds the rest:
  // backpressure), also after a stop request: stop() waits up to `stop_grace` for it and then
  // reports the blocked delivery to its caller, which decides (the gateway exits the process).
  // Paho holds its client lock during this call, so nothing here may call the client; it also
  // keeps Paho from sending PINGREQs, so a delivery blocked longer than 1.5 x keep-alive loses
  // the connection (the broker drops it): `connected` turns false then, not at the reconnect.
  void deliver(const mqtt::const_message_ptr& msg) {
    std::lock_guard delivery(delivery_mu);
    set_delivering(true);
    struct done_guard {
      impl& p;
      ~done_guard() { p.set_delivering(false); }
    } done{*this};
    received.fetch_add(1, std::memory_order_relaxed);
    // A retained message arrives with RETAIN=1 and DUP=0 at each (re)subscribe: a broker-made
    // copy of an old publish, so it counts as a redelivery for the dedup rule (README, Duplicates).
    raw_message raw{msg->get_topic(), msg->get_payload_str(), clock.now_ms(),
                    msg->is_duplicate() || msg->is_retained()};
    auto decoded = decode_collar_message(raw.source, raw.payload);
    auto backoff = std::chrono::milliseconds(50);
    bool warned = false;
    const auto blocked_at = std::chrono::steady_clock::now();
    const auto session_lost_after = opts.keep_alive * 3 / 2;
    bool session_lost = false;
    for (;;) {
      const core::status st = store(raw, decoded);
      if (st) {
        if (warned) log->info("storage recovered; ingest resumes");
        if (session_lost) {
          log->info("storage took longer than the broker's keep-alive allowance: if the broker dropped "
                    "the connection it redelivers the stored reading after the reconnect, and the "
                    "gateway recognises it as a duplicate");
          std::lock_guard lock(mu);
          recheck_connection = true;  // the supervisor asks Paho (not possible from here)
          cv.notify_all();
        }
        return;
      }
      if (!warned) {
        log->error("cannot store message from {}: {}; holding it unacknowledged and retrying",
                   raw.source, st.err().message);
        warned = true;
      }
      {
        // The backoff holds even once a stop is requested (a stop must not turn this into a spin);
        // during the stop grace it is at most 50 ms, so a store that recovers is seen in time.
        // A stop that comes during a longer wait brings its end forward to 50 ms from then (stop()
        // notifies `cv`); other wake-ups leave it as it is.
        std::unique_lock lock(mu);
        const auto wait = stopping ? std::min(backoff, std::chrono::milliseconds(50)) : backoff;
        auto until = std::chrono::steady_clock::now() + wait;
        while (cv.wait_until(lock, until) != std::cv_status::timeout) {
          if (stopping) until = std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
        }
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      if (!session_lost && opts.keep_alive.count() > 0 &&
          std::chrono::steady_clock::now() - blocked_at > session_lost_after) {
        session_lost = true;
        connected = false;
        log->warn("a delivery has been blocked for more than 1.5 x keep-alive ({} s): no keep-alive "
                  "reached the broker, which drops the connection by then; counted as disconnected; "
                  "the held message is redelivered after the reconnect", opts.keep_alive.count());
      }
    }
  }

  // The sink must not throw into Paho's C code; an exception is a storage failure to retry.
  core::status store(const raw_message& raw, const core::result<collar_reading>& decoded) {
    try {
      return decoded ? sink->on_reading(raw, make_reading(*decoded))
                     : sink->on_rejected(raw, decoded.err().message);
    } catch (const std::exception& e) {
      return core::error::retriable(std::string("exception while storing: ") + e.what());
    }
  }

  // `waited`: how long the stop waited for the delivery, ms.
  static core::error delivery_blocked(std::int64_t waited) {
    return core::error::fatal("a delivery still holds a message storage has not accepted (the store fails, or has "
                              "not finished) " + std::to_string(waited) +
                                  " ms after the stop request; it is not acknowledged (the broker redelivers it)",
                              "mqtt.delivery_blocked");
  }

  void set_delivering(bool b) {
    std::lock_guard lock(mu);
    delivering = b;
    if (!b) {
      ++deliveries_done;
      delivery_cv.notify_all();
    }
  }

  // Built once at start(); Paho points into it while connecting (mqtt_connect.hpp).
  mqtt::connect_options conn_opts;

  // Connects and subscribes; `announce` runs once the subscriptions are known to be in place.
  // When the broker resumed our persistent session they already are, at CONNACK, and the queued
  // backlog starts flowing at once: the SUBACK can then wait behind thousands of deliveries, so
  // readiness does not wait for it. Subscribing again is harmless and picks up changed filters.
  bool connect_and_subscribe(const std::function<void(bool resumed)>& announce) {
    try {
      auto tok = client->connect(conn_opts);
      tok->wait();
      connected = true;
      const bool resumed = tok->get_connect_response().is_session_present();
      if (resumed) announce(true);
      std::vector<int> qos(opts.topics.size(), 1);
      client->subscribe(mqtt::string_collection::create(opts.topics), qos)->wait();
      if (!resumed) announce(false);
      return true;
    } catch (const mqtt::exception& e) {
      last_error = e.what();
      connected = false;
      try {
        if (client->is_connected()) client->disconnect()->wait_for(std::chrono::seconds(2));
      } catch (const mqtt::exception&) {
      }
      return false;
    }
  }
  std::string last_error;

  void supervise() {
    auto backoff = opts.reconnect_min;
    std::uint64_t attempts = 0;
    bool first = true;
    for (;;) {
      if (is_stopping()) return;
      const auto announce = [&](bool resumed) {
        if (first) {
          log->info("connected to {} as '{}' ({} session), subscribed to {} topic filter(s)",
                    opts.broker_uri, opts.client_id, resumed ? "resumed" : "new", opts.topics.size());
        } else {
          reconnects.fetch_add(1);
          log->info("reconnected to {} after {} attempt(s)", opts.broker_uri, attempts);
        }
        first = false;
        if (on_subscribed) on_subscribed();
      };
      if (connect_and_subscribe(announce)) {
        attempts = 0;
        backoff = opts.reconnect_min;
        std::unique_lock lock(mu);
        for (;;) {
          cv.wait(lock, [&] { return stopping || connection_lost || recheck_connection; });
          if (stopping || connection_lost) break;
          // A long delivery marked the connection lost; Paho knows whether it still is.
          recheck_connection = false;
          lock.unlock();
          bool up = false;
          try {
            up = client->is_connected();
          } catch (const mqtt::exception&) {
          }
          connected = up;
          lock.lock();
        }
        if (stopping) return;
        connection_lost = false;
        recheck_connection = false;
        log->warn("connection to {} lost; reconnecting with backoff up to {} ms", opts.broker_uri,
                  opts.reconnect_max.count());
        continue;
      }
      if (attempts++ == 0) {
        log->warn("cannot connect to {}: {}; retrying with backoff up to {} ms", opts.broker_uri,
                  last_error, opts.reconnect_max.count());
      }
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, backoff, [&] { return stopping; })) return;
      backoff = std::min(backoff * 2, opts.reconnect_max);
    }
  }
};

mqtt_source::mqtt_source(mqtt_options options, const core::clock& clock)
    : impl_(std::make_unique<impl>(std::move(options), clock)) {}

mqtt_source::~mqtt_source() {
  if (stop()) return;
  // A delivery is still blocked in the sink: the client must outlive it. Whoever destroys a
  // source in that state (a test; the daemon exits instead) waits until storage accepts.
  {
    std::unique_lock lock(impl_->mu);
    impl_->delivery_cv.wait(lock, [&] { return !impl_->delivering; });
  }
  (void)stop();
}

core::status mqtt_source::start(reading_sink& sink, std::function<void()> on_subscribed) {
  auto& p = *impl_;
  if (p.client) return core::error::fatal("mqtt source already started");
  try {
    // No client-side persistence: we only receive, and the broker keeps our session.
    p.client = std::make_unique<mqtt::async_client>(p.opts.broker_uri, p.opts.client_id,
                                                    detail::make_create_options());
  } catch (const mqtt::exception& e) {
    return core::error::fatal(std::string("mqtt client: ") + e.what());
  }
  detail::make_connect_options(p.opts, p.conn_opts);
  p.sink = &sink;
  p.on_subscribed = std::move(on_subscribed);
  p.client->set_message_callback([&p](mqtt::const_message_ptr msg) { p.deliver(msg); });
  p.client->set_connection_lost_handler([&p](const std::string&) {
    p.connected = false;
    std::lock_guard lock(p.mu);
    p.connection_lost = true;
    p.cv.notify_all();
  });
  p.supervisor = std::thread([&p] { p.supervise(); });
  return core::ok_v;
}

core::status mqtt_source::stop() {
  auto& p = *impl_;
  if (!p.client) return core::ok_v;
  const auto requested = std::chrono::steady_clock::now();
  const auto waited_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - requested).count();
  };
  {
    std::unique_lock lock(p.mu);
    if (p.stopped) return core::ok_v;
    p.stopping = true;
    p.cv.notify_all();
    // A delivery holds Paho's client lock: any client call would wait for it. Give the one in
    // progress stop_grace to store its message; after that the caller decides (the gateway
    // exits). Waiting for that one only, not for a moment without any: a flood would starve it.
    const std::uint64_t in_progress_done = p.deliveries_done + (p.delivering ? 1 : 0);
    if (!p.delivery_cv.wait_for(lock, p.opts.stop_grace, [&] { return p.deliveries_done >= in_progress_done; })) {
      return impl::delivery_blocked(waited_ms());
    }
  }
  if (p.supervisor.joinable()) p.supervisor.join();
  try {
    // Paho completes the disconnect after a delivery in progress returned; from then on no
    // message is delivered. A client that was not connected throws: nothing to close then.
    if (!p.client->disconnect()->wait_for(std::chrono::seconds(10))) {
      p.log->warn("disconnect from {} did not complete in 10 s", p.opts.broker_uri);
      // A delivery that began after the wait above and cannot store holds the disconnect.
      std::lock_guard lock(p.mu);
      if (p.delivering) return impl::delivery_blocked(waited_ms());
    }
  } catch (const mqtt::exception& e) {
    p.log->debug("disconnect: {}", e.what());
  }
  p.connected = false;
  std::lock_guard lock(p.mu);
  p.stopped = true;
  return core::ok_v;
}

mqtt_stats mqtt_source::stats() const {
  return {impl_->received.load(), impl_->reconnects.load(), impl_->connected.load()};
}

}  // namespace herd::sensors
