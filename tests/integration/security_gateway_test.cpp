// Issue 14 through the herdgate binary: --check-config builds the producer configuration the way
// the daemon does and reports what librdkafka refuses (case 7); an unreadable kind of registry
// path is a clear error, not an endless read (case 6).
#include <doctest/doctest.h>

#include <fstream>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/temp_dir.hpp>

using namespace std::chrono_literals;

namespace {

struct check_result {
  int status = -1;
  std::string output;
};

check_result check_config(const std::string& kafka_properties, const std::string& registry_path = "",
                          const std::string& mqtt_lines = "") {
  herd::test_support::temp_dir dir;
  const auto registry = registry_path.empty() ? (dir / "collars.csv").string() : registry_path;
  std::ofstream(dir / "collars.csv") << "collar_id,animal_id,valid_from\nC-1,276098106123456,2026-01-01\n";
  std::ofstream(dir / "herdgate.toml")
      << "[gateway]\nid = \"gw\"\n[mqtt]\nclient_id = \"hg\"\n" << mqtt_lines << "\n[kafka]\nbootstrap = \"127.0.0.1:1\"\n"
      << "[kafka.properties]\n" << kafka_properties << "\n[outbox]\npath = \"" << (dir / "o.db").string()
      << "\"\n[registry]\npath = \"" << registry << "\"\n";
  herd::test_support::child_process p(herd::test_support::binary_dir() + "/gateway/herdgate",
                                      {"--config", (dir / "herdgate.toml").string(), "--check-config"},
                                      dir.path());
  check_result r;
  r.status = p.wait_exit(30s).value_or(-1);
  r.output = p.log_text();
  return r;
}

}  // namespace

TEST_CASE("--check-config reports a Kafka setting the producer would refuse at start") {
  const auto ok = check_config("\"client.id\" = \"gw1\"");
  CHECK_MESSAGE(ok.status == 0, ok.output);
  // Each property is valid alone; together with the idempotence herdgate fixes, librdkafka
  // refuses to create the producer ("max.in.flight ... must be <= 5 when enable.idempotence").
  const auto bad = check_config("\"max.in.flight.requests.per.connection\" = 10");
  CHECK(bad.status == 2);
  CHECK_MESSAGE(bad.output.find("refused by librdkafka") != std::string::npos, bad.output);
  CHECK_MESSAGE(bad.output.find("max.in.flight") != std::string::npos, bad.output);
}

TEST_CASE("--check-config with a registry path at /dev/zero fails at once with a clear error") {
  const auto r = check_config("", "/dev/zero");
  CHECK(r.status == 2);
  CHECK_MESSAGE(r.output.find("/dev/zero: the collar registry is not a regular file") != std::string::npos, r.output);
}

TEST_CASE("--check-config refuses an ssl:// broker without ca_file (any publicly issued certificate would pass)") {
  // Issue 14, case 3: with no ca_file the system trust store is used, so any certificate a public
  // CA issued for the broker's name would be accepted. The farm's CA must be named.
  const std::string tls = "broker_uri = \"ssl://broker.farm.lan:8883\"";
  const auto bare = check_config("", "", tls);
  CHECK(bare.status == 2);
  CHECK_MESSAGE(bare.output.find("ca_file") != std::string::npos, bare.output);
  const auto with_ca = check_config("", "", tls + "\nca_file = \"/etc/ssl/certs/ca-certificates.crt\"");
  CHECK_MESSAGE(with_ca.status == 0, with_ca.output);
}
