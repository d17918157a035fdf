#include "gateway_process.hpp"

#include <csignal>
#include <fstream>
#include <stdexcept>

#include <herd/test_support/paths.hpp>
#include <herd/test_support/wait_until.hpp>

namespace herd::test {

gateway_process::gateway_process(gateway_settings s) : s_(std::move(s)) {
  std::ofstream cfg(config_path());
  cfg << "[gateway]\nid = \"" << s_.gateway_id << "\"\nlog_level = \"info\"\n"
      << "[mqtt]\nbroker_uri = \"" << s_.mqtt_uri << "\"\nclient_id = \"" << s_.client_id << "\"\n"
      << "reconnect_max_ms = 1000\ntopics = [";
  for (std::size_t i = 0; i < s_.topics.size(); ++i) cfg << (i ? ", " : "") << '"' << s_.topics[i] << '"';
  cfg << "]\n[kafka]\nbootstrap = \"" << s_.kafka_bootstrap << "\"\n" << s_.kafka_extra
      << "[outbox]\npath = \"" << outbox_path() << "\"\nsynchronous = \"" << s_.synchronous << "\"\n"
      << s_.outbox_extra
      << "[registry]\npath = \"" << s_.registry_path << "\"\n"
      << "[metrics]\nlisten = \"" << s_.metrics_listen << "\"\n";
  cfg << s_.extra_sections;
  cfg << "[kafka.properties]\n";
  for (const auto& [k, v] : s_.kafka_properties) cfg << '"' << k << "\" = \"" << v << "\"\n";
}

gateway_process::~gateway_process() {
  if (proc_ && proc_->running()) proc_->kill9();
}

void gateway_process::start(std::chrono::milliseconds deadline) {
  const auto ready = s_.dir / "ready";
  std::filesystem::remove(ready);
  std::filesystem::remove(s_.dir / "metrics-address");
  if (proc_) logs_ += proc_->log_text();
  ++starts_;
  const auto cmd = test_support::gateway_command({"--config", config_path(), "--ready-file", ready.string(),
                                                  "--metrics-address-file", (s_.dir / "metrics-address").string()});
  proc_ = std::make_unique<test_support::child_process>(cmd.program, cmd.args, s_.dir, s_.env,
                                                        "herdgate-" + std::to_string(starts_) + ".log");
  if (!test_support::wait_until([&] { return std::filesystem::exists(ready) || !proc_->running(); }, deadline) ||
      !std::filesystem::exists(ready)) {
    throw std::runtime_error("herdgate did not become ready:\n" + proc_->log_text());
  }
}

void gateway_process::kill9() { proc_->kill9(); }

std::optional<int> gateway_process::stop(std::chrono::milliseconds deadline) {
  proc_->signal(SIGTERM);
  return proc_->wait_exit(deadline);
}

std::optional<int> gateway_process::wait_exit(std::chrono::milliseconds deadline) {
  return proc_->wait_exit(deadline);
}

bool gateway_process::running() { return proc_ && proc_->running(); }

std::string gateway_process::log_text() const { return logs_ + (proc_ ? proc_->log_text() : ""); }

std::string gateway_process::metrics_address() const {
  std::ifstream in(s_.dir / "metrics-address");
  std::string address;
  std::getline(in, address);
  return address;
}

}  // namespace herd::test
