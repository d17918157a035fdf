#pragma once
// Collar ingest over MQTT (Paho C++ async client, callback API).
//
// Why the callback API: Paho sends the PUBACK for a QoS 1 message only after the message
// callback returns, and our callback returns only after the sink committed the reading to the
// outbox. The consuming-queue API (start_consuming/consume_message) acknowledges on enqueue, so
// a crash loses whatever sat in the queue (STACK.md: 79 of 100 lost on kill -9). Never use it here.
//
// Threading: start() spawns a supervisor thread that connects and reconnects with backoff; the
// sink is called on Paho's delivery thread. stop() disconnects; once it returns, no message is
// delivered. A message the sink cannot store is never acknowledged: ingest blocks and retries with
// backoff; if that still fails `stop_grace` after a stop request, stop() says so and the caller
// decides (the gateway exits the process without acknowledging it, as a crash would).
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/core/result.hpp"
#include "herd/sensors/source.hpp"

namespace herd::sensors {

struct mqtt_options {
  std::string broker_uri = "tcp://127.0.0.1:1883";  // tcp://host:port or ssl://host:port
  std::string client_id = "herdgate";               // fixed: the broker keeps our session by it
  std::vector<std::string> topics = {"farm/+/collar/+/telemetry"};
  std::chrono::seconds keep_alive{30};
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30000};
  std::string username;  // empty: anonymous
  std::string password;
  // TLS (ssl:// or mqtts:// URIs): the broker's certificate must chain to ca_file (PEM; required,
  // so no publicly issued certificate passes by default) and name the URI's host.
  std::string ca_file;
  std::string cert_file;     // client certificate (PEM) for brokers that require one; empty: none
  std::string key_file;      // its private key (PEM); empty: in cert_file
  std::string key_password;  // the key's passphrase; empty: not encrypted
  // MQTT 5 Maximum Packet Size sent on CONNECT, bytes: the broker drops larger messages for us
  // before they reach the gateway. 8 KiB leaves room for the 4 KiB payload limit, the topic and
  // MQTT 5 properties.
  std::uint32_t max_packet_bytes = 8192;
  // After stop() is requested, how long stop() waits for a delivery that cannot store its message
  // before it reports mqtt.delivery_blocked to its caller.
  std::chrono::milliseconds stop_grace{5000};
};

struct mqtt_stats {
  std::uint64_t received = 0;
  std::uint64_t reconnects = 0;
  bool connected = false;
};

class mqtt_source {
 public:
  mqtt_source(mqtt_options options, const core::clock& clock);
  ~mqtt_source();
  mqtt_source(const mqtt_source&) = delete;
  mqtt_source& operator=(const mqtt_source&) = delete;

  // Starts connecting in the background. `on_subscribed` runs (on a Paho thread) each time the
  // subscriptions are in place, the first time meaning "ready".
  core::status start(reading_sink& sink, std::function<void()> on_subscribed = {});
  // Disconnects. After it returns ok the sink is not called again. Idempotent. Fails (fatal, code
  // mqtt.delivery_blocked) when the delivery in progress at the request has still not stored its
  // message `stop_grace` later (its store fails and is retried, or one attempt takes that long),
  // or when a delivery that began afterwards holds the disconnect past its 10 s: that delivery is
  // still inside the sink, and only the caller can end it (the gateway exits the process). Any
  // thread but a delivery.
  core::status stop();
  mqtt_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace herd::sensors
