// Issue 14 against a real mosquitto: the MQTT 5 Maximum Packet Size keeps oversize publishes out
// of the gateway (case 1); TLS verifies the broker's chain, expiry and host name and presents a
// client certificate (case 3), with a CA made by openssl here; per-collar ACLs (case 8).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <vector>

#include <herd/test_support/child_process.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

#include "herd/core/clock.hpp"
#include "herd/sensors/mqtt_source.hpp"

using namespace herd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Named, so its helpers do not meet mqtt_source_test.cpp's (same names) in a unity build.
namespace security_mqtt_test {
namespace {

std::string reading(int seq) { return R"({"seq": )" + std::to_string(seq) + R"(, "ts": 1780000000000})"; }

class counting_sink final : public sensors::reading_sink {
 public:
  core::status on_reading(const sensors::raw_message& raw, const sensors::reading&) override {
    std::lock_guard lock(mu_);
    stored_.push_back(raw.source);
    return core::ok_v;
  }
  core::status on_rejected(const sensors::raw_message& raw, const std::string& reason) override {
    std::lock_guard lock(mu_);
    rejected_.push_back(raw.source + ": " + reason.substr(0, 80));
    return core::ok_v;
  }
  std::vector<std::string> stored() {
    std::lock_guard lock(mu_);
    return stored_;
  }
  std::vector<std::string> rejected() {
    std::lock_guard lock(mu_);
    return rejected_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> stored_, rejected_;
};

struct running_source {
  counting_sink sink;
  core::system_clock clock;
  sensors::mqtt_source source;
  std::atomic<bool> ready{false};
  explicit running_source(sensors::mqtt_options o) : source(std::move(o), clock) {
    REQUIRE(source.start(sink, [this] { ready = true; }).ok());
  }
  bool wait_ready(std::chrono::milliseconds d) {
    return test_support::wait_until([&] { return ready.load(); }, d);
  }
};

// mosquitto_pub from another process; extra args e.g. {"-u", "C-1", "-P", "pw"}.
int publish(const test_support::mosquitto_broker& broker, const std::string& topic, const std::string& file_or_msg,
            std::vector<std::string> extra = {}, bool from_file = false) {
  std::vector<std::string> args{"-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-q", "1", "-t", topic};
  args.insert(args.end(), {from_file ? "-f" : "-m", file_or_msg});
  args.insert(args.end(), extra.begin(), extra.end());
  test_support::child_process pub("/usr/bin/mosquitto_pub", args, broker.dir());
  return pub.wait_exit(10s).value_or(-1);
}

void sh(const fs::path& dir, const std::string& cmd) {
  const std::string full = "cd '" + dir.string() + "' && { " + cmd + " ; } >>openssl.log 2>&1";
  REQUIRE_MESSAGE(std::system(full.c_str()) == 0, cmd);
}

// A test PKI made with openssl: the CA, server certificates for several cases, a client
// certificate with an encrypted key. EC P-256 keys: fast to make.
struct test_pki {
  test_support::temp_dir dir;
  fs::path operator/(const std::string& f) const { return dir.path() / f; }

  void key(const std::string& name) {
    sh(dir.path(), "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + name + ".key");
  }
  void ca(const std::string& name) {
    key(name);
    sh(dir.path(), "openssl req -x509 -new -key " + name + ".key -out " + name + ".crt -days 2 -subj /CN=" + name);
  }
  // A certificate for `san` signed by `ca`; `when` (faketime) back-dates it.
  void cert(const std::string& name, const std::string& ca, const std::string& cn, const std::string& san,
            const std::string& when = "") {
    key(name);
    sh(dir.path(), "openssl req -new -key " + name + ".key -out " + name + ".csr -subj /CN=" + cn);
    sh(dir.path(), "printf 'subjectAltName=" + san + "\\n' > " + name + ".ext");
    sh(dir.path(), (when.empty() ? "" : "faketime '" + when + "' ") + "openssl x509 -req -in " + name +
                       ".csr -CA " + ca + ".crt -CAkey " + ca + ".key -CAcreateserial -days 2 -extfile " +
                       name + ".ext -out " + name + ".crt");
  }
  test_pki() {
    ca("farm-ca");
    ca("other-ca");
    cert("good", "farm-ca", "localhost", "DNS:localhost,IP:127.0.0.1");
    cert("wrong-host", "farm-ca", "broker.elsewhere.example", "DNS:broker.elsewhere.example");
    cert("unknown-ca", "other-ca", "localhost", "DNS:localhost,IP:127.0.0.1");
    cert("expired", "farm-ca", "localhost", "DNS:localhost,IP:127.0.0.1", "2021-01-01 00:00:00");
    cert("gw1", "farm-ca", "herdgate-gw1", "DNS:herdgate-gw1");
    sh(dir.path(), "openssl pkey -in gw1.key -aes256 -passout pass:s3cret -out gw1-enc.key");
  }
};

test_support::mosquitto_broker tls_broker(const test_pki& pki, const std::string& server, bool require_client_cert) {
  test_support::mosquitto_options o;
  o.extra_config = {"cafile " + (pki / "farm-ca.crt").string(), "certfile " + (pki / (server + ".crt")).string(),
                    "keyfile " + (pki / (server + ".key")).string()};
  if (require_client_cert) o.extra_config.push_back("require_certificate true");
  return test_support::mosquitto_broker(o);
}

sensors::mqtt_options tls_options(const test_pki& pki, const test_support::mosquitto_broker& broker) {
  sensors::mqtt_options o;
  o.broker_uri = "ssl://localhost:" + std::to_string(broker.port());
  o.client_id = "herdgate-tls-test";
  o.ca_file = (pki / "farm-ca.crt").string();
  o.reconnect_max = 500ms;
  return o;
}

// A connection that must be refused: not ready within a few reconnect attempts.
void check_refused(sensors::mqtt_options o) {
  running_source s(std::move(o));
  CHECK_FALSE(s.wait_ready(1500ms));
  CHECK_FALSE(s.source.stats().connected);
}

// The conf block after "Per-collar ACL, `/etc/mosquitto/acl`" in docs/deployment.md; empty if
// the guide has none.
std::string documented_acl() {
  const std::string doc = test_support::read_file(test_support::source_dir() + "/docs/deployment.md");
  const auto at = doc.find("**Per-collar ACL, `/etc/mosquitto/acl`:**");
  if (at == std::string::npos) return "";
  const std::string open = "```conf\n";
  const auto begin = doc.find(open, at);
  if (begin == std::string::npos) return "";
  const auto end = doc.find("```", begin + open.size());
  if (end == std::string::npos) return "";
  return doc.substr(begin + open.size(), end - begin - open.size());
}

}  // namespace

TEST_CASE("an oversize publish is dropped by the broker for us (MQTT 5 Maximum Packet Size), the reading behind it arrives") {
  test_support::mosquitto_broker broker;
  sensors::mqtt_options o;
  o.broker_uri = broker.uri();
  o.client_id = "herdgate-maxpacket-test";
  running_source s(o);
  REQUIRE(s.wait_ready(10s));
  const auto big = broker.dir() / "big.json";
  std::ofstream(big) << std::string(1 << 20, ' ') << reading(1);  // 1 MiB of padding
  REQUIRE(publish(broker, "farm/f1/collar/C-1/telemetry", big.string(), {}, true) == 0);
  REQUIRE(publish(broker, "farm/f1/collar/C-1/telemetry", reading(2)) == 0);
  REQUIRE(test_support::wait_until([&] { return s.sink.stored().size() == 1; }, 10s));
  // The 1 MiB message never reached the gateway: not even as a dead letter.
  CHECK(s.sink.rejected().empty());
  CHECK(s.source.stats().received == 1);
}

TEST_CASE("MQTT TLS: a certificate of the farm's CA for the broker's host name is accepted") {
  test_pki pki;
  auto broker = tls_broker(pki, "good", false);
  running_source s(tls_options(pki, broker));
  REQUIRE(s.wait_ready(10s));
}

TEST_CASE("MQTT TLS: a certificate for another host name, of an unknown CA, or expired is refused") {
  test_pki pki;
  for (const std::string server : {"wrong-host", "unknown-ca", "expired"}) {
    CAPTURE(server);
    auto broker = tls_broker(pki, server, false);
    check_refused(tls_options(pki, broker));
  }
}

TEST_CASE("MQTT TLS: a broker that requires a client certificate gets ours (encrypted key), and refuses us without") {
  test_pki pki;
  auto broker = tls_broker(pki, "good", true);
  check_refused(tls_options(pki, broker));
  auto o = tls_options(pki, broker);
  o.cert_file = (pki / "gw1.crt").string();
  o.key_file = (pki / "gw1-enc.key").string();
  o.key_password = "s3cret";
  running_source s(o);
  REQUIRE(s.wait_ready(10s));
}

TEST_CASE("per-collar ACL (docs/deployment.md): a collar can publish only on its own topic") {
  test_support::temp_dir dir;
  const auto pw = dir / "passwords";
  const auto acl = dir / "acl";
  sh(dir.path(), "mosquitto_passwd -b -c " + pw.string() + " herdgate gw-pass");
  sh(dir.path(), "mosquitto_passwd -b " + pw.string() + " C-1 c1-pass");
  // The ACL the deployment guide tells a farm to write, not a copy of it: the test proves the
  // documented defence (and fails if the guide loses it).
  const auto documented = documented_acl();
  REQUIRE_MESSAGE(!documented.empty(), "docs/deployment.md has no per-collar ACL block");
  std::ofstream(acl) << documented;
  test_support::mosquitto_options mo;
  mo.extra_config = {"allow_anonymous false", "password_file " + pw.string(), "acl_file " + acl.string()};
  test_support::mosquitto_broker broker(mo);
  sensors::mqtt_options o;
  o.broker_uri = broker.uri();
  o.client_id = "herdgate-acl-test";
  o.username = "herdgate";
  o.password = "gw-pass";
  running_source s(o);
  REQUIRE(s.wait_ready(10s));
  // C-1 forges a reading for C-2, then publishes its own; an anonymous client tries too.
  (void)publish(broker, "farm/f1/collar/C-2/telemetry", reading(1), {"-u", "C-1", "-P", "c1-pass"});
  (void)publish(broker, "farm/f1/collar/C-2/telemetry", reading(2));
  REQUIRE(publish(broker, "farm/f1/collar/C-1/telemetry", reading(3), {"-u", "C-1", "-P", "c1-pass"}) == 0);
  REQUIRE(test_support::wait_until([&] { return !s.sink.stored().empty(); }, 10s));
  // Deliveries are in order on one connection: had the forgery passed, it would be here first.
  CHECK(s.sink.stored() == std::vector<std::string>{"farm/f1/collar/C-1/telemetry"});
}

}  // namespace security_mqtt_test
