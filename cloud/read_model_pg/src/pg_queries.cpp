#include "herd/read_model/pg_queries.hpp"

#include <vector>

#include "herd/pg/connection.hpp"
#include "pg_rows.hpp"

namespace herd::read_model {
namespace {

namespace o = herd::pg::oids;
using pg_detail::alerts_from;
using pg_detail::animals_from;
using pg_detail::events_from;
using pg_detail::progress_from;

#define HERD_Q_ALERT_COLUMNS                                                                   \
  "SELECT alert_id, animal_id, kind, status, severity, raised_at_us, updated_at_us, resolved_at_us, " \
  "acknowledged_at_us, body FROM alerts WHERE "
// $1 animal, $2 active only, $3 kind ('' = any), $4 min severity, $5 updated since, $6 from, $7 to,
// $8 limit. Variants per filter shape so the planner uses alerts_by_animal / alerts_by_status.
#define HERD_Q_ALERT_REST                                                                      \
  " ($2 = 0 OR status = 'active') AND ($3 = '' OR kind = $3) AND severity >= $4 AND "        \
  "updated_at_us >= $5 AND raised_at_us < $7 AND (resolved_at_us IS NULL OR resolved_at_us >= $6) " \
  "ORDER BY severity DESC, raised_at_us DESC, alert_id LIMIT $8"
const std::vector<pg::oid> k_alert_types{o::text, o::int4, o::text, o::int4, o::int8, o::int8, o::int8, o::int8};

const pg::statement q_animal{
    "q_animal",
    "WITH a AS (SELECT * FROM animals WHERE animal_id = $1) "
    "SELECT a.animal_id, a.topic, a.kafka_partition, a.state, a.events_applied, a.last_occurred_at_us, "
    "a.body_temp_c, a.activity_steps, a.rumination_min, c.collar_id, c.last_seq, c.battery_pct, "
    "c.rssi_dbm, c.last_seen_us FROM a LEFT JOIN collars c ON c.animal_id = a.animal_id "
    "ORDER BY a.animal_id, c.collar_id",
    {o::text}};
const pg::statement q_alerts_animal{"q_alerts_animal",
                                    HERD_Q_ALERT_COLUMNS "animal_id = $1 AND" HERD_Q_ALERT_REST, k_alert_types};
const pg::statement q_alerts_active{"q_alerts_active",
                                    HERD_Q_ALERT_COLUMNS "status = 'active' AND $1 = '' AND" HERD_Q_ALERT_REST,
                                    k_alert_types};
const pg::statement q_alerts_all{"q_alerts_all", HERD_Q_ALERT_COLUMNS "$1 = '' AND" HERD_Q_ALERT_REST,
                                 k_alert_types};
const pg::statement q_events{
    "q_events",
    "SELECT store_seq, event_id, animal_id, event_type, occurred_at_us, ingested_at_us, gateway_id, "
    "gateway_seq, envelope, topic, kafka_partition, kafka_offset FROM events WHERE animal_id = $1 AND "
    "occurred_at_us >= $2 AND occurred_at_us < $3 AND store_seq > $4 ORDER BY store_seq LIMIT $5",
    {o::text, o::int8, o::int8, o::int8, o::int8}};
const pg::statement q_count_animals{"q_count_animals", "SELECT count(*) FROM animals", {}};
const pg::statement q_count_alerts{
    "q_count_alerts",
    "SELECT kind, severity, count(*) FROM alerts WHERE status = 'active' GROUP BY kind, severity "
    "ORDER BY kind, severity",
    {}};
const pg::statement q_advances{
    "q_advances",
    "SELECT topic, kafka_partition, boundary_ms, kafka_offset, occurred_at_us, ctx_at_ms, temp_excess_centi, "
    "rum_drop_pct, temp_vs_recent_centi, rum6_drop_pct, animals FROM advances WHERE topic = $1 AND "
    "kafka_partition = $2 AND occurred_at_us <= $3 ORDER BY kafka_offset, boundary_ms",
    {o::text, o::int4, o::int8}};
const pg::statement q_progress{
    "q_progress",
    "SELECT topic, kafka_partition, next_offset, applied, duplicates, unknown_type, rejected, "
    "dead_lettered, watermark_us FROM progress ORDER BY topic, kafka_partition",
    {}};

class pg_queries final : public queries {
 public:
  explicit pg_queries(std::unique_ptr<pg::connection> c) : conn_(std::move(c)) {}
  const char* backend() const override { return "postgresql"; }

  core::result<std::optional<animal_row>> animal(const std::string& animal_id) override {
    if (animal_id.find('\0') != std::string::npos) return std::optional<animal_row>{};
    pg::params p;
    p.text(animal_id);
    auto r = run(q_animal, p);
    if (!r) return r.err();
    auto rows = animals_from(*r);
    if (rows.empty()) return std::optional<animal_row>{};
    return std::optional<animal_row>{std::move(rows.front())};
  }

  core::result<std::vector<alert_row>> alerts(const alert_filter& f) override {
    if (f.animal_id.find('\0') != std::string::npos || f.kind.find('\0') != std::string::npos) {
      return std::vector<alert_row>{};
    }
    pg::params p;
    p.text(f.animal_id);
    p.int4(f.active_only ? 1 : 0);
    p.text(f.kind).int4(f.min_severity).int8(f.updated_since_us).int8(f.from_us).int8(f.to_us).int8(
        static_cast<std::int64_t>(f.limit));
    const pg::statement& s = !f.animal_id.empty() ? q_alerts_animal : f.active_only ? q_alerts_active : q_alerts_all;
    auto r = run(s, p);
    if (!r) return r.err();
    return alerts_from(*r);
  }

  core::result<std::vector<stored_event>> animal_events(const std::string& animal_id, std::int64_t from_us,
                                                        std::int64_t to_us, std::int64_t after_store_seq,
                                                        std::size_t limit) override {
    if (animal_id.find('\0') != std::string::npos) return std::vector<stored_event>{};
    pg::params p;
    p.text(animal_id).int8(from_us).int8(to_us).int8(after_store_seq).int8(static_cast<std::int64_t>(limit));
    auto r = run(q_events, p);
    if (!r) return r.err();
    return events_from(*r);
  }

  core::result<std::uint64_t> count_animals() override {
    auto r = run(q_count_animals, {});
    if (!r) return r.err();
    return static_cast<std::uint64_t>(r->int64(0, 0));
  }

  core::result<std::vector<alert_count>> count_active_alerts() override {
    auto r = run(q_count_alerts, {});
    if (!r) return r.err();
    std::vector<alert_count> out;
    for (int i = 0; i < r->rows(); ++i) {
      out.push_back({r->string(i, 0), static_cast<std::int32_t>(r->int64(i, 1)),
                     static_cast<std::uint64_t>(r->int64(i, 2))});
    }
    return out;
  }

  core::result<std::vector<advance_row>> advances(const std::string& topic, std::int32_t partition,
                                                  std::int64_t up_to_occurred_us) override {
    if (topic.find('\0') != std::string::npos) return std::vector<advance_row>{};
    pg::params p;
    p.text(topic).int4(partition).int8(up_to_occurred_us);
    auto r = run(q_advances, p);
    if (!r) return r.err();
    std::vector<advance_row> out;
    for (int i = 0; i < r->rows(); ++i) {
      advance_row a;
      a.topic = r->string(i, 0);
      a.partition = static_cast<std::int32_t>(r->int64(i, 1));
      a.boundary_ms = r->int64(i, 2);
      a.offset = r->int64(i, 3);
      a.occurred_at_us = r->int64(i, 4);
      a.ctx_at_ms = r->int64(i, 5);
      a.temp_excess_centi = static_cast<std::int32_t>(r->int64(i, 6));
      a.rum_drop_pct = static_cast<std::int32_t>(r->int64(i, 7));
      a.temp_vs_recent_centi = static_cast<std::int32_t>(r->int64(i, 8));
      a.rum6_drop_pct = static_cast<std::int32_t>(r->int64(i, 9));
      a.animals = static_cast<std::int32_t>(r->int64(i, 10));
      out.push_back(std::move(a));
    }
    return out;
  }

  core::result<std::vector<partition_progress>> progress() override {
    auto r = run(q_progress, {});
    if (!r) return r.err();
    return progress_from(*r);
  }

 private:
  core::result<pg::result> run(const pg::statement& s, const pg::params& p) {
    if (conn_->broken()) {
      if (auto st = conn_->reconnect(); !st) return st.err();
    }
    return conn_->run(s, p);
  }
  std::unique_ptr<pg::connection> conn_;
};

}  // namespace

core::result<std::unique_ptr<queries>> open_pg_queries(const pg_options& options) {
  auto c = pg::connection::open(options.conninfo, options.application_name);
  if (!c) return c.err();
  pg::connection& conn = **c;
  const std::string setup = "SET default_transaction_read_only = on; SET statement_timeout = " +
                            std::to_string(options.statement_timeout_ms);
  if (auto s = conn.execute(setup); !s) return s.err();
  conn.set_session_setup(setup);
  auto v = conn.query("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!v) {
    // No meta table: the projector has not created the read model yet.
    if (v.err().kind == core::error_kind::retriable) return v.err();
    return core::error::retriable("postgresql: no read model in this database yet: " + v.err().message);
  }
  const std::string found = v->rows() == 1 ? v->string(0, 0) : std::string("(none)");
  if (found != std::to_string(pg_schema_version)) {
    return core::error::fatal("postgresql: the database holds read-model schema version " + found +
                              ", this build reads version " + std::to_string(pg_schema_version));
  }
  for (const pg::statement* st : {&q_animal, &q_alerts_animal, &q_alerts_active, &q_alerts_all, &q_events,
                                  &q_count_animals, &q_count_alerts, &q_progress, &q_advances}) {
    if (auto s = conn.prepare(*st); !s) {
      return s.err().kind == core::error_kind::retriable ? s.err() : core::error::fatal(s.err().message);
    }
  }
  return std::unique_ptr<queries>(std::make_unique<pg_queries>(std::move(*c)));
}

}  // namespace herd::read_model
