// The consumer loop's side of the consumer group: rebalances, the group's health, pausing,
// resyncing after a stale claim, informational offset commits (consumer_loop_impl.hpp).
#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "consumer_loop_impl.hpp"

namespace herd::projector {

void consumer_loop::impl::rebalance(rd_kafka_t* h, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  ++stats.rebalances;
  cooperative = std::string_view(rd_kafka_rebalance_protocol(h)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // The stored offsets are the truth: read them now (retrying while the store is down; the
    // group waits for us, which is the backpressure we want).
    auto delay = o.backoff_min;
    for (;;) {
      auto st = app.load_positions();
      if (st) break;
      ++stats.store_errors;
      set_error(st.err().message);
      log->warn("assignment: cannot read the stored offsets ({}), retrying in {} ms", st.err().message,
                delay.count());
      if (st.err().kind == core::error_kind::fatal || stopping) break;
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, o.backoff_max);
    }
    for (int i = 0; i < parts->cnt; ++i) {
      auto& e = parts->elems[i];
      const std::int64_t pos = app.position(e.topic, e.partition);
      e.offset = pos >= 0 ? pos : RD_KAFKA_OFFSET_BEGINNING;
      assigned.insert({e.topic, e.partition});
      log->info("assigned {}[{}] from offset {}", e.topic, e.partition,
                pos >= 0 ? std::to_string(pos) : std::string("beginning"));
    }
    if (cooperative) {
      if (rd_kafka_error_t* ke = rd_kafka_incremental_assign(h, parts)) rd_kafka_error_destroy(ke);
    } else {
      rd_kafka_assign(h, parts);
    }
  } else {
    std::set<std::pair<std::string, std::int32_t>> gone;
    for (int i = 0; i < parts->cnt; ++i) gone.insert({parts->elems[i].topic, parts->elems[i].partition});
    // Records not applied yet are the new owner's, from the stored offsets.
    std::erase_if(batch, [&](const record& r) { return gone.count({r.topic, r.partition}) != 0; });
    for (const auto& [t, p] : gone) {
      app.forget_partition(t, p);
      assigned.erase({t, p});
      std::lock_guard lock(stats.mu);
      stats.lag.erase({t, p});
      log->info("revoked {}[{}]", t, p);
    }
    if (cooperative) {
      if (rd_kafka_error_t* ke = rd_kafka_incremental_unassign(h, parts)) rd_kafka_error_destroy(ke);
    } else {
      rd_kafka_assign(h, nullptr);
    }
  }
  stats.assigned = assigned.size();
}

// librdkafka's statistics (on the loop's thread, inside poll): the consumer group's part
// (STATISTICS.md, "cgrp": state, join_state) tells whether this member is settled in the group.
void consumer_loop::impl::group_statistics(std::string_view json) {
  const auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.contains("cgrp") || !j["cgrp"].is_object()) return;
  const auto& g = j["cgrp"];
  auto text = [&](const char* k) {
    return g.contains(k) && g[k].is_string() ? g[k].get<std::string>() : std::string();
  };
  const std::string state = text("state"), join = text("join_state");
  const bool settled = state == "up" && join == "steady";
  {
    std::lock_guard lock(stats.mu);
    stats.group_state = state + "/" + join;
  }
  if (settled) {
    group_ever_settled = true;
    stats.group_unsettled_since_steady_ms = 0;
  } else if (stats.group_unsettled_since_steady_ms == 0) {
    stats.group_unsettled_since_steady_ms = group_ever_settled ? loop_detail::steady_ms() : subscribed_steady_ms;
  }
}

void consumer_loop::impl::pause_all(bool pause) {
  if (assigned.empty()) return;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(static_cast<int>(assigned.size()));
  for (const auto& [t, p] : assigned) rd_kafka_topic_partition_list_add(parts, t.c_str(), p);
  if (pause) {
    rd_kafka_pause_partitions(rk, parts);
  } else {
    rd_kafka_resume_partitions(rk, parts);
  }
  rd_kafka_topic_partition_list_destroy(parts);
}

// After a failed claim: another instance moved a partition on. Reload and seek.
void consumer_loop::impl::resync() {
  ++stats.stale_claims;
  log->warn("a partition's stored offset moved under us (another instance?): reloading offsets");
  batch.clear();
  app.forget_all();
  if (!app.load_positions()) return;  // the next batch's claim tells again
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(static_cast<int>(assigned.size()));
  for (const auto& [t, p] : assigned) {
    const std::int64_t pos = app.position(t, p);
    rd_kafka_topic_partition_list_add(parts, t.c_str(), p)->offset = pos >= 0 ? pos : RD_KAFKA_OFFSET_BEGINNING;
  }
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk, parts, 5000)) rd_kafka_error_destroy(e);
  rd_kafka_topic_partition_list_destroy(parts);
}

void consumer_loop::impl::commit_to_kafka(const std::map<std::pair<std::string, std::int32_t>, std::int64_t>& next) {
  if (!o.use_group || next.empty()) return;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
  for (const auto& [tp, off] : next) rd_kafka_topic_partition_list_add(parts, tp.first.c_str(), tp.second)->offset = off;
  (void)rd_kafka_commit(rk, parts, 1);  // async: informational only (the read model is the truth)
  rd_kafka_topic_partition_list_destroy(parts);
}

}  // namespace herd::projector
