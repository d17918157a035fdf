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
  CHECK(w.counted(4, 10 * stall) == 10);  // Kafka away: the window counts everything
  w.produced(1, false, 3);
  w.reported(1, false, true, 4);  // Kafka answers for partition 1 after partition 0 stalled
  CHECK(w.counted(4, 10 * stall) == 2);
  w.set_all_brokers_down();
  CHECK(w.counted(4, 10 * stall) == 10);
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
