#include <herd/test_support/postgres_server.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <libpq-fe.h>
#include <sys/shm.h>
#include <unistd.h>

#include <herd/test_support/net.hpp>
#include <herd/test_support/paths.hpp>
#include <herd/test_support/temp_dir.hpp>
#include <herd/test_support/wait_until.hpp>

namespace herd::test_support {
namespace {

namespace fs = std::filesystem;

std::optional<run_as_user> server_user() {
  if (::geteuid() != 0) return std::nullopt;
  return run_as_user::named("postgres");
}

void give_to(const fs::path& p, const std::optional<run_as_user>& user) {
  if (!user) return;
  if (::lchown(p.c_str(), user->uid, user->gid) != 0) {
    throw std::runtime_error("postgres_server: chown " + p.string() + ": " + std::strerror(errno));
  }
}

void give_tree_to(const fs::path& root, const std::optional<run_as_user>& user) {
  if (!user) return;
  give_to(root, user);
  for (const auto& entry : fs::recursive_directory_iterator(root)) give_to(entry.path(), user);
}

std::string bin(const char* program) {
  return std::string(postgres_server::bin_dir) + "/" + program;
}

// initdb once per build tree. Concurrent test processes may race here: each builds in a
// staging dir of its own and renames it into place; a loser's rename fails and it uses the
// winner's (a rename is atomic, so a half-built template is never seen).
fs::path template_dir(const fs::path& log_dir, const std::optional<run_as_user>& user) {
  const fs::path parent = fs::path(binary_dir()) / "test-support";
  const fs::path done = parent / "pg-template-15";
  if (fs::exists(done / "PG_VERSION")) return done;
  fs::create_directories(parent);
  fs::permissions(parent, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  std::string pattern = (parent / "pg-template.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("postgres_server: mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  const fs::path staging = pattern;
  give_to(staging, user);
  child_process initdb(bin("initdb"),
                       {"-D", staging.string(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--locale=C.UTF-8", "--no-sync", "--no-instructions"},
                       log_dir, {}, "initdb.log", user);
  const auto rc = initdb.wait_exit(std::chrono::milliseconds(120000));
  if (rc != 0) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw std::runtime_error("postgres_server: initdb failed\n" + initdb.log_text());
  }
  if (::rename(staging.c_str(), done.c_str()) != 0) {
    std::error_code ec;  // another process won the race: use its template
    fs::remove_all(staging, ec);
    if (!fs::exists(done / "PG_VERSION")) {
      throw std::runtime_error("postgres_server: cannot install the initdb template at " +
                               done.string());
    }
  }
  return done;
}

// One libpq connection for the fixture's own SQL; closed on every path out.
struct connection {
  PGconn* c;
  explicit connection(const std::string& conninfo) : c(PQconnectdb(conninfo.c_str())) {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { PQfinish(c); }
};

}  // namespace

postgres_server::postgres_server(postgres_options options)
    : options_(std::move(options)), port_(free_port()) {
  const auto user = server_user();
  // The server (as `postgres`) must reach its data and socket dirs inside our 0700 temp dir.
  fs::permissions(dir_.path(), fs::perms::others_exec | fs::perms::group_exec,
                  fs::perm_options::add);
  const fs::path data = dir_ / "data";
  fs::copy(template_dir(dir_.path(), user), data,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  fs::permissions(data, fs::perms::owner_all);  // postgres refuses a group/world-readable dir
  give_tree_to(data, user);
  fs::create_directory(dir_ / "sock");
  give_to(dir_ / "sock", user);
  start();
}

postgres_server::~postgres_server() {
  try {
    stop();
  } catch (...) {
    kill9();  // a destructor must not throw; the temp dir goes with whatever is left
  }
}

void postgres_server::start() {
  std::vector<std::string> args{"-D", (dir_ / "data").string(), "-k", (dir_ / "sock").string(),
                                "-p", std::to_string(port_), "-c", "listen_addresses=127.0.0.1",
                                "-c", "max_connections=60"};
  std::vector<std::string> settings;
  if (!options_.durable) {
    settings = {"fsync=off", "full_page_writes=off", "shared_buffers=32MB"};
  }
  settings.insert(settings.end(), options_.settings.begin(), options_.settings.end());
  for (const auto& s : settings) {
    args.push_back("-c");
    args.push_back(s);
  }
  process_ = std::make_unique<child_process>(bin("postgres"), args, dir_.path(),
                                             std::map<std::string, std::string>{},
                                             "postgres.log", server_user());
  const std::string ping = conninfo() + " connect_timeout=2";
  bool up = false;
  wait_until(
      [&] {
        up = PQping(ping.c_str()) == PQPING_OK;
        return up || !process_->running();
      },
      start_deadline, std::chrono::milliseconds(20));
  if (!up) {
    process_->kill9();
    throw std::runtime_error("postgres_server: not accepting connections on port " +
                             std::to_string(port_) + "\n" + log_text());
  }
}

std::string postgres_server::conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
}

void postgres_server::execute(const std::string& sql, const std::string& dbname) {
  connection conn(conninfo(dbname));
  if (PQstatus(conn.c) != CONNECTION_OK) {
    throw std::runtime_error("postgres_server: connect: " + std::string(PQerrorMessage(conn.c)));
  }
  PGresult* res = PQexec(conn.c, sql.c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
  const std::string message = PQresultErrorMessage(res);
  PQclear(res);
  if (!ok) throw std::runtime_error("postgres_server: " + sql + ": " + message);
}

std::string postgres_server::create_database(const std::string& name) {
  for (char ch : name) {
    const bool plain = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (!plain) throw std::runtime_error("postgres_server: database name " + name);
  }
  execute("CREATE DATABASE " + name);
  return conninfo(name);
}

bool postgres_server::running() { return process_ && process_->running(); }

void postgres_server::stop(std::chrono::milliseconds deadline) {
  if (!running()) return;
  process_->signal(SIGINT);  // fast shutdown; SIGTERM ("smart") would wait for every client
  if (!process_->wait_exit(deadline)) {
    throw std::runtime_error("postgres_server: still running after SIGINT\n" + log_text());
  }
}

void postgres_server::kill9() {
  if (!process_) return;
  // The shared memory segment the postmaster named in postmaster.pid (line 7: "<key> <id>").
  std::optional<int> shmid;
  {
    std::ifstream pid_file(dir_ / "data" / "postmaster.pid");
    std::string line;
    for (int n = 1; std::getline(pid_file, line); ++n) {
      int key = 0, id = 0;
      if (n == 7 && std::sscanf(line.c_str(), "%d %d", &key, &id) == 2) shmid = id;
    }
  }
  process_->kill9();
  // Its backends and auxiliary processes outlive it until they notice, still attached to that
  // segment; a start meanwhile fails ("pre-existing shared memory block is still in use": a CI
  // run of 2026-12-03). Wait until none is attached, as a crashed server's restart would.
  if (shmid) {
    wait_until(
        [&] {
          shmid_ds ds{};
          return ::shmctl(*shmid, IPC_STAT, &ds) != 0 || ds.shm_nattch == 0;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(10));
  }
}

void postgres_server::restart() {
  stop();
  start();
}

std::string postgres_server::log_text() const {
  std::string text = read_file(dir_ / "initdb.log");
  if (process_) text += process_->log_text();
  return text;
}

}  // namespace herd::test_support
