// The MQTT source against a real mosquitto: a reading is acknowledged only once the sink stored
// it, also when storage fails for a while and when a stop arrives meanwhile.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/core/clock.hpp"
#include "herd/sensors/mqtt_source.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

const std::string k_topic = "farm/f1/collar/C-1/telemetry";

std::string reading(int seq) { return R"({"seq": )" + std::to_string(seq) + R"(, "ts": 1780000000000})"; }

// Stores (records) readings; fails while `failing` is set.
class recording_sink final : public sensors::reading_sink {
 public:
  std::atomic<bool> failing{false};
  std::atomic<int> attempts{0};

  core::status on_reading(const sensors::raw_message&, const sensors::reading& r) override {
    ++attempts;
    if (failing) return core::error::retriable("disk full (simulated)");
    std::lock_guard lock(mu_);
    seqs_.push_back(static_cast<std::uint32_t>(r.source_seq));
    return core::ok_v;
  }
  core::status on_rejected(const sensors::raw_message&, const std::string&) override {
    return core::error::fatal("unexpected dead letter");
  }
  std::vector<std::uint32_t> seqs() {
    std::lock_guard lock(mu_);
    return seqs_;
  }

 private:
  std::mutex mu_;
  std::vector<std::uint32_t> seqs_;
};

sensors::mqtt_options options_for(const test_support::mosquitto_broker& broker) {
  sensors::mqtt_options o;
  o.broker_uri = broker.uri();
  o.client_id = "herdgate-source-test";
  o.stop_grace = 300ms;
  return o;
}

// From another process (mosquitto_pub): Paho C serialises all clients of one process on a single
// lock, which a blocked delivery holds, so an in-process publisher would wait for the test itself.
void publish(const test_support::mosquitto_broker& broker, const std::vector<int>& seqs) {
  for (int s : seqs) {
    test_support::child_process pub("/usr/bin/mosquitto_pub",
                                    {"-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-q", "1",
                                     "-t", k_topic, "-m", reading(s)},
                                    broker.dir());
    REQUIRE(pub.wait_exit(10s) == 0);
  }
}

// Starts a source with a fresh recording sink and waits until it is subscribed.
struct running_source {
  recording_sink sink;
  core::system_clock clock;
  sensors::mqtt_source source;
  std::atomic<bool> ready{false};
  explicit running_source(const test_support::mosquitto_broker& broker) : source(options_for(broker), clock) {
    REQUIRE(source.start(sink, [this] { ready = true; }).ok());
    REQUIRE(test_support::wait_until([&] { return ready.load(); }, 10s));
  }
};

}  // namespace

TEST_CASE("a reading that cannot be stored is held and retried, then acknowledged once stored") {
  test_support::mosquitto_broker broker;
  {
    running_source s(broker);
    s.sink.failing = true;
    publish(broker, {1});
    REQUIRE(test_support::wait_until([&] { return s.sink.attempts >= 3; }, 10s));  // retried
    CHECK(s.sink.seqs().empty());
    s.sink.failing = false;
    REQUIRE(test_support::wait_until([&] { return s.sink.seqs().size() == 1; }, 10s));
    s.source.stop();
  }
  // Acknowledged: a new session under the same client id gets only what follows, not seq 1 again.
  running_source again(broker);
  publish(broker, {2});
  REQUIRE(test_support::wait_until([&] { return !again.sink.seqs().empty(); }, 10s));
  CHECK(again.sink.seqs() == std::vector<std::uint32_t>{2});
}

TEST_CASE("a stop while storage fails waits for it to recover and acknowledges only then") {
  test_support::mosquitto_broker broker;
  {
    running_source s(broker);
    s.sink.failing = true;
    publish(broker, {1});
    REQUIRE(test_support::wait_until([&] { return s.sink.attempts >= 1; }, 10s));
    std::thread healer([&] {
      std::this_thread::sleep_for(150ms);  // storage comes back within the stop grace (300 ms)
      s.sink.failing = false;
    });
    s.source.stop();  // returns only after the held reading was stored
    healer.join();
    CHECK(s.sink.seqs() == std::vector<std::uint32_t>{1});
  }
  running_source again(broker);
  publish(broker, {2});
  REQUIRE(test_support::wait_until([&] { return !again.sink.seqs().empty(); }, 10s));
  CHECK(again.sink.seqs() == std::vector<std::uint32_t>{2});
}

TEST_CASE("a stop while storage keeps failing exits without acknowledging: the broker redelivers") {
  test_support::mosquitto_broker broker;
  int to_parent[2];
  REQUIRE(pipe(to_parent) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: a gateway whose storage never recovers, asked to stop.
    close(to_parent[0]);
    running_source s(broker);
    s.sink.failing = true;
    (void)!write(to_parent[1], "R", 1);
    while (s.sink.attempts < 1) std::this_thread::sleep_for(5ms);
    s.source.stop();  // must not return: deliver() exits the process after the grace period
    _exit(0);
  }
  close(to_parent[1]);
  char c = 0;
  REQUIRE(read(to_parent[0], &c, 1) == 1);
  publish(broker, {7});
  int status = 0;
  bool exited = test_support::wait_until([&] { return waitpid(child, &status, WNOHANG) == child; }, 20s);
  if (!exited) kill(child, SIGKILL);
  REQUIRE(exited);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 75);
  close(to_parent[0]);

  running_source again(broker);
  REQUIRE(test_support::wait_until([&] { return !again.sink.seqs().empty(); }, 10s));
  CHECK(again.sink.seqs() == std::vector<std::uint32_t>{7});  // never acknowledged, so redelivered
}

TEST_CASE("readings published while the gateway was away arrive after it reconnects") {
  test_support::mosquitto_broker broker;
  { running_source first(broker); first.source.stop(); }  // establishes the persistent session
  publish(broker, {1, 2, 3, 4, 5});
  running_source s(broker);
  REQUIRE(test_support::wait_until([&] { return s.sink.seqs().size() == 5; }, 10s));
  CHECK(s.sink.seqs() == std::vector<std::uint32_t>{1, 2, 3, 4, 5});
}
