#include <doctest/doctest.h>

#include <set>

#include "herd/core/time_format.hpp"
#include "herd/core/uuid.hpp"

using namespace herd::core;

TEST_CASE("new_uuid_v4 has the canonical form, version 4 and the RFC variant") {
  for (int i = 0; i < 1000; ++i) {
    const auto id = new_uuid_v4();
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[18] == '-');
    CHECK(id[23] == '-');
    CHECK(id[14] == '4');                                 // version nibble
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);  // variant 10xx
    CHECK(is_uuid_v4(id));
  }
}

TEST_CASE("new_uuid_v4 does not repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) seen.insert(new_uuid_v4());
  CHECK(seen.size() == 20000);
}

TEST_CASE("is_uuid_v4 rejects other versions, variants and shapes") {
  CHECK(is_uuid_v4("0f8fad5b-d9cb-469f-a165-70867728950e"));
  CHECK_FALSE(is_uuid_v4("0f8fad5b-d9cb-169f-a165-70867728950e"));  // version 1
  CHECK_FALSE(is_uuid_v4("0f8fad5b-d9cb-469f-c165-70867728950e"));  // Microsoft variant
  CHECK_FALSE(is_uuid_v4("0F8FAD5B-D9CB-469F-A165-70867728950E"));  // not canonical lowercase
  CHECK_FALSE(is_uuid_v4("0f8fad5bd9cb469fa16570867728950e"));
}

TEST_CASE("iso8601_utc_ms formats UTC with milliseconds and a Z") {
  CHECK(iso8601_utc_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601_utc_ms(951868799999) == "2000-02-29T23:59:59.999Z");  // leap day
  CHECK(iso8601_utc_ms(1795668000000) == "2026-11-26T04:40:00.000Z");
  CHECK(iso8601_utc_ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(iso8601_utc_ms(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(iso8601_utc_ms(253402300800000) == "10000-01-01T00:00:00.000Z");  // beyond 4 digits
  CHECK(iso8601_utc_ms(-62167219200001) == "-001-12-31T23:59:59.999Z");   // before year 0
  std::string reused = "a longer string that held another value before";
  iso8601_utc_ms_into(1795668000123, reused);
  CHECK(reused == "2026-11-26T04:40:00.123Z");
}

TEST_CASE("parse_iso8601_utc reads what iso8601_utc_ms writes, and dates") {
  CHECK(parse_iso8601_utc("2026-11-26T04:40:00.000Z") == 1795668000000);
  CHECK(parse_iso8601_utc("2026-11-26T04:40:00Z") == 1795668000000);
  CHECK(parse_iso8601_utc("2000-02-29T23:59:59.999Z") == 951868799999);
  CHECK(parse_iso8601_utc("1970-01-02") == 86400000);
  CHECK_FALSE(parse_iso8601_utc("2026-02-30T00:00:00Z").has_value());
  CHECK_FALSE(parse_iso8601_utc("2026-11-26T04:40:00+01:00").has_value());  // UTC only
  CHECK_FALSE(parse_iso8601_utc("yesterday").has_value());
}
