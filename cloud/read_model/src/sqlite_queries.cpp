#include "herd/read_model/sqlite_queries.hpp"

#include <sqlite3.h>

#include <filesystem>

#include "herd/sqlite/sqlite_db.hpp"
#include "sqlite_rows.hpp"

namespace herd::read_model {
namespace {

using namespace detail;  // the row codecs of sqlite_rows.hpp
using sqlite::exec;
using sqlite::sqlite_error;
using sqlite::statement;

// A deferred read transaction: every statement inside sees one snapshot (WAL readers never block
// the projector, and the projector never blocks them).
class read_txn {
 public:
  explicit read_txn(sqlite3* db) : db_(db) { rc_ = exec(db_, "BEGIN"); }
  ~read_txn() {
    if (rc_ == SQLITE_OK) exec(db_, "COMMIT");
  }
  read_txn(const read_txn&) = delete;
  read_txn& operator=(const read_txn&) = delete;
  int rc() const { return rc_; }

 private:
  sqlite3* db_;
  int rc_;
};

class sqlite_queries final : public queries {
 public:
  sqlite3* db = nullptr;
  statement an_select, co_select, ev_animal, al_by_animal, al_active, al_all, an_count, al_count, pr_all, adv;

  ~sqlite_queries() override {
    an_select = {};
    co_select = {};
    ev_animal = {};
    al_by_animal = {};
    al_active = {};
    al_all = {};
    an_count = {};
    al_count = {};
    pr_all = {};
    adv = {};
    if (db) sqlite3_close(db);
  }

  const char* backend() const override { return "sqlite"; }

  void prepare() {
    an_select = statement(db, std::string("SELECT ") + k_animal_columns + " FROM animals WHERE animal_id = ?1");
    co_select = statement(db, std::string("SELECT ") + k_collar_columns +
                                  " FROM collars WHERE animal_id = ?1 ORDER BY collar_id");
    ev_animal = statement(db, std::string("SELECT ") + k_event_columns +
                                  " FROM events WHERE animal_id = ?1 AND occurred_at_us >= ?2 AND "
                                  "occurred_at_us < ?3 AND store_seq > ?4 ORDER BY store_seq LIMIT ?5");
    // ?1 animal ('' = any), ?2 active only, ?3 kind ('' = any), ?4 min severity, ?5 updated since,
    // ?6 from, ?7 to, ?8 limit. Three variants so the planner can use alerts_by_animal /
    // alerts_by_status (an "?1 = '' OR animal_id = ?1" term would hide the index from it).
    const std::string cols = std::string("SELECT ") + k_alert_columns + " FROM alerts WHERE ";
    const std::string rest =
        "(?2 = 0 OR status = 'active') AND (?3 = '' OR kind = ?3) "
        "AND severity >= ?4 AND updated_at_us >= ?5 AND raised_at_us < ?7 "
        "AND (resolved_at_us IS NULL OR resolved_at_us >= ?6) "
        "ORDER BY severity DESC, raised_at_us DESC, alert_id LIMIT ?8";
    al_by_animal = statement(db, cols + "animal_id = ?1 AND " + rest);
    al_active = statement(db, cols + "status = 'active' AND ?1 = '' AND " + rest);
    al_all = statement(db, cols + "?1 = '' AND " + rest);
    an_count = statement(db, "SELECT count(*) FROM animals");
    al_count = statement(db,
        "SELECT kind, severity, count(*) FROM alerts WHERE status = 'active' "
        "GROUP BY kind, severity ORDER BY kind, severity");
    adv = statement(db,
        "SELECT topic, kafka_partition, boundary_ms, kafka_offset, occurred_at_us, ctx_at_ms, temp_excess_centi, "
        "rum_drop_pct, temp_vs_recent_centi, rum6_drop_pct, animals FROM advances WHERE topic = ?1 AND "
        "kafka_partition = ?2 AND occurred_at_us <= ?3 ORDER BY kafka_offset, boundary_ms");
    pr_all = statement(db, std::string("SELECT ") + k_progress_columns +
                               " FROM progress ORDER BY topic, kafka_partition");
  }

  core::result<std::optional<animal_row>> animal(const std::string& animal_id) override {
    read_txn t(db);
    if (t.rc() != SQLITE_OK) return sqlite_error(db, t.rc(), "read model: begin");
    an_select.bind(1, animal_id);
    int rc = an_select.step();
    if (rc == SQLITE_DONE) {
      an_select.reset();
      return std::optional<animal_row>{};
    }
    if (rc != SQLITE_ROW) {
      an_select.reset();
      return sqlite_error(db, rc, "read animal");
    }
    animal_row a = animal_from(an_select);
    an_select.reset();
    co_select.bind(1, animal_id);
    auto collars = read_all<collar_row>(db, co_select, collar_from, "read collars");
    if (!collars) return collars.err();
    a.collars = std::move(*collars);
    return std::optional<animal_row>{std::move(a)};
  }

  core::result<std::vector<alert_row>> alerts(const alert_filter& f) override {
    statement& al_filter = !f.animal_id.empty() ? al_by_animal : f.active_only ? al_active : al_all;
    al_filter.bind(1, f.animal_id);
    al_filter.bind(2, std::int64_t{f.active_only ? 1 : 0});
    al_filter.bind(3, f.kind);
    al_filter.bind(4, std::int64_t{f.min_severity});
    al_filter.bind(5, f.updated_since_us);
    al_filter.bind(6, f.from_us);
    al_filter.bind(7, f.to_us);
    al_filter.bind(8, static_cast<std::int64_t>(f.limit));
    return read_all<alert_row>(db, al_filter, alert_from, "read alerts");
  }

  core::result<std::vector<stored_event>> animal_events(const std::string& animal_id, std::int64_t from_us,
                                                        std::int64_t to_us, std::int64_t after_store_seq,
                                                        std::size_t limit) override {
    ev_animal.bind(1, animal_id);
    ev_animal.bind(2, from_us);
    ev_animal.bind(3, to_us);
    ev_animal.bind(4, after_store_seq);
    ev_animal.bind(5, static_cast<std::int64_t>(limit));
    return read_all<stored_event>(db, ev_animal, event_from, "read animal events");
  }

  core::result<std::uint64_t> count_animals() override {
    const int rc = an_count.step();
    const auto n = rc == SQLITE_ROW ? static_cast<std::uint64_t>(an_count.column_int(0)) : 0;
    an_count.reset();
    if (rc != SQLITE_ROW) return sqlite_error(db, rc, "count animals");
    return n;
  }

  core::result<std::vector<alert_count>> count_active_alerts() override {
    std::vector<alert_count> out;
    int rc = 0;
    while ((rc = al_count.step()) == SQLITE_ROW) {
      out.push_back({al_count.column_text(0), static_cast<std::int32_t>(al_count.column_int(1)),
                     static_cast<std::uint64_t>(al_count.column_int(2))});
    }
    al_count.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "count alerts");
    return out;
  }

  core::result<std::vector<advance_row>> advances(const std::string& topic, std::int32_t partition,
                                                  std::int64_t up_to_occurred_us) override {
    adv.bind(1, topic);
    adv.bind(2, std::int64_t{partition});
    adv.bind(3, up_to_occurred_us);
    std::vector<advance_row> out;
    int rc = 0;
    while ((rc = adv.step()) == SQLITE_ROW) {
      advance_row a;
      a.topic = adv.column_text(0);
      a.partition = static_cast<std::int32_t>(adv.column_int(1));
      a.boundary_ms = adv.column_int(2);
      a.offset = adv.column_int(3);
      a.occurred_at_us = adv.column_int(4);
      a.ctx_at_ms = adv.column_int(5);
      a.temp_excess_centi = static_cast<std::int32_t>(adv.column_int(6));
      a.rum_drop_pct = static_cast<std::int32_t>(adv.column_int(7));
      a.temp_vs_recent_centi = static_cast<std::int32_t>(adv.column_int(8));
      a.rum6_drop_pct = static_cast<std::int32_t>(adv.column_int(9));
      a.animals = static_cast<std::int32_t>(adv.column_int(10));
      out.push_back(std::move(a));
    }
    adv.reset();
    if (rc != SQLITE_DONE) return sqlite_error(db, rc, "read advances");
    return out;
  }

  core::result<std::vector<partition_progress>> progress() override {
    return read_all<partition_progress>(db, pr_all, progress_from, "read progress");
  }
};

}  // namespace

core::result<std::unique_ptr<queries>> open_sqlite_queries(const sqlite_options& options) {
  std::error_code ec;
  if (!std::filesystem::exists(options.path, ec)) {
    return core::error::retriable("read model: " + options.path + " does not exist (yet): is the projector running?");
  }
  auto q = std::make_unique<sqlite_queries>();
  int rc = sqlite3_open_v2(options.path.c_str(), &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(q->db, rc, "read model: open " + options.path + " read-only");
  sqlite3_extended_result_codes(q->db, 1);
  sqlite3_busy_timeout(q->db, static_cast<int>(options.busy_timeout_ms));
  if ((rc = exec(q->db, "PRAGMA query_only = ON")) != SQLITE_OK) return sqlite_error(q->db, rc, "read model: pragma");
  statement v;
  try {
    v = statement(q->db, "SELECT value FROM meta WHERE key = 'schema_version'");
  } catch (const std::exception& e) {
    return core::error::fatal("read model: " + options.path + " is not a read model: " + e.what());
  }
  rc = v.step();
  if (rc == SQLITE_DONE) return core::error::retriable("read model: " + options.path + " is being created");
  if (rc != SQLITE_ROW) return sqlite_error(q->db, rc, "read model: schema version");
  if (v.column_text(0) != std::to_string(sqlite_schema_version)) {
    return core::error::fatal("read model: schema version " + v.column_text(0) + " in " + options.path +
                              ", this build reads " + std::to_string(sqlite_schema_version));
  }
  v = {};
  try {
    q->prepare();
  } catch (const std::exception& e) {
    return core::error::fatal(std::string("read model: ") + e.what());
  }
  return std::unique_ptr<queries>(std::move(q));
}

}  // namespace herd::read_model
