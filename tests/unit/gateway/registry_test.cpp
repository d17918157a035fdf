#include <doctest/doctest.h>

#include "herd/core/time_format.hpp"
#include "herd/gateway/registry.hpp"

using herd::core::parse_iso8601_utc;
using herd::gateway::collar_registry;

namespace {
const char* k_csv =
    "collar_id,animal_id,valid_from\n"
    "# collar C-2 moved from cow ...002 to cow ...009 on 1 March\n"
    "C-1,276000000000001,2026-01-01\n"
    "C-2,276000000000002,2026-01-01T00:00:00Z\n"
    "C-2,276000000000009,2026-03-01T06:00:00Z\n"
    "\n";
std::int64_t at(const char* iso) { return *parse_iso8601_utc(iso); }
}  // namespace

TEST_CASE("aggregate id is the animal wearing the collar at the reading's time") {
  auto reg = collar_registry::parse_csv(k_csv, "test.csv");
  REQUIRE(reg.ok());
  CHECK(reg->collar_count() == 2);
  CHECK(*reg->animal_at("C-1", at("2026-06-01T00:00:00Z")) == "276000000000001");
  CHECK(*reg->animal_at("C-2", at("2026-02-28T23:59:59.999Z")) == "276000000000002");
  CHECK(*reg->animal_at("C-2", at("2026-03-01T06:00:00Z")) == "276000000000009");
  CHECK(*reg->animal_at("C-2", at("2027-01-01T00:00:00Z")) == "276000000000009");
}

TEST_CASE("unknown collars and readings before any assignment are errors with a reason") {
  auto reg = collar_registry::parse_csv(k_csv, "test.csv");
  auto unknown = reg->animal_at("C-404", at("2026-06-01T00:00:00Z"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.err().message.find("unknown collar 'C-404'") != std::string::npos);
  auto early = reg->animal_at("C-1", at("2025-12-31T23:59:59Z"));
  REQUIRE_FALSE(early.ok());
  CHECK(early.err().message.find("not assigned") != std::string::npos);
}

TEST_CASE("a broken registry file is reported with its line") {
  CHECK_FALSE(collar_registry::parse_csv("", "r.csv").ok());
  auto bad_header = collar_registry::parse_csv("collar,animal\nC-1,A,2026-01-01\n", "r.csv");
  REQUIRE_FALSE(bad_header.ok());
  CHECK(bad_header.err().message.find("r.csv:1") != std::string::npos);
  auto bad_time = collar_registry::parse_csv("collar_id,animal_id,valid_from\nC-1,A,soon\n", "r.csv");
  REQUIRE_FALSE(bad_time.ok());
  CHECK(bad_time.err().message.find("r.csv:2") != std::string::npos);
  auto twice = collar_registry::parse_csv(
      "collar_id,animal_id,valid_from\nC-1,A,2026-01-01\nC-1,B,2026-01-01\n", "r.csv");
  CHECK_FALSE(twice.ok());
  CHECK_FALSE(collar_registry::load_csv("/nonexistent/registry.csv").ok());
}

// Regression (issue 13, case 6): a registry saved by a spreadsheet ("CSV UTF-8" in Excel: a UTF-8
// byte-order mark and CRLF line ends) was refused with "header must be collar_id,animal_id,
// valid_from", which the user could not act on.
TEST_CASE("a registry saved by a spreadsheet is read, and what a spreadsheet breaks is named") {
  const std::string excel_utf8 =
      "\xEF\xBB\xBF" "collar_id,animal_id,valid_from\r\n"
      "C-1,276000000000001,2026-01-01\r\n"
      "C-2,276000000000002,2026-01-01T00:00:00Z\r\n";
  auto reg = collar_registry::parse_csv(excel_utf8, "excel.csv");
  REQUIRE_MESSAGE(reg.ok(), (reg.ok() ? "" : reg.err().message));
  CHECK(reg->collar_count() == 2);
  CHECK(*reg->animal_at("C-2", at("2026-06-01T00:00:00Z")) == "276000000000002");

  // Excel in a decimal-comma locale (semicolons), quoted cells, empty columns at the end.
  const std::string excel_de =
      "collar_id;animal_id;valid_from;;\r\n"
      "\"C-1\";\"276000000000001\";2026-01-01;;\r\n"
      "C-2;276000000000002;\"2026-01-01T00:00:00Z\"\r\n";
  reg = collar_registry::parse_csv(excel_de, "excel-de.csv");
  REQUIRE_MESSAGE(reg.ok(), (reg.ok() ? "" : reg.err().message));
  CHECK(*reg->animal_at("C-1", at("2026-06-01T00:00:00Z")) == "276000000000001");

  // Refused, naming the real problem.
  const auto refused = [](const std::string& text) {
    auto r = collar_registry::parse_csv(text, "r.csv");
    REQUIRE_FALSE(r.ok());
    return r.err().message;
  };
  CHECK(refused(std::string("\xFF\xFE" "c\0o\0", 6)).find("UTF-16") != std::string::npos);
  CHECK(refused("collar,animal,from\n").find("found 'collar,animal,from'") != std::string::npos);
  const auto sci = refused("collar_id,animal_id,valid_from\r\nC-1,2.76E+14,2026-01-01\r\n");
  CHECK(sci.find("r.csv:2: animal_id must be") != std::string::npos);
  CHECK(sci.find("scientific notation") != std::string::npos);
  const auto date = refused("collar_id,animal_id,valid_from\r\nC-1,276000000000001,01/03/2026 06:00\r\n");
  CHECK(date.find("valid_from '01/03/2026 06:00' is not ISO-8601 UTC") != std::string::npos);
  CHECK(date.find("reformatted the date") != std::string::npos);
}
