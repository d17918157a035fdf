#pragma once
// What each in-process forwarder test starts from: a one-broker dev Kafka and an empty outbox.
#include <doctest/doctest.h>

#include <memory>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/temp_dir.hpp>

#include "herd/buffer/outbox.hpp"

namespace herd::test {

// A one-broker dev Kafka (herd.events with `partitions`, herd.events.dlq) and an empty outbox
// (synchronous = normal) in a temp dir.
struct kafka_and_outbox {
  test_support::temp_dir dir;  // first in, last out: outlives the outbox file
  std::unique_ptr<cloud::dev_kafka> kafka;
  std::unique_ptr<buffer::outbox> outbox;
  explicit kafka_and_outbox(int partitions) {
    auto k = cloud::dev_kafka::start({.brokers = 1, .topics = {{"herd.events", partitions}, {"herd.events.dlq", 1}}});
    REQUIRE(k.ok());
    kafka = std::move(*k);
    auto ob = buffer::outbox::open({.path = (dir / "outbox.db").string(), .synchronous = buffer::sync_mode::normal});
    REQUIRE(ob.ok());
    outbox = std::move(*ob);
  }
};

}  // namespace herd::test
