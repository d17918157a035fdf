// herd-api's strict config: the sample loads, mistakes are named, the token file's mode is checked.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "herd/api/config.hpp"
#include "herd/test_support/temp_dir.hpp"

TEST_CASE("api config: the sample file loads, with loopback and the documented defaults") {
  auto c = herd::api::load_config(HERD_SOURCE_DIR "/config/herd-api.sample.toml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK(c->listen_host == "127.0.0.1");
  CHECK(c->listen_port == 8090);
  CHECK(c->backend == "sqlite");
  CHECK(c->bootstrap == "127.0.0.1:9092");
  CHECK(c->token.empty());
}

TEST_CASE("api config: unknown keys, bad values and missing sections are errors with their key path") {
  auto c = herd::api::parse_config(
      "[api]\nlisten = \"nohost\"\nthreads = 0\nbogus = 1\n[read_model]\nbackend = \"oracle\"\n", "t.toml");
  REQUIRE(!c.ok());
  const auto& m = c.err().message;
  CHECK(m.find("api.listen") != std::string::npos);
  CHECK(m.find("api.threads") != std::string::npos);
  CHECK(m.find("api.bogus: unknown key") != std::string::npos);
  CHECK(m.find("read_model.backend") != std::string::npos);
  CHECK(!herd::api::parse_config("[api]\n", "t.toml").ok());  // read_model is required
  CHECK(!herd::api::parse_config("[read_model]\npath = \"x\"\n[api]\ntoken = \"short\"\n", "t.toml").ok());
}

TEST_CASE("api config: a token is refused from a file others can read") {
  herd::test_support::temp_dir dir;
  const std::string cfg = (dir / "api.toml").string();
  const std::string tok = (dir / "token").string();
  std::ofstream(tok) << "0123456789abcdef0123\n";
  std::ofstream(cfg) << "[api]\ntoken_file = \"" << tok << "\"\n[read_model]\npath = \"x.db\"\n";
  ::chmod(tok.c_str(), 0644);
  auto c = herd::api::load_config(cfg);
  REQUIRE(!c.ok());
  CHECK(c.err().message.find("chmod 600") != std::string::npos);
  ::chmod(tok.c_str(), 0600);
  c = herd::api::load_config(cfg);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  CHECK(c->token == "0123456789abcdef0123");

  std::ofstream(cfg) << "[api]\ntoken = \"0123456789abcdef0123\"\n[read_model]\npath = \"x.db\"\n";
  ::chmod(cfg.c_str(), 0640);
  CHECK(!herd::api::load_config(cfg).ok());
  ::chmod(cfg.c_str(), 0600);
  CHECK(herd::api::load_config(cfg).ok());
}
