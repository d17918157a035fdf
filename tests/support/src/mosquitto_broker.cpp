#include <herd/test_support/mosquitto_broker.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <stdexcept>

#include <herd/test_support/net.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

namespace herd::test_support {
namespace {

constexpr const char* mosquitto_program = "/usr/sbin/mosquitto";

void write_config(const std::filesystem::path& dir, std::uint16_t port,
                  const mosquitto_options& o) {
  std::filesystem::create_directories(dir / "data");
  std::ofstream conf(dir / "mosquitto.conf", std::ios::trunc);
  // Started as root, mosquitto would drop to the `mosquitto` user, which cannot write into our
  // 0700 temp dir; `user root` keeps it as is (and is ignored when not started as root).
  conf << "user root\n"
       << "listener " << port << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "persistence true\n"
       << "persistence_location " << (dir / "data").string() << "/\n"
       << "autosave_interval " << o.autosave_interval_s << "\n"
       << "max_queued_messages " << o.max_queued_messages << "\n"
       << "max_inflight_messages " << o.max_inflight_messages << "\n"
       << "log_dest file " << (dir / "mosquitto.log").string() << "\n"
       << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
       << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n";
  for (const auto& line : o.extra_config) conf << line << "\n";
  if (!conf.flush()) throw std::runtime_error("mosquitto_broker: cannot write config");
}

}  // namespace

mosquitto_broker::mosquitto_broker(mosquitto_options options) : port_(free_port()) {
  write_config(dir_.path(), port_, options);
  start();
}

mosquitto_broker::~mosquitto_broker() = default;

void mosquitto_broker::start() {
  process_ = std::make_unique<child_process>(
      mosquitto_program,
      std::vector<std::string>{"-c", (dir_.path() / "mosquitto.conf").string()}, dir_.path(),
      std::map<std::string, std::string>{}, "mosquitto.stdout.log");
  // Ready means the listener accepts; an early exit (bad config, port taken) fails fast.
  bool up = false;
  wait_until(
      [&] {
        up = port_accepts(port_);
        return up || !process_->running();
      },
      start_deadline, std::chrono::milliseconds(10));
  if (!up) {
    process_->kill9();
    throw std::runtime_error("mosquitto_broker: not accepting on port " + std::to_string(port_) +
                             "\n" + log_text());
  }
}

std::string mosquitto_broker::uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

bool mosquitto_broker::running() { return process_ && process_->running(); }

void mosquitto_broker::stop(std::chrono::milliseconds deadline) {
  if (!running()) return;
  // SIGTERM again every 500 ms until the deadline: a broker stopped right after it started to
  // accept connections once ignored the first one (its main loop kept running for 10 s, on a
  // loaded machine), which fits mosquitto 2.0 arming its run flag only after opening listeners.
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    process_->signal(SIGTERM);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (process_->wait_exit(std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(500)))) return;
    if (left <= std::chrono::milliseconds(500)) break;
  }
  throw std::runtime_error("mosquitto_broker: still running after SIGTERM\n" + log_text());
}

void mosquitto_broker::kill9() {
  if (process_) process_->kill9();
}

void mosquitto_broker::restart() {
  stop();
  start();
}

std::string mosquitto_broker::log_text() const {
  std::string text = read_file(dir_.path() / "mosquitto.log");
  if (process_) text += process_->log_text();
  return text;
}

}  // namespace herd::test_support
