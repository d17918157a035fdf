// herd-dev-kafka: runs librdkafka's mock cluster until SIGTERM/SIGINT, for local development
// and for tests that need Kafka in another process. Ports are random, so the bootstrap address
// is printed ("bootstrap: <addr>") and optionally written to a file.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <system_error>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <herd/cloud/dev_kafka.hpp>

namespace {

// Readers poll for the file; rename() makes it appear complete or not at all.
bool write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << '\n';
    out.flush();
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kafka mock cluster (librdkafka) on loopback, for development and tests"};
  herd::cloud::dev_kafka_options options;
  int partitions = 6;
  std::string bootstrap_file;
  app.add_option("--brokers", options.brokers, "number of brokers")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--partitions", partitions, "partitions of herd.events")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--bootstrap-file", bootstrap_file,
                 "write the bootstrap address to this file (atomically)");
  CLI11_PARSE(app, argc, argv);
  options.topics = {{"herd.events", partitions}, {"herd.events.dlq", 1}, {"herd.events.projector.dlq", 1}};

  // Block before librdkafka starts its threads: they inherit the mask, so the signals
  // stay pending for sigwait below instead of killing the process from another thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
    std::cerr << "herd-dev-kafka: cannot block signals\n";
    return 1;
  }

  auto cluster = herd::cloud::dev_kafka::start(options);
  if (!cluster) {
    std::cerr << "herd-dev-kafka: " << cluster.err().message << '\n';
    return 1;
  }
  const std::string& bootstrap = (*cluster)->bootstrap();
  if (!bootstrap_file.empty() && !write_file_atomically(bootstrap_file, bootstrap)) {
    std::cerr << "herd-dev-kafka: cannot write " << bootstrap_file << '\n';
    return 1;
  }
  std::cout << "bootstrap: " << bootstrap << std::endl;  // flushed: parents read it from a pipe

  int received = 0;
  if (sigwait(&stop_signals, &received) != 0) return 1;
  std::cerr << "herd-dev-kafka: signal " << received << ", stopping\n";
  return 0;
}
