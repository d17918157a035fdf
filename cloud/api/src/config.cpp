#include "herd/api/config.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "herd/core/logging.hpp"
#include "herd/daemon/toml_reader.hpp"

namespace herd::api {

using daemon::table_reader;

core::result<api_config> parse_config(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return core::error::permanent(fmt::format("{}:{}:{}: {}", origin, src.begin.line, src.begin.column,
                                              e.description()));
  }
  api_config c;
  std::vector<std::string> errors;
  table_reader top(&root, "", errors);

  table_reader a(top.table("api"), "api", errors);
  std::string listen = c.listen_host + ":" + std::to_string(c.listen_port);
  a.str("listen", listen);
  if (const auto colon = listen.rfind(':'); colon == std::string::npos || colon == 0) {
    a.error("listen", "must be host:port, e.g. 127.0.0.1:8090");
  } else {
    c.listen_host = listen.substr(0, colon);
    if (c.listen_host.size() > 2 && c.listen_host.front() == '[' && c.listen_host.back() == ']') {
      c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
    }
    const std::string port = listen.substr(colon + 1);
    int p = -1;
    try {
      std::size_t used = 0;
      p = std::stoi(port, &used);
      if (used != port.size()) p = -1;
    } catch (const std::exception&) {
      p = -1;
    }
    if (p < 0 || p > 65535) a.error("listen", "port must be 0-65535");
    else c.listen_port = static_cast<std::uint16_t>(p);
  }
  a.integer("threads", c.threads, 1, 64);
  a.str("log_level", c.log_level);
  if (!core::parse_log_level(c.log_level)) {
    a.error("log_level", "must be one of trace, debug, info, warn, error, critical, off");
  }
  a.str("token", c.token);
  a.str("token_file", c.token_file);
  if (!c.token.empty() && !c.token_file.empty()) a.error("token", "give token or token_file, not both");
  if (!c.token.empty() && c.token.size() < 16) a.error("token", "must be at least 16 characters");
  a.boolean("token_for_reads", c.token_for_reads);
  a.str("animal_scheme", c.animal_scheme);
  if (c.animal_scheme.empty()) a.error("animal_scheme", "must not be empty");
  a.integer("max_range_days", c.max_range_days, 1, 3660);
  a.integer("max_page", c.max_page, 1, 100'000);
  a.integer("recent_days", c.recent_days, 1, 366);
  a.integer("dashboard_refresh_s", c.dashboard_refresh_s, 2, 3600);
  a.finish();

  table_reader rm(top.table("read_model", true), "read_model", errors);
  rm.str("backend", c.backend);
  rm.str("path", c.path);
  rm.str("conninfo", c.conninfo);
  rm.str("application_name", c.application_name);
  rm.integer("statement_timeout_ms", c.statement_timeout_ms, 0, 600'000);
  if (c.backend == "sqlite") {
    if (c.path.empty()) rm.error("path", "is required for backend = \"sqlite\"");
  } else if (c.backend == "postgresql") {
    if (c.conninfo.empty()) rm.error("conninfo", "is required for backend = \"postgresql\"");
  } else {
    rm.error("backend", "must be \"sqlite\" or \"postgresql\"");
  }
  rm.finish();

  if (const toml::table* kt = top.table("kafka")) {
    table_reader kf(kt, "kafka", errors);
    kf.str("bootstrap", c.bootstrap, true);
    kf.str("topic", c.topic);
    if (c.topic.empty()) kf.error("topic", "must not be empty");
    table_reader props(kf.table("properties"), kf.child("properties"), errors);
    props.each([&](const std::string& k, const toml::node& v) {
      if (v.is_string()) c.kafka_properties[k] = *v.value<std::string>();
      else if (v.is_integer()) c.kafka_properties[k] = std::to_string(*v.value<std::int64_t>());
      else if (v.is_boolean()) c.kafka_properties[k] = *v.value<bool>() ? "true" : "false";
      else props.error(k, "must be a string, integer or boolean");
    });
    props.finish();
    kf.finish();
  }
  top.finish();
  if (!errors.empty()) {
    std::string msg = origin + ": invalid configuration:";
    for (const auto& e : errors) msg += "\n  " + e;
    return core::error::permanent(msg);
  }
  return c;
}

namespace {

// A file holding a secret must not be readable by group or others (HERD: the token guards writes).
core::status check_secret_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return core::error::permanent(what + " " + path + ": cannot stat");
  if ((st.st_mode & 077) != 0) {
    return core::error::permanent(fmt::format("{} {} holds the API token but has mode {:04o}: chmod 600 it", what,
                                              path, st.st_mode & 07777));
  }
  return core::ok_v;
}

}  // namespace

core::result<api_config> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::error::permanent("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = parse_config(ss.str(), path);
  if (!c) return c;
  if (!c->token.empty()) {
    if (auto st = check_secret_file(path, "config file"); !st) return st.err();
  }
  if (!c->token_file.empty()) {
    if (auto st = check_secret_file(c->token_file, "token file"); !st) return st.err();
    std::ifstream t(c->token_file);
    std::string token;
    std::getline(t, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16) return core::error::permanent("token file " + c->token_file + ": token shorter than 16 characters");
    c->token = token;
  }
  return c;
}

}  // namespace herd::api
