#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/temp_dir.hpp>

namespace herd::test_support {

struct mosquitto_options {
  // Room for a long offline backlog of QoS 1 messages in a persistent session.
  int max_queued_messages = 1000000;
  int max_inflight_messages = 100;
  int autosave_interval_s = 1;  // a kill -9 loses at most about this much of the broker's state
  std::vector<std::string> extra_config;  // appended verbatim, one line each
};

// Debian's /usr/sbin/mosquitto on 127.0.0.1:<free port>, anonymous, with persistence, its
// config, data and logs in a temp dir of its own. The constructor returns once the port accepts
// TCP connections; it throws std::runtime_error (with the broker log) if it does not in time.
class mosquitto_broker {
 public:
  static constexpr std::chrono::milliseconds start_deadline{10000};

  explicit mosquitto_broker(mosquitto_options options = {});
  ~mosquitto_broker();  // SIGKILL if still running; the temp dir goes too

  std::string uri() const;  // "tcp://127.0.0.1:PORT"
  std::uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  bool running();

  // SIGTERM and wait: mosquitto writes its persistence file on the way out.
  // Throws std::runtime_error if it has not exited after the deadline.
  void stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(10000));
  // SIGKILL: the state since the last autosave is lost, as in a power cut.
  void kill9();
  // Stops it (gracefully) if running, then starts it again on the same port and data.
  void restart();

  // Broker log (log_dest file) followed by what the process wrote to stdout/stderr.
  std::string log_text() const;

 private:
  void start();

  temp_dir dir_;
  std::uint16_t port_;
  std::unique_ptr<child_process> process_;
};

}  // namespace herd::test_support
