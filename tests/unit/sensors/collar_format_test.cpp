#include <doctest/doctest.h>

#include "herd/sensors/collar_format.hpp"

using namespace herd::sensors;

namespace {
const std::string k_topic = "farm/farm-01/collar/C-00042/telemetry";
const std::string k_full =
    R"({"seq": 18234, "ts": 1795668000000, "temp_c": 38.62, "steps": 412, "rum_min": 7.5,)"
    R"( "interval_s": 600, "batt_pct": 87, "rssi_dbm": -71})";

std::string reason(std::string_view topic, std::string_view payload) {
  auto r = decode_collar_message(topic, payload);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().kind == herd::core::error_kind::permanent);
  return r.err().message;
}
}  // namespace

TEST_CASE("a full reading decodes field by field") {
  auto r = decode_collar_message(k_topic, k_full);
  REQUIRE(r.ok());
  CHECK(r->farm_id == "farm-01");
  CHECK(r->collar_id == "C-00042");
  CHECK(r->seq == 18234);
  CHECK(r->ts_ms == 1795668000000);
  CHECK(r->temp_c == doctest::Approx(38.62));
  CHECK(r->steps == 412u);
  CHECK(r->rum_min == doctest::Approx(7.5));
  CHECK(r->interval_s == 600u);
  CHECK(r->batt_pct == 87u);
  CHECK(r->rssi_dbm == -71);
}

TEST_CASE("optional fields may be absent and unknown fields are ignored") {
  auto r = decode_collar_message(k_topic, R"({"seq": 0, "ts": 0, "fw": "2.1", "extra": {"a": 1}})");
  REQUIRE(r.ok());
  CHECK(r->seq == 0);
  CHECK(r->ts_ms == 0);
  CHECK_FALSE(r->temp_c.has_value());
  CHECK_FALSE(r->steps.has_value());
  CHECK_FALSE(r->rssi_dbm.has_value());
}

TEST_CASE("seq covers the full 32-bit range") {
  CHECK(decode_collar_message(k_topic, R"({"seq": 4294967295, "ts": 0})").ok());
  CHECK(reason(k_topic, R"({"seq": 4294967296, "ts": 0})").find("seq") != std::string::npos);
}

TEST_CASE("malformed payloads are rejected with a reason") {
  CHECK(reason(k_topic, "not json") == "payload is not valid JSON");
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0)") == "payload is not valid JSON");
  CHECK(reason(k_topic, "[1,2,3]") == "payload is not a JSON object");
  CHECK(reason(k_topic, "") == "payload is not valid JSON");
}

TEST_CASE("missing and mistyped fields are rejected naming the field") {
  CHECK(reason(k_topic, R"({"ts": 0})") == "field 'seq' is required");
  CHECK(reason(k_topic, R"({"seq": 1})").find("'ts' is required") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": "1", "ts": 0})") == "field 'seq' must be an integer");
  CHECK(reason(k_topic, R"({"seq": 1.5, "ts": 0})") == "field 'seq' must be an integer");
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "temp_c": "38.5"})") == "field 'temp_c' must be a number");
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "steps": true})") == "field 'steps' must be an integer");
}

TEST_CASE("absurd values are rejected with the range") {
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "temp_c": 80})").find("'temp_c' out of range") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "temp_c": 24.9})").find("temp_c") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "steps": -3})").find("'steps' out of range") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "batt_pct": 101})").find("batt_pct") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "rssi_dbm": 5})").find("rssi_dbm") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "interval_s": 0})").find("interval_s") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": -1, "ts": 0})").find("seq") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": 1, "ts": -5})").find("ts") != std::string::npos);
}

TEST_CASE("rumination cannot exceed the interval") {
  CHECK(decode_collar_message(k_topic, R"({"seq": 1, "ts": 0, "rum_min": 10, "interval_s": 600})").ok());
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "rum_min": 11, "interval_s": 600})").find("rum_min") != std::string::npos);
  CHECK(reason(k_topic, R"({"seq": 1, "ts": 0, "rum_min": 5})").find("interval_s") != std::string::npos);
}

TEST_CASE("an oversized payload is rejected before parsing") {
  std::string big = R"({"seq": 1, "ts": 0, "pad": ")" + std::string(5000, 'x') + R"("})";
  CHECK(reason(k_topic, big).find("exceeds the 4096-byte limit") != std::string::npos);
}

TEST_CASE("topics that do not parse are rejected") {
  CHECK(parse_collar_topic("farm/f1/collar/c1/telemetry").ok());
  for (const char* t : {"farm/f1/collar/c1", "farm/f1/collar/c1/telemetry/x", "farm//collar/c1/telemetry",
                        "barn/f1/collar/c1/telemetry", "farm/f1/collar/c 1/telemetry",
                        "farm/f1/scale/c1/telemetry", ""}) {
    CAPTURE(t);
    CHECK_FALSE(parse_collar_topic(t).ok());
    CHECK(reason(t, k_full).find("is not farm/<farm_id>/collar/<collar_id>/telemetry") != std::string::npos);
  }
}
