// Issue 14, cases 5 and 6: registry ids by a documented rule; config and registry files read with
// limits (regular files only, a size cap, a clear error).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "../temp_path.hpp"
#include "herd/core/ids.hpp"
#include "herd/gateway/config.hpp"
#include "herd/gateway/registry.hpp"

using herd::gateway::collar_registry;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
std::string registry_error(const std::string& body) {
  auto reg = collar_registry::parse_csv("collar_id,animal_id,valid_from\n" + body, "r.csv");
  REQUIRE_FALSE(reg.ok());
  return reg.err().message;
}
}  // namespace

TEST_CASE("registry ids that would corrupt Kafka keys or never match a topic are refused with their line") {
  // Terminal escape in an animal id (went straight into Kafka keys before).
  CHECK(contains(registry_error("C-1,cow\x1b[2J,2026-01-01\n"), "r.csv:2: animal_id must be 1-64"));
  CHECK(contains(registry_error("C-1,A,2026-01-01\nC-2," + std::string(100000, 'x') + ",2026-01-01\n"),
                 "r.csv:3: animal_id must be 1-64"));
  // A collar id with a space or a '/' can never be named by farm/<farm>/collar/<collar>/telemetry.
  CHECK(contains(registry_error("collar 1,A,2026-01-01\n"), "r.csv:2: collar_id must be 1-64"));
  CHECK(contains(registry_error("a/b,A,2026-01-01\n"), "r.csv:2: collar_id"));
  // 15 digits: an ISO 11784 code, checked as one.
  CHECK(contains(registry_error("C-1,000123456789012,2026-01-01\n"), "ISO 11784"));
  CHECK(contains(registry_error("C-1,276999999999999,2026-01-01\n"), "274877906943"));
  CHECK(collar_registry::parse_csv("collar_id,animal_id,valid_from\nC-1:a.b_c,276098106123456,2026-01-01\n"
                                   "C-2,DE0123456789,2026-01-01\nC-3,cow-17,2026-01-01\n", "ok.csv").ok());
}

TEST_CASE("the animal id rule") {
  using herd::core::animal_id_problem;
  CHECK_FALSE(animal_id_problem("276098106123456"));
  CHECK_FALSE(animal_id_problem("999274877906943"));
  CHECK(animal_id_problem("999274877906944"));
  CHECK(animal_id_problem(""));
  CHECK(animal_id_problem("a b"));
  CHECK(animal_id_problem(std::string(65, 'a')));
  CHECK_FALSE(animal_id_problem(std::string(64, 'a')));
  CHECK_FALSE(animal_id_problem("12345678901234"));  // 14 digits: not an ISO 11784 code, just an id
}

TEST_CASE("a registry or config path that is not a regular file is refused, not read forever") {
  herd::test::scratch_dir dir;
  auto reg = collar_registry::load_csv("/dev/zero");
  REQUIRE_FALSE(reg.ok());
  CHECK(contains(reg.err().message, "/dev/zero: the collar registry is not a regular file (a character device)"));
  auto cfg = herd::gateway::load_config("/dev/zero");
  REQUIRE_FALSE(cfg.ok());
  CHECK(contains(cfg.err().message, "/dev/zero: the config file is not a regular file"));
  const auto fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto from_fifo = collar_registry::load_csv(fifo);  // must not wait for a writer
  REQUIRE_FALSE(from_fifo.ok());
  CHECK(contains(from_fifo.err().message, "(a FIFO)"));
  auto from_dir = herd::gateway::load_config(dir.file(""));
  REQUIRE_FALSE(from_dir.ok());
  CHECK(contains(from_dir.err().message, "(a directory)"));
  auto missing = collar_registry::load_csv(dir.file("missing.csv"));
  REQUIRE_FALSE(missing.ok());
  CHECK(contains(missing.err().message, "cannot read the collar registry: No such file"));
}

TEST_CASE("oversize config and registry files are refused with their size and the limit") {
  herd::test::scratch_dir dir;
  const auto big = dir.file("big.toml");
  {
    std::ofstream out(big);
    out << "# " << std::string(herd::gateway::k_max_config_bytes, 'x') << "\n";
  }
  auto cfg = herd::gateway::load_config(big);
  REQUIRE_FALSE(cfg.ok());
  CHECK(contains(cfg.err().message, "more than the limit of 1048576"));
  const auto csv = dir.file("big.csv");
  {
    std::ofstream out(csv);
    out << "collar_id,animal_id,valid_from\n";
    out.seekp(static_cast<std::streamoff>(herd::gateway::k_max_registry_bytes) + 10);
    out << "\n";
  }
  auto reg = collar_registry::load_csv(csv);
  REQUIRE_FALSE(reg.ok());
  CHECK(contains(reg.err().message, "more than the limit of 67108864"));
}
