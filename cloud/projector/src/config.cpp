#include "herd/projector/config.hpp"

#include <fstream>
#include <sstream>

#include "herd/core/logging.hpp"
#include "herd/daemon/status_server.hpp"
#include "herd/daemon/toml_reader.hpp"

namespace herd::projector {

using daemon::table_reader;

core::result<projector_config> parse_config(std::string_view toml_text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return core::error::permanent(fmt::format("{}:{}:{}: {}", origin, src.begin.line, src.begin.column,
                                              e.description()));
  }
  projector_config c;
  std::vector<std::string> errors;
  table_reader top(&root, "", errors);

  table_reader pj(top.table("projector"), "projector", errors);
  pj.str("log_level", c.log_level);
  if (!core::parse_log_level(c.log_level)) {
    pj.error("log_level", "must be one of trace, debug, info, warn, error, critical, off");
  }
  pj.finish();

  table_reader kf(top.table("kafka", true), "kafka", errors);
  kf.str("bootstrap", c.kafka.bootstrap, true);
  kf.str("topic", c.kafka.topic);
  kf.str("group_id", c.kafka.group_id);
  kf.str("dlq_topic", c.kafka.dlq_topic);
  if (c.kafka.topic.empty()) kf.error("topic", "must not be empty");
  if (c.kafka.group_id.empty()) kf.error("group_id", "must not be empty");
  if (c.kafka.dlq_topic.empty()) kf.error("dlq_topic", "must not be empty");
  kf.integer("batch_max", c.kafka.batch_max, 1, 1'000'000);
  std::int64_t linger = c.kafka.linger.count();
  kf.integer("linger_ms", linger, 0, 60'000);
  c.kafka.linger = std::chrono::milliseconds(linger);
  std::int64_t bmin = c.kafka.backoff_min.count(), bmax = c.kafka.backoff_max.count();
  kf.integer("backoff_min_ms", bmin, 1, 600'000);
  kf.integer("backoff_max_ms", bmax, 1, 3'600'000);
  if (bmax < bmin) kf.error("backoff_max_ms", "must not be below backoff_min_ms");
  c.kafka.backoff_min = std::chrono::milliseconds(bmin);
  c.kafka.backoff_max = std::chrono::milliseconds(bmax);
  table_reader props(kf.table("properties"), kf.child("properties"), errors);
  props.each([&](const std::string& k, const toml::node& v) {
    if (is_reserved_consumer_property(k)) {
      props.error(k, "is set by herd-projector to keep its guarantees and cannot be overridden");
      return;
    }
    if (v.is_string()) {
      c.kafka.properties[k] = *v.value<std::string>();
    } else if (v.is_integer()) {
      c.kafka.properties[k] = std::to_string(*v.value<std::int64_t>());
    } else if (v.is_boolean()) {
      c.kafka.properties[k] = *v.value<bool>() ? "true" : "false";
    } else {
      props.error(k, "must be a string, integer or boolean");
    }
  });
  kf.finish();

  table_reader rm(top.table("read_model", true), "read_model", errors);
  rm.str("backend", c.read_model.backend);
  if (c.read_model.backend == "sqlite") {
    rm.str("path", c.read_model.path, true);
    std::string sync = "normal";
    rm.str("synchronous", sync);
    if (sync != "normal" && sync != "full") rm.error("synchronous", "must be one of normal, full");
    c.read_model.synchronous_full = sync == "full";
    rm.integer("cache_mib", c.read_model.cache_mib, 1, 65'536);
  } else if (c.read_model.backend == "postgresql") {
    rm.str("conninfo", c.read_model.conninfo, true);
    rm.str("application_name", c.read_model.application_name);
    rm.integer("lock_timeout_ms", c.read_model.lock_timeout_ms, 0, 3'600'000);
    rm.integer("statement_timeout_ms", c.read_model.statement_timeout_ms, 0, 3'600'000);
  } else {
    rm.error("backend", "must be one of sqlite, postgresql");
  }
  rm.integer("retention_days", c.read_model.retention_days, 0, 36'500);
  c.kafka.retention_days = c.read_model.retention_days;
  rm.finish();

  table_reader al(top.table("alerts"), "alerts", errors);
  al.str("topic", c.alerts.topic);
  if (c.alerts.topic.empty()) al.error("topic", "must not be empty");
  al.boolean("relay", c.alerts.relay);
  al.integer("max_in_flight", c.alerts.max_in_flight, 1, 100'000);
  al.integer("dedup_scan", c.alerts.dedup_scan, 0, 10'000'000);
  std::int64_t stuck = c.alerts.max_stuck.count();
  al.integer("max_stuck_s", stuck, 1, 86'400);
  c.alerts.max_stuck = std::chrono::seconds(stuck);
  c.kafka.alerts_topic = c.alerts.topic;
  al.finish();

  table_reader mt(top.table("metrics"), "metrics", errors);
  mt.str("listen", c.metrics_listen);
  if (!c.metrics_listen.empty()) {
    if (auto a = daemon::parse_listen_address(c.metrics_listen); !a) mt.error("listen", a.err().message);
  }
  mt.finish();

  table_reader hl(top.table("health"), "health", errors);
  std::int64_t stall = c.max_stall.count();
  hl.integer("max_stall_s", stall, 1, 3600);
  c.max_stall = std::chrono::seconds(stall);
  hl.finish();

  top.finish();
  if (!errors.empty()) {
    std::string msg = origin + ": invalid configuration";
    for (const auto& e : errors) msg += "\n  " + e;
    return core::error::permanent(std::move(msg));
  }
  return c;
}

core::result<projector_config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::error::permanent(path + ": cannot read the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace herd::projector
