#include "mqtt_connect.hpp"

#include <MQTTAsync.h>

namespace herd::sensors::detail {

namespace {

bool is_tls_uri(const std::string& uri) {
  return uri.rfind("ssl://", 0) == 0 || uri.rfind("mqtts://", 0) == 0;
}

// Paho C must not initialise OpenSSL itself. Its own initialisation (SSL_library_init, loading
// every error string, OpenSSL_add_all_algorithms, the lock callbacks only OpenSSL < 1.1 needed)
// runs at the first client whether TLS is used or not, and keeps ~1.4 MiB of libcrypto's pages
// resident (issue 15, goal 6: RSS). OpenSSL >= 1.1 initialises itself when a TLS connection first
// needs it (OPENSSL_init_ssl(3)): an ssl:// or mqtts:// broker works the same, plain TCP never pays.
// MQTTAsync_global_init must come before any Paho client of the process exists: it re-initialises
// Paho's global mutexes, undefined behaviour while a client's threads hold them. Hence a static
// initialiser of this file (linked into every process that makes our MQTT clients), which runs
// before main(); Paho's globals are constant-initialised, so it may run before any other.
const bool paho_initialised = [] {
  MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
  init.do_openssl_init = 0;
  MQTTAsync_global_init(&init);
  return true;
}();

}  // namespace

mqtt::create_options make_create_options() {
  (void)paho_initialised;  // see above: done before main()
  return mqtt::create_options(MQTTVERSION_5);
}

mqtt::properties connect_properties(const mqtt_options& opts) {
  // MQTT 5 CONNECT properties (OASIS MQTT 5.0, 3.1.2.11):
  // - Session Expiry Interval 0xFFFFFFFF: the session never expires, so the broker keeps our QoS 1
  //   messages while we are away (MQTT 3.1.1's clean_session = false; in MQTT 5 an interval of 0,
  //   the default, would end the session at the disconnect).
  // - Maximum Packet Size: the broker must not send us a PUBLISH larger than this (3.1.2.11.4); it
  //   discards such a message for us instead (mosquitto logs "Dropping too large outgoing
  //   message"), so an oversize publish never reaches the gateway's memory and cannot be
  //   redelivered at every start (issue 14, case 1).
  return mqtt::properties{
      // Paho takes an int and sends its 32 bits unsigned: -1 is 0xFFFFFFFF on the wire.
      {mqtt::property::SESSION_EXPIRY_INTERVAL, static_cast<int>(0xFFFFFFFFu)},
      {mqtt::property::MAXIMUM_PACKET_SIZE, static_cast<int>(opts.max_packet_bytes)},
  };
}

void make_connect_options(const mqtt_options& opts, mqtt::connect_options& out) {
  auto b = mqtt::connect_options_builder()
               .mqtt_version(MQTTVERSION_5)
               .clean_start(false)  // resume the persistent session
               .keep_alive_interval(opts.keep_alive)
               .connect_timeout(std::chrono::seconds(10))
               .automatic_reconnect(false);  // the supervisor reconnects, with our backoff
  if (!opts.username.empty()) b.user_name(opts.username).password(opts.password);
  if (is_tls_uri(opts.broker_uri)) {
    auto ssl = mqtt::ssl_options_builder();
    ssl.trust_store(opts.ca_file)         // the config requires it for ssl:// (config.cpp)
        .enable_server_cert_auth(true)    // verify the broker's chain against ca_file
        .verify(true);                    // and that its certificate names the host we dialled
    if (!opts.cert_file.empty()) ssl.key_store(opts.cert_file);
    if (!opts.key_file.empty()) ssl.private_key(opts.key_file);
    if (!opts.key_password.empty()) ssl.private_keypassword(opts.key_password);
    b.ssl(ssl.finalize());
  }
  out = b.finalize();
  // Paho C++ 1.2.0 keeps a raw pointer to the properties of the object they were set on, and a
  // copy (finalize(), assignment) keeps pointing there: set through the builder they dangle once
  // it is gone (the CONNECT then went without them, or read freed memory). Set them on `out`
  // itself, which the caller keeps alive for as long as it connects with it.
  out.set_properties(connect_properties(opts));
}

}  // namespace herd::sensors::detail
