// The forwarder's in-flight window per partition (partition_window.hpp; issue 15, goal 4).
#include <doctest/doctest.h>

#include "herd/forwarder/partition_window.hpp"

using herd::forwarder::partition_window;

TEST_CASE("partition window: while Kafka acknowledges, a partition counts up to its share of the window") {
  partition_window w;
  w.set_partitions(4);  // share of a 100-event window: 25
  for (int i = 0; i < 60; ++i) w.produced(0, false);  // partition 0's broker does not answer
  for (int i = 0; i < 10; ++i) w.produced(1, false);
  CHECK(w.total() == 70);
  CHECK(w.beyond_share(100, true) == 35);
  CHECK(w.counted(100, true) == 35);  // 25 of partition 0, 10 of partition 1: 65 left for the others
  CHECK(w.counted(100, false) == 70);  // Kafka acknowledges nothing: every event counts
  for (int i = 0; i < 10; ++i) w.reported(1, false);
  CHECK(w.counted(100, true) == 25);
  CHECK(w.total() == 60);
}

TEST_CASE("partition window: an unknown partition always counts, one partition shares nothing") {
  partition_window w;
  w.produced(-1, false);
  w.produced(-1, false);
  w.produced(0, false);
  CHECK(w.counted(2, true) == 3);  // no partition count known yet
  w.set_partitions(1);
  CHECK(w.counted(2, true) == 3);
  w.set_partitions(3);
  CHECK(w.counted(2, true) == 3);  // share at least 1
  w.reported(-1, false);
  w.reported(5, false);  // nothing in flight there: ignored
  CHECK(w.total() == 2);
}

TEST_CASE("partition window: the backlog lane's events beyond their share, and a rebuild") {
  partition_window w;
  w.set_partitions(2);
  for (int i = 0; i < 8; ++i) w.produced(1, true);
  w.produced(1, false);
  CHECK(w.beyond_share(10, true, true) == 3);   // backlog share 5 of 10
  CHECK(w.beyond_share(10, true, false) == 4);  // all 9 against a share of 5
  w.reported(1, true);
  CHECK(w.beyond_share(10, true, true) == 2);
  CHECK(w.beyond_share(10, false, true) == 0);
  w.clear();
  CHECK(w.total() == 0);
  CHECK(w.beyond_share(10, true) == 0);
}
