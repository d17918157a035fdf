#pragma once
// The SQLite read model's store and transaction classes, shared by sqlite_store.cpp (the store:
// statements, reads, open_sqlite_store) and sqlite_txn.cpp (one batch's writes). Not installed:
// herd/read_model/sqlite_store.hpp is the public surface.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "herd/read_model/sqlite_store.hpp"
#include "herd/read_model/store.hpp"
#include "herd/sqlite/sqlite_db.hpp"

namespace herd::read_model::detail {

using sqlite::statement;

class sqlite_store;

class sqlite_txn final : public store_txn {
 public:
  explicit sqlite_txn(sqlite_store& s) : s_(s) {}
  ~sqlite_txn() override;

  core::result<bool> claim(const std::string& topic, std::int32_t partition,
                           std::int64_t expected_next_offset) override;
  core::result<std::vector<bool>> append_events(std::span<const stored_event> events) override;
  core::result<std::vector<std::optional<animal_row>>> load_animals(
      std::span<const std::string> animal_ids) override;
  core::status upsert_animals(std::span<const animal_row> animals) override;
  core::status upsert_alerts(std::span<const alert_row> alerts) override;
  core::status append_outbox(std::span<const outbox_message> messages) override;
  core::status add_progress(std::span<const partition_progress> deltas) override;
  core::status append_advances(std::span<const advance_row> rows) override;
  core::status commit() override;

 private:
  sqlite_store& s_;
  bool done_ = false;
};

class sqlite_store final : public store {
 public:
  sqlite3* db = nullptr;
  std::string path;
  bool txn_open = false;
  statement begin_st, commit_st, rollback_st;
  statement ev_insert, ev_after, ev_animal, ev_prune, ev_count;
  statement an_select, an_upsert, an_after, an_partition, co_select, co_delete, co_insert, an_count;
  statement al_upsert, al_after, al_count;
  statement ob_insert, ob_after, ob_delete, ob_delete_one, ob_count;
  statement pr_select_one, pr_upsert, pr_all;
  statement adv_insert;

  ~sqlite_store() override;
  const char* backend() const override { return "sqlite"; }
  void prepare();
  core::result<std::vector<collar_row>> collars_of(const std::string& animal_id);
  core::result<std::unique_ptr<store_txn>> begin() override;
  core::result<std::vector<partition_progress>> load_progress() override;
  core::result<std::vector<stored_event>> read_events(std::int64_t after_store_seq,
                                                      std::size_t limit) override;
  core::result<std::vector<stored_event>> animal_events(const std::string& animal_id, std::int64_t from_us,
                                                        std::int64_t to_us, std::int64_t after_store_seq,
                                                        std::size_t limit) override;
  core::result<std::vector<animal_row>> read_animals(const std::string& after_animal_id,
                                                     std::size_t limit) override;
  core::result<std::vector<std::string>> partition_animals(const std::string& topic,
                                                           std::int32_t partition) override;
  core::result<std::vector<alert_row>> read_alerts(const std::string& after_alert_id,
                                                   std::size_t limit) override;
  core::result<std::vector<outbox_message>> read_outbox(std::int64_t after_seq, std::size_t limit) override;
  core::status delete_outbox(std::int64_t through_seq) override;
  core::status delete_outbox_seqs(std::span<const std::int64_t> seqs) override;
  core::result<bool> relay_lease() override { return true; }  // one projector per SQLite file
  core::status exec_status(const char* sql, std::string_view what);
  core::result<std::uint64_t> prune_events(std::int64_t before_us, std::size_t limit) override;
  core::result<std::uint64_t> count(statement& st, std::string_view what);
  core::result<store_stats> stats() override;
};

}  // namespace herd::read_model::detail
