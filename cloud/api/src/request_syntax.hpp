#pragma once
// HTTP/1.1 request checks that cpp-httplib 0.11 leaves out, run before routing: message framing
// and header field values.
//
// httplib reads a body only for POST/PUT/PATCH/DELETE and parses a bad Content-Length as a huge
// number, so a GET carrying a body (or "Content-Length: -5") was served with 200 and its body
// bytes were then read as the next request on the connection (request smuggling). RFC 9112
// §6.3: a message with an invalid Content-Length, or with both Transfer-Encoding and
// Content-Length, has invalid framing and gets 400. httplib also reads a chunked body without
// any size limit, so a body must declare its length (RFC 9110 §15.5.12, 411 Length Required).
// httplib passes control characters in header values through to us (an Authorization of
// "\x01\x02"); RFC 9110 §5.5 allows none but HTAB there, so they get 400.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herd::api::detail {

struct request_error {
  int status = 400;  // 400 bad framing or header value, 411 chunked body, 413 body over the limit
  std::string message;
};

// method: the request method as sent ("GET"). headers: every (name, value) pair as received, in
// any case (names compare case-insensitively). max_body: the largest body the server accepts, in
// bytes (server.hpp: 64 KiB). Returns the error to answer with, or nothing when the request is
// sound. Pure; any thread.
std::optional<request_error> check_request_syntax(std::string_view method,
                                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                                  std::size_t max_body);

}  // namespace herd::api::detail
