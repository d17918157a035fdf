#pragma once
// The PostgreSQL store's classes (open_pg_store() in pg_store.hpp makes them).
#include <memory>

#include "herd/pg/connection.hpp"
#include "herd/read_model/pg_store.hpp"

namespace herd::read_model::pg_detail {

class pg_store final : public store {
 public:
  explicit pg_store(std::unique_ptr<pg::connection> c) : conn_(std::move(c)) {}

  const char* backend() const override { return "postgresql"; }
  core::result<std::unique_ptr<store_txn>> begin() override;
  core::result<std::vector<partition_progress>> load_progress() override;
  core::result<std::vector<stored_event>> read_events(std::int64_t after_store_seq,
                                                      std::size_t limit) override;
  core::result<std::vector<stored_event>> animal_events(const std::string& animal_id,
                                                        std::int64_t from_us, std::int64_t to_us,
                                                        std::int64_t after_store_seq,
                                                        std::size_t limit) override;
  core::result<std::vector<animal_row>> read_animals(const std::string& after_animal_id,
                                                     std::size_t limit) override;
  core::result<std::vector<std::string>> partition_animals(const std::string& topic,
                                                           std::int32_t partition) override;
  core::result<std::vector<alert_row>> read_alerts(const std::string& after_alert_id,
                                                   std::size_t limit) override;
  core::result<std::vector<outbox_message>> read_outbox(std::int64_t after_seq,
                                                        std::size_t limit) override;
  core::status delete_outbox(std::int64_t through_seq) override;
  core::status delete_outbox_seqs(std::span<const std::int64_t> seqs) override;
  core::result<bool> relay_lease() override;
  core::result<std::uint64_t> prune_events(std::int64_t before_us, std::size_t limit) override;
  core::result<store_stats> stats() override;

  // A read or write outside a transaction: reconnects first if the link had dropped.
  core::result<pg::result> run(const pg::statement& s, const pg::params& p);
  pg::connection& connection() { return *conn_; }

 private:
  std::unique_ptr<pg::connection> conn_;
};

class pg_txn final : public store_txn {
 public:
  pg_txn(pg::connection& c, pg::transaction t) : conn_(c), txn_(std::move(t)) {}

  core::result<bool> claim(const std::string& topic, std::int32_t partition,
                           std::int64_t expected_next_offset) override;
  core::result<std::vector<bool>> append_events(std::span<const stored_event> events) override;
  core::result<std::vector<std::optional<animal_row>>> load_animals(
      std::span<const std::string> animal_ids) override;
  core::status upsert_animals(std::span<const animal_row> animals) override;
  core::status upsert_alerts(std::span<const alert_row> alerts) override;
  core::status append_outbox(std::span<const outbox_message> messages) override;
  core::status append_advances(std::span<const advance_row> rows) override;
  core::status add_progress(std::span<const partition_progress> deltas) override;
  core::status commit() override;

 private:
  pg::connection& conn_;
  pg::transaction txn_;
  bool committed_ = false;
};

}  // namespace herd::read_model::pg_detail
