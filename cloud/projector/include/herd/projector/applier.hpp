#pragma once
// The projector's core, without Kafka: turns a batch of consumed records into ONE read-model
// transaction (store.hpp). Per record, in order: decode the envelope (undecodable -> dead letter),
// refuse an envelope whose ingested_at is ahead of this projector's wall clock by more than
// core::k_max_clock_lead_ms (future-dated -> dead letter, not stored), append to the event store
// (duplicate event_id -> counted, nothing else), fold it into the animal's state with
// rules::apply (unknown type -> kept, counted, not applied; rejected -> a poison pill: dead
// letter), advance the partition's animals when its event-time watermark crosses a 10-minute
// boundary (rules::advance), then write the touched animals, their alert rows and the partitions'
// progress (next offset, watermark, counters) in the same transaction.
//
// Two steps so that dead letters are never lost: prepare() builds the transaction and returns
// the dead letters; the caller produces them (and waits for the DLQ's acks); then commit().
// A crash in between re-consumes the batch: a dead letter may be produced twice, never lost.
//
// Thread: one applier per projector thread (it owns a store, which is one connection).
// Caches: the decoded states of the animals of the partitions it works on, valid while this
// process is the only writer of those partitions (forget_partition() on revoke); a failed or
// abandoned batch leaves the cache as it was.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "herd/core/clock.hpp"
#include "herd/core/result.hpp"
#include "herd/read_model/store.hpp"
#include "herd/rules/alert.hpp"
#include "herd/rules/animal_state.hpp"
#include "herd/rules/fold.hpp"

namespace herd::projector {

// One consumed Kafka record (copied out of librdkafka's message).
struct record {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  // What judges whether the envelope is future-dated (applier::set_clock), ms since the Unix
  // epoch, 0 = not known: the broker's append time when the topic has message.timestamp.type =
  // LogAppendTime (the same on every read of the record), else the wall clock when this projector
  // polled it (so a retried batch judges as its first attempt did).
  std::int64_t log_append_ms = 0;
  std::int64_t polled_ms = 0;
};

// A record for herd.events.projector.dlq: the original bytes and why.
struct dead_letter {
  record original;
  std::string reason;
};

// What one batch did (deltas), for metrics and logs.
struct batch_counts {
  std::uint64_t records = 0;
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t unknown_type = 0;
  std::uint64_t rejected = 0;
  std::uint64_t undecodable = 0;
  std::uint64_t future_dated = 0;   // ingested_at too far ahead of the wall clock (set_clock)
  std::uint64_t dead_lettered = 0;  // undecodable + future_dated + rejected
  std::uint64_t advances = 0;       // rules::advance calls
  std::uint64_t alert_changes = 0;
  std::uint64_t animals_written = 0;
};

// Event time between two rules::advance rounds of a partition (rules/fold.hpp).
inline constexpr std::int64_t k_advance_step_ms = rules::k_advance_step_ms;

class applier {
 public:
  explicit applier(read_model::store& store);

  // Where the read model stands on a partition (next offset; -1 = nothing stored), as last read
  // from or written to the store by this applier. load_positions() refreshes all of them.
  core::status load_positions();
  std::int64_t position(const std::string& topic, std::int32_t partition) const;

  enum class outcome { ready, stale };
  // Opens the transaction for `batch` (records of any partitions, each partition's in offset
  // order, all at or after the partition's position()) and does everything but commit.
  // stale: another instance moved a partition on (claim failed): nothing was written; the
  // caller reloads positions and re-seeks. Errors: the store's (retriable: back off and retry).
  core::result<outcome> prepare(const std::vector<record>& batch);
  // The dead letters of the prepared batch, in record order.
  const std::vector<dead_letter>& dead_letters() const { return dead_letters_; }
  const batch_counts& counts() const { return counts_; }
  // Commits the prepared batch; on success the positions move past it and the cache takes the
  // new states. On error nothing changed (the caller retries the batch from prepare()).
  core::status commit();
  // Drops a prepared batch (rollback), e.g. when the DLQ could not be written.
  void abandon();

  // The partition was revoked (or its ownership is in doubt): forget its cached states.
  void forget_partition(const std::string& topic, std::int32_t partition);
  void forget_all();

  // What bounds an envelope's ingested_at: the record's log_append_ms, else its polled_ms, else
  // this wall clock (ms since the Unix epoch) when prepare() starts. An envelope stamped more than
  // core::k_max_clock_lead_ms (5 min, the gateway's own tolerance) ahead of that is future-dated:
  // its producer's clock is wrong. It is dead-lettered and kept out of the event store, because
  // its time would move its partition's watermark (rules::watermark_ms trusts ingested_at) and
  // every animal of the partition with it into the future. Replays (rebuild from the store, time
  // travel) run later than the first consumption, so what passed then passes again; an older
  // store's far-future events are refused. Default: core::system_clock; `wall` must outlive the
  // applier; it also stamps the herd.alerts outbox messages. Thread: the applier's.
  void set_clock(const core::clock& wall) { wall_ = &wall; }

  // When false, rejected events and undecodable or future-dated records are counted but not
  // returned as dead letters (a rebuild: they were dead-lettered when first consumed).
  void set_dead_lettering(bool on) { dead_lettering_ = on; }

  // When true (the default), every alert lifecycle change is also written, in the same
  // transaction, as a herd.alerts message into the read model's outbox (alert_outbox.hpp), which
  // the relay (herd/alerts/relay.hpp) produces after commit. A rebuild turns it off: those
  // changes were published when first projected.
  void set_outbox(bool on, std::string alerts_topic = "herd.alerts") {
    outbox_on_ = on;
    alerts_topic_ = std::move(alerts_topic);
  }

 private:
  struct partition_state {
    std::int64_t position = -1;
    std::int64_t watermark_ms = 0;
    bool animals_loaded = false;
    std::vector<std::string> animals;  // sorted ids of the animals whose home is this partition
  };
  struct working_animal {
    rules::animal_state state;
    bool dirty = false;
    std::string topic;
    std::int32_t partition = -1;
  };
  using pkey = std::pair<std::string, std::int32_t>;

  core::result<working_animal*> animal(const std::string& id, const record& r);
  // Advances every animal of partition p to boundary_ms (rules::advance with the partition's herd
  // context) and records the round (read_model::advance_row) with the record that crossed it.
  core::status advance_partition(const pkey& p, partition_state& ps, std::int64_t boundary_ms,
                                 std::int64_t crossing_offset, std::int64_t crossing_occurred_us);
  core::result<partition_state*> partition(const pkey& p);
  core::status write_batch();
  void record_changes(const std::vector<rules::alert_change>& changes);

  read_model::store& store_;
  std::unique_ptr<read_model::store_txn> txn_;
  const core::clock* wall_;
  bool dead_lettering_ = true;
  bool outbox_on_ = true;
  std::string alerts_topic_ = "herd.alerts";
  std::map<pkey, partition_state> partitions_;           // committed view
  std::map<pkey, partition_state> working_partitions_;   // the batch's view (copied on touch)
  std::unordered_map<std::string, rules::animal_state> cache_;  // committed states
  std::map<std::string, working_animal> working_;        // the batch's states
  std::map<pkey, read_model::partition_progress> progress_;
  std::vector<read_model::alert_row> alerts_;
  std::vector<read_model::outbox_message> outbox_;
  std::vector<read_model::advance_row> advances_;  // rounds of this batch (time travel replays them)
  std::vector<dead_letter> dead_letters_;
  batch_counts counts_;
};

}  // namespace herd::projector
