#pragma once
// How herdgate connects to the broker: MQTT 5 with a Maximum Packet Size, a persistent session,
// and TLS that verifies the broker (chain and host name) and can present a client certificate.
#include <mqtt/async_client.h>

#include "herd/sensors/mqtt_source.hpp"

namespace herd::sensors::detail {

// Client creation options: MQTT 5 (the CONNECT's properties need a v5 client in Paho C).
mqtt::create_options make_create_options();
// The MQTT 5 CONNECT properties: Session Expiry Interval and Maximum Packet Size.
mqtt::properties connect_properties(const mqtt_options& opts);
// CONNECT options from the config into `out`, which must stay alive (and unmoved) while it is used
// to connect: Paho C++ 1.2.0 points into it for the properties (see the .cpp). Thread: any.
void make_connect_options(const mqtt_options& opts, mqtt::connect_options& out);

}  // namespace herd::sensors::detail
