#pragma once
// The real herd-projector binary as a child process, with a config written for the test's Kafka
// cluster and a SQLite read model in the test's directory. Start, kill -9, stop with SIGTERM, and
// helpers that read the read model from the test (another SQLite connection, WAL).
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <herd/test_support/child_process.hpp>

#include "herd/read_model/store.hpp"

namespace herd::test {

struct projector_settings {
  projector_settings(std::string bootstrap, std::filesystem::path d) : kafka_bootstrap(std::move(bootstrap)), dir(std::move(d)) {}
  std::string kafka_bootstrap;
  std::filesystem::path dir;  // holds config, read model, logs
  std::string db_name = "read_model.db";
  std::string group_id = "herd-projector-it";
  std::size_t batch_max = 500;
  int linger_ms = 20;
  std::string read_model_extra;  // more lines of the [read_model] section
  std::string kafka_properties_extra;  // more lines of [kafka.properties] (e.g. "debug" = "cgrp")
  std::string extra;             // more top-level lines / sections
};

class projector_process {
 public:
  explicit projector_process(projector_settings s);
  ~projector_process();

  // Starts herd-projector and waits for its ready file (consuming).
  void start(std::chrono::milliseconds deadline = std::chrono::seconds(30));
  void kill9();
  std::optional<int> stop(std::chrono::milliseconds deadline = std::chrono::seconds(20));
  bool running();
  std::string log_text() const;
  std::string db_path() const { return (s_.dir / s_.db_name).string(); }
  std::string config_path() const { return (s_.dir / "herd-projector.toml").string(); }
  std::string metrics_address() const;  // host:port, after start()

  // Sum of `applied` over the read model's partitions (0 if the file is not there yet).
  std::uint64_t applied() const;
  std::unique_ptr<read_model::store> open_read_model() const;

 private:
  projector_settings s_;
  std::unique_ptr<test_support::child_process> proc_;
  int starts_ = 0;
};

// Runs `herd-projector <args>` to completion; returns {exit status, output}.
std::pair<int, std::string> run_projector_tool(const std::vector<std::string>& args,
                                               const std::filesystem::path& dir,
                                               std::chrono::milliseconds deadline = std::chrono::seconds(120));

// The digest `herd-projector digest --db` prints (first word), "" on failure.
std::string digest_of(const std::string& db_path);

}  // namespace herd::test
