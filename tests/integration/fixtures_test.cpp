// Self-test of tests/support: each fixture does what the integration and fault tests rely on.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <set>
#include <string>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <mqtt/async_client.h>

#include <herd/cloud/dev_kafka.hpp>
#include <herd/test_support/child_process.hpp>
#include <herd/test_support/kafka_reader.hpp>
#include <herd/test_support/mosquitto_broker.hpp>
#include <herd/test_support/net.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/postgres_server.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

namespace ts = herd::test_support;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

// Produces keyed records with headers; returns how many were acknowledged by the cluster.
int produce(const std::string& bootstrap, const std::string& topic, int count) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err) ==
          RD_KAFKA_CONF_OK);
  REQUIRE(rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ==
          RD_KAFKA_CONF_OK);
  int delivered = 0;
  rd_kafka_conf_set_opaque(conf, &delivered);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<int*>(opaque);
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  REQUIRE(rk != nullptr);
  for (int i = 0; i < count; ++i) {
    const std::string key = "collar-" + std::to_string(i);
    const std::string value = "reading " + std::to_string(i);
    const std::string seq = std::to_string(i);
    // rd_kafka_produceva, not producev: the RD_KAFKA_V_* macros are C casts (-Wold-style-cast).
    rd_kafka_vu_t vus[6] = {};
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_KEY;
    vus[1].u.mem = {const_cast<char*>(key.data()), key.size()};
    vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[2].u.mem = {const_cast<char*>(value.data()), value.size()};
    vus[3].vtype = RD_KAFKA_VTYPE_HEADER;
    vus[3].u.header = {"content-type", "text/plain", -1};
    vus[4].vtype = RD_KAFKA_VTYPE_HEADER;
    vus[4].u.header = {"seq", seq.c_str(), -1};
    vus[5].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[5].u.i = RD_KAFKA_MSG_F_COPY;
    rd_kafka_error_t* error = rd_kafka_produceva(rk, vus, 6);
    REQUIRE_MESSAGE(error == nullptr, (error ? rd_kafka_error_string(error) : ""));
  }
  rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
  return delivered;
}

}  // namespace

TEST_CASE("temp_dir is created and removed") {
  std::filesystem::path kept;
  {
    ts::temp_dir dir;
    kept = dir.path();
    CHECK(std::filesystem::is_directory(kept));
    std::ofstream(dir / "f") << "x";
  }
  if (std::getenv("HERD_KEEP_TMP") == nullptr) CHECK_FALSE(std::filesystem::exists(kept));
}

TEST_CASE("free_port gives a bindable loopback port and wait_until honours its deadline") {
  CHECK(ts::free_port() > 0);
  CHECK_FALSE(ts::wait_until([] { return false; }, 20ms));
  int calls = 0;
  CHECK(ts::wait_until([&] { return ++calls == 3; }, 5000ms, 1ms));
}

TEST_CASE("child_process reports exit codes, signals, logs and env") {
  ts::temp_dir dir;
  ts::child_process sh("/bin/sh", {"-c", "echo out $HERD_X; echo err >&2; exit 3"}, dir.path(),
                       {{"HERD_X", "42"}});
  CHECK(sh.wait_exit(5000ms) == 3);
  CHECK_FALSE(sh.running());
  CHECK(sh.log_text().find("out 42") != std::string::npos);
  CHECK(sh.log_text().find("err") != std::string::npos);

  ts::child_process sleeper("sleep", {"30"}, dir.path());
  CHECK(sleeper.running());
  CHECK_FALSE(sleeper.wait_exit(20ms).has_value());
  sleeper.signal(SIGTERM);
  CHECK(sleeper.wait_exit(5000ms) == 128 + SIGTERM);

  CHECK_THROWS(ts::child_process("/nonexistent/program", {}, dir.path()));
}

TEST_CASE("mosquitto_broker accepts connections and survives kill -9 and restart") {
  ts::mosquitto_broker broker;
  CHECK(broker.uri() == "tcp://127.0.0.1:" + std::to_string(broker.port()));
  CHECK(ts::port_accepts(broker.port()));

  broker.kill9();
  CHECK_FALSE(broker.running());
  CHECK_FALSE(ts::port_accepts(broker.port()));
  broker.restart();
  CHECK(ts::port_accepts(broker.port()));

  broker.restart();  // graceful stop + start: the persistence file is written on the way out
  CHECK(ts::port_accepts(broker.port()));
  CHECK(std::filesystem::exists(broker.dir() / "data" / "mosquitto.db"));
  broker.stop();
  CHECK_FALSE(broker.running());
}

namespace {

// The single value of `sql` as text, or "" after an error (printed by the CHECK).
std::string query_value(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string value;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* res = PQexec(conn, sql.c_str());
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) value = PQgetvalue(res, 0, 0);
    CHECK_MESSAGE(PQresultStatus(res) == PGRES_TUPLES_OK, PQresultErrorMessage(res));
    PQclear(res);
  }
  CHECK_MESSAGE(PQstatus(conn) == CONNECTION_OK, PQerrorMessage(conn));
  PQfinish(conn);
  return value;
}

}  // namespace

TEST_CASE("postgres_server: a private PostgreSQL 15 that keeps its data across restart and kill -9") {
  ts::postgres_server pg;
  CHECK(ts::port_accepts(pg.port()));
  CHECK(query_value(pg.conninfo(), "SHOW server_version_num").substr(0, 2) == "15");
  CHECK(query_value(pg.conninfo(), "SHOW fsync") == "off");  // test settings, see the header
  CHECK(query_value(pg.conninfo(), "SELECT current_user") == "postgres");

  const std::string db = pg.create_database("herd_fixture");
  CHECK(db == pg.conninfo("herd_fixture"));
  pg.execute("CREATE TABLE t (v int); INSERT INTO t VALUES (42)", "herd_fixture");
  CHECK_THROWS(pg.execute("INSERT INTO t VALUES ('not a number')", "herd_fixture"));
  CHECK_THROWS(pg.create_database("bad; name"));

  pg.restart();  // fast shutdown and start on the same port
  CHECK(query_value(db, "SELECT sum(v) FROM t") == "42");
  pg.execute("INSERT INTO t VALUES (1)", "herd_fixture");
  pg.kill9();  // crash recovery on the next start: committed rows survive a server crash too
  CHECK_FALSE(pg.running());
  CHECK_FALSE(ts::port_accepts(pg.port()));
  pg.restart();
  CHECK(query_value(db, "SELECT sum(v) FROM t") == "43");
  pg.stop();
  CHECK_FALSE(pg.running());
}

TEST_CASE("mosquitto_broker keeps a large offline QoS 1 backlog across a graceful restart") {
  constexpr int backlog = 5000;  // mosquitto's default max_queued_messages is 1000
  ts::mosquitto_broker broker;
  const auto persistent = mqtt::connect_options_builder().clean_session(false).finalize();
  mqtt::async_client subscriber(broker.uri(), "herd-fixture-sub");
  subscriber.connect(persistent)->wait();
  subscriber.subscribe("herd/backlog", 1)->wait();
  subscriber.disconnect()->wait();

  mqtt::async_client publisher(broker.uri(), "herd-fixture-pub");
  publisher.connect(mqtt::connect_options_builder().max_inflight(100).finalize())->wait();
  for (int i = 0; i < backlog; ++i) {
    publisher.publish("herd/backlog", std::to_string(i), 1, false)->wait();
  }
  publisher.disconnect()->wait();

  broker.restart();
  subscriber.start_consuming();
  subscriber.connect(persistent)->wait();
  int received = 0;
  CHECK(ts::wait_until(
      [&] {
        mqtt::const_message_ptr m;
        while (subscriber.try_consume_message(&m)) ++received;
        return received >= backlog;
      },
      20000ms));
  CHECK(received == backlog);
  subscriber.disconnect()->wait();
}

TEST_CASE("dev_kafka in process: produce keyed records with headers, read them back") {
  auto cluster = herd::cloud::dev_kafka::start();
  REQUIRE_MESSAGE(cluster.ok(), (cluster.ok() ? "" : cluster.err().message));
  const std::string bootstrap = (*cluster)->bootstrap();
  CHECK(bootstrap.rfind("127.0.0.1:", 0) == 0);
  CHECK((*cluster)->mock() != nullptr);

  REQUIRE(produce(bootstrap, "herd.events", 3) == 3);

  ts::kafka_reader reader(bootstrap, "herd.events");
  CHECK(reader.partition_count() == 6);
  REQUIRE(reader.read_until([](const auto& r) { return r.size() >= 3; }, 15000ms));
  std::set<std::string> keys;
  for (const auto& r : reader.records()) {
    keys.insert(r.key);
    CHECK(r.topic == "herd.events");
    CHECK(r.value == "reading " + r.key.substr(7));
    CHECK(r.header("content-type") == "text/plain");
    CHECK(r.header("seq") == r.key.substr(7));
    CHECK_FALSE(r.header("absent").has_value());
    CHECK(r.timestamp_ms > 0);
  }
  CHECK(keys == std::set<std::string>{"collar-0", "collar-1", "collar-2"});
  CHECK_FALSE(reader.read_until([](const auto& r) { return r.size() > 3; }, 300ms));

  ts::kafka_reader dlq(bootstrap, "herd.events.dlq");
  CHECK(dlq.partition_count() == 1);
}

TEST_CASE("herd-dev-kafka writes its bootstrap file and exits 0 on SIGTERM") {
  ts::temp_dir dir;
  const auto file = dir / "bootstrap";
  ts::child_process tool(ts::binary_dir() + "/cloud/herd-dev-kafka",
                         {"--brokers", "1", "--partitions", "2", "--bootstrap-file", file.string()},
                         dir.path());
  REQUIRE(ts::wait_until([&] { return std::filesystem::exists(file); }, 10000ms));
  const std::string bootstrap = read_file(file);
  CHECK(bootstrap.rfind("127.0.0.1:", 0) == 0);
  CHECK(bootstrap.find(',') == std::string::npos);  // one broker

  {
    ts::kafka_reader reader(bootstrap, "herd.events");  // closed before the cluster goes
    CHECK(reader.partition_count() == 2);
  }
  CHECK(ts::wait_until([&] { return tool.log_text().find("bootstrap: " + bootstrap) !=
                                    std::string::npos; }, 5000ms));

  tool.signal(SIGTERM);
  CHECK(tool.wait_exit(10000ms) == 0);
}
