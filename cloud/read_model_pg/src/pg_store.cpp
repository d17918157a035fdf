#include "herd/read_model/pg_store.hpp"

#include <string>

#include "herd/pg/connection.hpp"
#include "pg_rows.hpp"
#include "pg_schema.hpp"
#include "pg_statements.hpp"
#include "pg_store_impl.hpp"

namespace herd::read_model {
namespace o = herd::pg::oids;
namespace pg_detail {
namespace {

core::status create_schema(pg::connection& c) {
  auto t = pg::transaction::begin(c);
  if (!t) return t.err();
  pg::params lock;
  lock.int8(k_schema_lock);
  if (auto r = c.query("SELECT pg_advisory_xact_lock($1::bigint)", lock); !r) return r.err();
  if (auto s = c.execute(k_schema); !s) return s;
  auto v = c.query("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!v) return v.err();
  const std::string found = v->rows() == 1 ? v->string(0, 0) : std::string("(none)");
  if (found != std::to_string(pg_schema_version)) {
    return core::error::fatal("postgresql: the database holds read-model schema version " + found +
                              ", this build reads version " +
                              std::to_string(pg_schema_version));
  }
  return t->commit();
}

}  // namespace

core::result<pg::result> pg_store::run(const pg::statement& s, const pg::params& p) {
  if (conn_->broken()) {
    if (auto st = conn_->reconnect(); !st) return st.err();
  }
  return conn_->run(s, p);
}

core::result<std::unique_ptr<store_txn>> pg_store::begin() {
  if (conn_->broken()) {
    if (auto st = conn_->reconnect(); !st) return st.err();
  }
  if (conn_->in_transaction()) {  // store.hpp: at most one store_txn per store
    return core::error::fatal("postgresql: begin() while a transaction of this store is open");
  }
  auto t = pg::transaction::begin(*conn_);
  if (!t) return t.err();
  return std::unique_ptr<store_txn>(std::make_unique<pg_txn>(*conn_, std::move(*t)));
}

core::result<std::vector<partition_progress>> pg_store::load_progress() {
  auto r = run(pg_detail::load_progress, {});
  if (!r) return r.err();
  return progress_from(*r);
}

core::result<std::vector<stored_event>> pg_store::read_events(std::int64_t after_store_seq,
                                                              std::size_t limit) {
  pg::params p;
  p.int8(after_store_seq).int8(static_cast<std::int64_t>(limit));
  auto r = run(pg_detail::read_events, p);
  if (!r) return r.err();
  return events_from(*r);
}

core::result<std::vector<stored_event>> pg_store::animal_events(const std::string& animal_id,
                                                                std::int64_t from_us,
                                                                std::int64_t to_us,
                                                                std::int64_t after_store_seq,
                                                                std::size_t limit) {
  if (animal_id.find('\0') != std::string::npos) return std::vector<stored_event>{};
  pg::params p;
  p.text(animal_id).int8(from_us).int8(to_us).int8(after_store_seq).int8(
      static_cast<std::int64_t>(limit));
  auto r = run(pg_detail::animal_events, p);
  if (!r) return r.err();
  return events_from(*r);
}

core::result<std::vector<animal_row>> pg_store::read_animals(const std::string& after_animal_id,
                                                             std::size_t limit) {
  if (auto s = check_text(after_animal_id, "after_animal_id", "read_animals"); !s) return s.err();
  pg::params p;
  p.text(after_animal_id).int8(static_cast<std::int64_t>(limit));
  auto r = run(pg_detail::read_animals, p);
  if (!r) return r.err();
  return animals_from(*r);
}

core::result<std::vector<std::string>> pg_store::partition_animals(const std::string& topic,
                                                                  std::int32_t partition) {
  if (topic.find('\0') != std::string::npos) return std::vector<std::string>{};
  pg::params p;
  p.text(topic).int4(partition);
  auto r = run(pg_detail::partition_animals, p);
  if (!r) return r.err();
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) ids.push_back(r->string(i, 0));
  return ids;
}

core::result<std::vector<alert_row>> pg_store::read_alerts(const std::string& after_alert_id,
                                                           std::size_t limit) {
  if (auto s = check_text(after_alert_id, "after_alert_id", "read_alerts"); !s) return s.err();
  pg::params p;
  p.text(after_alert_id).int8(static_cast<std::int64_t>(limit));
  auto r = run(pg_detail::read_alerts, p);
  if (!r) return r.err();
  return alerts_from(*r);
}

core::result<std::vector<outbox_message>> pg_store::read_outbox(std::int64_t after_seq,
                                                                std::size_t limit) {
  pg::params p;
  p.int8(after_seq).int8(static_cast<std::int64_t>(limit));
  auto r = run(pg_detail::read_outbox, p);
  if (!r) return r.err();
  return outbox_from(*r);
}

core::status pg_store::delete_outbox(std::int64_t through_seq) {
  pg::params p;
  p.int8(through_seq);
  auto r = run(pg_detail::delete_outbox, p);
  if (!r) return r.err();
  return core::ok_v;
}

core::status pg_store::delete_outbox_seqs(std::span<const std::int64_t> seqs) {
  if (seqs.empty()) return core::ok_v;
  pg::array_param a(o::int8);
  for (const std::int64_t s : seqs) a.add_int8(s);
  pg::params p;
  p.array(a);
  auto r = run(pg_detail::delete_outbox_seqs, p);
  if (!r) return r.err();
  return core::ok_v;
}

core::result<bool> pg_store::relay_lease() {
  auto r = run(pg_detail::relay_lease, {});
  if (!r) return r.err();
  return r->rows() == 1 && r->int64(0, 0) == 1;
}

core::result<std::uint64_t> pg_store::prune_events(std::int64_t before_us, std::size_t limit) {
  pg::params p;
  p.int8(before_us).int8(static_cast<std::int64_t>(limit));
  auto r = run(pg_detail::prune_events, p);
  if (!r) return r.err();
  return r->affected();
}

core::result<store_stats> pg_store::stats() {
  auto r = run(pg_detail::stats, {});
  if (!r) return r.err();
  store_stats s;
  s.events = static_cast<std::uint64_t>(r->int64(0, 0));
  s.animals = static_cast<std::uint64_t>(r->int64(0, 1));
  s.alerts = static_cast<std::uint64_t>(r->int64(0, 2));
  s.outbox = static_cast<std::uint64_t>(r->int64(0, 3));
  s.bytes = static_cast<std::uint64_t>(r->int64(0, 4));
  return s;
}

}  // namespace pg_detail

core::result<std::unique_ptr<store>> open_pg_store(const pg_options& options) {
  auto c = pg::connection::open(options.conninfo, options.application_name);
  if (!c) return c.err();
  pg::connection& conn = **c;
  const std::string timeouts = "SET lock_timeout = " + std::to_string(options.lock_timeout_ms) +
                               "; SET statement_timeout = " +
                               std::to_string(options.statement_timeout_ms);
  if (auto s = conn.execute(timeouts); !s) return s.err();
  conn.set_session_setup(timeouts);
  if (auto s = pg_detail::create_schema(conn); !s) return s.err();
  for (const pg::statement* st : pg_detail::all_statements()) {
    // A table or column missing from an existing database: not a read model of this version.
    if (auto s = conn.prepare(*st); !s) {
      return s.err().kind == core::error_kind::retriable ? s.err() : core::error::fatal(s.err().message);
    }
  }
  return std::unique_ptr<store>(std::make_unique<pg_detail::pg_store>(std::move(*c)));
}

}  // namespace herd::read_model
