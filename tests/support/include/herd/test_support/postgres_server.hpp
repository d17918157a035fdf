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

struct postgres_options {
  // Tests: fsync=off, full_page_writes=off, shared_buffers=32MB (fast start, no disk flushes).
  // A commit still writes its WAL to the kernel before it returns (synchronous_commit stays on),
  // so a committed transaction survives a kill -9 of a client or of the server; only a crash of
  // the machine could lose it. durable = true keeps PostgreSQL's defaults: for benchmarks.
  bool durable = false;
  std::vector<std::string> settings;  // extra "key=value" server settings (-c), applied last
};

// A private PostgreSQL 15 server (Debian's /usr/lib/postgresql/15/bin) on 127.0.0.1:<free port>,
// trust authentication for the superuser `postgres`, its data, socket and log in a temp dir.
//
// initdb and postgres refuse to run as root: a root test process runs them as the `postgres`
// system user (the temp dir is opened to it); any other user runs them as itself.
// initdb runs once per build tree: its result is kept in <build>/test-support/pg-template-15 and
// copied for every server (initdb costs ~1.5 s of CPU, a copy ~0.1 s).
//
// The constructor returns once the server accepts libpq connections (PQping); it throws
// std::runtime_error with the server log if it exits or does not accept within start_deadline.
// Not thread-safe.
class postgres_server {
 public:
  static constexpr std::chrono::milliseconds start_deadline{60000};  // a loaded 2-core CI box
  static constexpr const char* bin_dir = "/usr/lib/postgresql/15/bin";

  explicit postgres_server(postgres_options options = {});
  ~postgres_server();  // fast shutdown (SIGINT), SIGKILL if it takes longer than 10 s

  std::uint16_t port() const { return port_; }
  // libpq keyword/value connection string, e.g. "host=127.0.0.1 port=P user=postgres dbname=D".
  std::string conninfo(const std::string& dbname = "postgres") const;
  // CREATE DATABASE `name` (letters, digits, '_' only); returns its conninfo.
  // Throws std::runtime_error on failure.
  std::string create_database(const std::string& name);
  // Runs one SQL command as the superuser in `dbname`; throws std::runtime_error on failure.
  void execute(const std::string& sql, const std::string& dbname = "postgres");

  bool running();
  // Fast shutdown (SIGINT: clients disconnected, a checkpoint written) and wait.
  // Throws std::runtime_error if it has not exited after the deadline.
  void stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(10000));
  // SIGKILL of the postmaster, as in a crash: the next start runs crash recovery.
  void kill9();
  // Stops it (fast) if running, then starts it again on the same port and data.
  void restart();

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string log_text() const;

 private:
  void start();

  temp_dir dir_;
  postgres_options options_;
  std::uint16_t port_;
  std::unique_ptr<child_process> process_;
};

}  // namespace herd::test_support
