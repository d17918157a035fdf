// herd-api's HTTP request checks (cloud/api/src/request_syntax.hpp: RFC 9112 §6.3, RFC 9110 §5.5).
#include <doctest/doctest.h>

#include "request_syntax.hpp"

namespace {

using headers = std::vector<std::pair<std::string, std::string>>;
constexpr std::size_t max_body = 64 * 1024;

int status_of(std::string_view method, const headers& h) {
  const auto e = herd::api::detail::check_request_syntax(method, h, max_body);
  return e ? e->status : 0;
}

}  // namespace

TEST_CASE("request syntax: sound requests pass") {
  CHECK(status_of("GET", {}) == 0);
  CHECK(status_of("GET", {{"Host", "x"}, {"Content-Length", "0"}}) == 0);
  CHECK(status_of("POST", {{"content-length", "17"}}) == 0);
  CHECK(status_of("POST", {{"Content-Length", " 65536 "}}) == 0);
  CHECK(status_of("POST", {{"Content-Length", "12"}, {"Content-Length", "12"}}) == 0);
  CHECK(status_of("POST", {}) == 0);  // no body at all
}

TEST_CASE("request syntax: an invalid or conflicting Content-Length is 400") {
  for (const char* v : {"-5", "+5", "", "5 5", "0x10", "1e3", "abc", "5,5", "99999999999999999999"}) {
    INFO(v);
    CHECK(status_of("POST", {{"Content-Length", v}}) == 400);
    CHECK(status_of("GET", {{"Content-Length", v}}) == 400);
  }
  CHECK(status_of("POST", {{"Content-Length", "3"}, {"Content-Length", "4"}}) == 400);
}

TEST_CASE("request syntax: a body on a method that has none is 400 (it would be read as the next request)") {
  for (const char* m : {"GET", "HEAD", "OPTIONS"}) {
    INFO(m);
    CHECK(status_of(m, {{"Content-Length", "10"}}) == 400);
    CHECK(status_of(m, {{"Transfer-Encoding", "chunked"}}) == 400);
  }
}

TEST_CASE("request syntax: chunked bodies are refused (411), both framings at once are 400, too large is 413") {
  CHECK(status_of("POST", {{"Transfer-Encoding", "chunked"}}) == 411);
  CHECK(status_of("POST", {{"transfer-encoding", "gzip, chunked"}}) == 411);
  CHECK(status_of("POST", {{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}}) == 400);
  CHECK(status_of("POST", {{"Content-Length", "65537"}}) == 413);
  CHECK(status_of("PATCH", {{"Content-Length", "10000000"}}) == 413);
}

TEST_CASE("request syntax: header values: control characters are 400, HTAB and bytes over 0x7f are not") {
  CHECK(status_of("GET", {{"Authorization", std::string("\x01\x02\x7f")}}) == 400);
  CHECK(status_of("GET", {{"X-Note", std::string("a\0b", 3)}}) == 400);
  CHECK(status_of("GET", {{"X-Note", "a\rb"}}) == 400);
  CHECK(status_of("GET", {{"User-Agent", "curl/7.88\t(x)"}}) == 0);
  CHECK(status_of("GET", {{"X-Name", "M\xc3\xbcller"}}) == 0);  // obs-text: allowed
}
