#include "projector_process.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include <herd/test_support/paths.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/read_model/sqlite_store.hpp"

namespace herd::test {

namespace {
std::string projector_binary() { return test_support::binary_dir() + "/cloud/projector/herd-projector"; }
}  // namespace

projector_process::projector_process(projector_settings s) : s_(std::move(s)) {
  std::ofstream cfg(config_path());
  cfg << "[projector]\nlog_level = \"info\"\n"
      << "[kafka]\nbootstrap = \"" << s_.kafka_bootstrap << "\"\ngroup_id = \"" << s_.group_id << "\"\n"
      << "batch_max = " << s_.batch_max << "\nlinger_ms = " << s_.linger_ms << "\n"
      << "backoff_min_ms = 50\nbackoff_max_ms = 1000\n"
      << "[kafka.properties]\n\"session.timeout.ms\" = 3000\n\"heartbeat.interval.ms\" = 300\n"
      << s_.kafka_properties_extra
      << "[read_model]\npath = \"" << db_path() << "\"\n"
      << s_.read_model_extra
      << "[metrics]\nlisten = \"127.0.0.1:0\"\n"
      << s_.extra;
}

projector_process::~projector_process() = default;

void projector_process::start(std::chrono::milliseconds deadline) {
  ++starts_;
  const auto ready = s_.dir / "projector.ready";
  std::filesystem::remove(ready);
  proc_ = std::make_unique<test_support::child_process>(
      projector_binary(),
      std::vector<std::string>{"--config", config_path(), "--ready-file", ready.string(), "--metrics-address-file",
                               (s_.dir / "projector.metrics").string()},
      s_.dir, std::map<std::string, std::string>{}, "herd-projector.log");
  const bool ok = test_support::wait_until([&] { return std::filesystem::exists(ready) || !proc_->running(); }, deadline);
  INFO(log_text());
  REQUIRE(ok);
  REQUIRE(proc_->running());
}

void projector_process::kill9() {
  if (proc_) proc_->kill9();
}

std::optional<int> projector_process::stop(std::chrono::milliseconds deadline) {
  if (!proc_) return 0;
  proc_->signal(SIGTERM);
  return proc_->wait_exit(deadline);
}

bool projector_process::running() { return proc_ && proc_->running(); }

std::string projector_process::log_text() const { return proc_ ? proc_->log_text() : std::string(); }

std::string projector_process::metrics_address() const {
  std::ifstream in(s_.dir / "projector.metrics");
  std::string a;
  in >> a;
  return a;
}

std::unique_ptr<read_model::store> projector_process::open_read_model() const {
  auto s = read_model::open_sqlite_store({.path = db_path(), .busy_timeout_ms = 10000});
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

std::uint64_t projector_process::applied() const {
  if (!std::filesystem::exists(db_path())) return 0;
  auto s = read_model::open_sqlite_store({.path = db_path(), .busy_timeout_ms = 10000});
  if (!s) return 0;
  auto p = (*s)->load_progress();
  if (!p) return 0;
  std::uint64_t n = 0;
  for (const auto& pp : *p) n += pp.applied;
  return n;
}

std::pair<int, std::string> run_projector_tool(const std::vector<std::string>& args, const std::filesystem::path& dir,
                                               std::chrono::milliseconds deadline) {
  static int runs = 0;
  const std::string log = "projector-tool-" + std::to_string(++runs) + ".log";
  test_support::child_process p(projector_binary(), args, dir, {}, log);
  const auto st = p.wait_exit(deadline);
  return {st.value_or(-1), p.log_text()};
}

std::string digest_of(const std::string& db_path) {
  auto [rc, out] = run_projector_tool({"digest", "--db", db_path}, std::filesystem::path(db_path).parent_path());
  if (rc != 0) return "";
  std::istringstream in(out);
  std::string hex;
  in >> hex;
  return hex;
}

}  // namespace herd::test
