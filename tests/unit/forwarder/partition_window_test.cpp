// The forwarder's in-flight window per partition (partition_window.hpp; issue 15, goal 4).
#include <doctest/doctest.h>

#include "herd/forwarder/partition_window.hpp"

using herd::forwarder::partition_window;

namespace {
constexpr std::int64_t stall = partition_window::k_stall_ms;
}

TEST_CASE("partition window: a stalled partition counts up to its share once the cluster acknowledges others") {
  partition_window w;
  w.set_partitions(4);  // share of a 100-event window: 25
  for (int i = 0; i < 60; ++i) w.produced(0, false, 0);  // partition 0's leader does not answer
  for (int i = 0; i < 10; ++i) w.produced(1, false, 0);
  w.reported(1, false, true, 5);  // partition 1 moves
  CHECK(w.counted(100, stall) == 69);  // not stalled yet: everything counts
  CHECK(w.excused(stall + 1) == 1);
  CHECK(w.beyond_share(100, stall + 1) == 35);
  CHECK(w.counted(100, stall + 1) == 34);  // 25 of partition 0, 9 of partition 1
  for (int i = 0; i < 9; ++i) w.reported(1, false, true, 10);
  CHECK(w.counted(100, stall + 1) == 25);
  CHECK(w.total() == 60);
  w.reported(0, false, true, stall + 2);  // partition 0's broker is back
  CHECK(w.excused(stall + 3) == 0);
  CHECK(w.counted(100, stall + 3) == 59);
}

TEST_CASE("partition window: no acknowledgement since a partition's last progress, or every broker down: nothing is excused") {
  partition_window w;
  w.set_partitions(2);
  w.produced(1, false, 0);
  w.reported(1, false, true, 1);  // the last acknowledgement, before partition 0's first event
  for (int i = 0; i < 10; ++i) w.produced(0, false, 2);
  CHECK(w.counted(4, stall + 5) == 10);  // Kafka away: the window counts everything
  w.produced(1, false, 3);
  w.reported(1, false, true, 4);  // Kafka answers for partition 1 since partition 0's last progress
  CHECK(w.counted(4, stall + 5) == 2);
  w.set_all_brokers_down();
  CHECK(w.counted(4, stall + 5) == 10);
  w.produced(1, false, 10 * stall);
  w.reported(1, false, true, 10 * stall);  // an acknowledgement clears it
  CHECK(w.counted(4, 10 * stall + 1) == 2);
  w.reported(1, false, false, 10 * stall + 2);  // a failed report is no acknowledgement
  CHECK(w.last_ack_ms() == 10 * stall);
}

TEST_CASE("partition window: an unknown partition always counts, one partition excuses nothing") {
  partition_window w;
  w.produced(-1, false, 0);
  w.produced(-1, false, 0);
  w.produced(0, false, 0);
  w.reported(-1, false, true, 1);
  CHECK(w.counted(2, 10 * stall) == 2);  // no partition count known yet
  w.set_partitions(1);
  CHECK(w.counted(2, 10 * stall) == 2);
  w.reported(5, false, true, 2);  // nothing in flight there: ignored
  CHECK(w.total() == 2);
}

TEST_CASE("partition window: the backlog lane's events beyond their share, and a rebuild") {
  partition_window w;
  w.set_partitions(2);
  for (int i = 0; i < 8; ++i) w.produced(1, true, 0);
  w.produced(1, false, 0);
  w.produced(0, false, 0);
  w.reported(0, false, true, 1);
  CHECK(w.beyond_share(10, stall + 1, true) == 3);   // backlog share 5 of 10
  CHECK(w.beyond_share(10, stall + 1, false) == 4);  // all 9 against a share of 5
  w.reported(1, true, false, stall + 2);             // a failed report: still stalled
  CHECK(w.beyond_share(10, stall + 2, true) == 2);
  w.clear();
  CHECK(w.total() == 0);
  CHECK(w.beyond_share(10, stall + 2) == 0);
}

TEST_CASE("partition window: the cluster answers only lately, and an answer to a probe counts as one") {
  partition_window w;
  w.set_partitions(2);
  constexpr std::int64_t answer = partition_window::k_answer_ms;
  for (int i = 0; i < 10; ++i) w.produced(0, false, 0);
  w.produced(1, false, 0);
  w.reported(1, false, true, 10);
  CHECK(w.in_excused(stall + 1) == 10);
  CHECK(w.counted(4, stall + 1) == 2);
  CHECK(w.counted(4, 10 + answer + 1) == 10);  // no acknowledgement for k_answer_ms: all count again
  CHECK(w.wants_probe(10 + answer + 1));
  w.probe_sent(10 + answer + 1);
  CHECK_FALSE(w.wants_probe(10 + answer + 2));  // one question a second
  w.cluster_answered(10 + answer + 3);
  CHECK(w.counted(4, 10 + answer + 4) == 2);
  CHECK(w.wants_probe(10 + answer + stall + 2));
}

TEST_CASE("partition window: events produced before the partition count was known are placed later") {
  partition_window w;
  for (int i = 0; i < 10; ++i) w.produced(-1, false, 0);
  w.set_partitions(2);
  CHECK(w.in_excused(10 * stall) == 0);
  for (int i = 0; i < 10; ++i) w.reattribute(0, false, 5);
  w.produced(1, false, 6);
  w.reported(1, false, true, 7);
  CHECK(w.total() == 10);
  CHECK(w.counted(4, stall + 6) == 2);
  w.reported(0, false, true, stall + 7);
  CHECK(w.total() == 9);
}
