#include <doctest/doctest.h>

#include "herd/projector/observability.hpp"

using namespace herd::projector;

TEST_CASE("projector metrics: counters, the latency histogram and lag per partition") {
  loop_stats s;
  s.applied = 7;
  s.duplicates = 2;
  s.unknown_type = 1;
  s.dead_lettered = 3;
  s.latency_le[3] = 4;
  s.latency_count = 5;
  s.latency_sum_us = 2'500'000;
  s.lag[{"herd.events", 4}] = 12;
  const auto text = render_prometheus(s, "sqlite");
  CHECK(text.find("herd_projector_applied_total 7\n") != std::string::npos);
  CHECK(text.find("herd_projector_duplicates_total 2\n") != std::string::npos);
  CHECK(text.find("herd_projector_skipped_unknown_type_total 1\n") != std::string::npos);
  CHECK(text.find("herd_projector_dead_lettered_total 3\n") != std::string::npos);
  CHECK(text.find("herd_projector_batch_apply_seconds_bucket{le=\"0.01\"} 4\n") != std::string::npos);
  CHECK(text.find("herd_projector_batch_apply_seconds_bucket{le=\"+Inf\"} 5\n") != std::string::npos);
  CHECK(text.find("herd_projector_batch_apply_seconds_sum 2.500000\n") != std::string::npos);
  CHECK(text.find("herd_projector_lag_records{topic=\"herd.events\",partition=\"4\"} 12\n") != std::string::npos);
  CHECK(text.find("herd_projector_info{backend=\"sqlite\"} 1") != std::string::npos);
}

TEST_CASE("projector health: a stalled loop or a batch waiting for the store is unhealthy") {
  loop_stats s;
  s.heartbeat_steady_ms = 1'000'000;
  auto ok = evaluate_health(s, 1'001'000, std::chrono::seconds(30));
  CHECK(ok.healthy);
  CHECK(ok.json.find("\"status\":\"ok\"") != std::string::npos);
  auto stalled = evaluate_health(s, 1'000'000 + 31'000, std::chrono::seconds(30));
  CHECK(!stalled.healthy);
  CHECK(stalled.json.find("has not gone round") != std::string::npos);
  s.backing_off = true;
  {
    std::lock_guard lock(s.mu);
    s.last_error = "read model: begin: database is locked";
  }
  auto busy = evaluate_health(s, 1'001'000, std::chrono::seconds(30));
  CHECK(!busy.healthy);
  CHECK(busy.json.find("database is locked") != std::string::npos);
}

TEST_CASE("projector health: a member not settled in its consumer group for longer than max_stall is unhealthy") {
  loop_stats s;
  s.heartbeat_steady_ms = 1'000'000;  // the loop goes round: only the group is the problem
  {
    std::lock_guard lock(s.mu);
    s.group_state = "up/wait-join";
  }
  s.group_unsettled_since_steady_ms = 1'000'000 - 20'000;
  auto joining = evaluate_health(s, 1'000'000, std::chrono::seconds(30));  // 20 s: a rebalance may take that
  CHECK(joining.healthy);
  CHECK(joining.json.find("\"group_state\":\"up/wait-join\"") != std::string::npos);
  s.group_unsettled_since_steady_ms = 1'000'000 - 31'000;
  auto stuck = evaluate_health(s, 1'000'000, std::chrono::seconds(30));
  CHECK(!stuck.healthy);
  CHECK(stuck.json.find("not settled in the consumer group for 31.0 s") != std::string::npos);
  CHECK(stuck.json.find("up/wait-join") != std::string::npos);
  s.group_unsettled_since_steady_ms = 0;  // joined (with or without partitions)
  CHECK(evaluate_health(s, 1'000'000, std::chrono::seconds(30)).healthy);
}
