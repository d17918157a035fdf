#include "request_syntax.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

namespace herd::api::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §8.6: Content-Length = 1*DIGIT. No sign, no spaces inside, no list.
std::optional<std::uint64_t> parse_length(std::string_view v) {
  v = trim(v);
  if (v.empty() || v.size() > 19) return std::nullopt;
  if (!std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

// RFC 9110 §5.5: field-value = *( VCHAR / obs-text / SP / HTAB ): no other control character.
bool has_control_character(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

// The methods httplib reads a body for (httplib.h, detail::expect_content).
bool reads_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace

std::optional<request_error> check_request_syntax(std::string_view method,
                                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                                  std::size_t max_body) {
  std::optional<std::uint64_t> length;
  bool has_transfer_encoding = false;
  for (const auto& [name, value] : headers) {
    if (has_control_character(value)) return request_error{400, "control character in header " + name};
    if (iequals(name, "Transfer-Encoding")) {
      has_transfer_encoding = true;
    } else if (iequals(name, "Content-Length")) {
      const auto n = parse_length(value);
      if (!n) return request_error{400, "invalid Content-Length"};
      if (length && *length != *n) return request_error{400, "conflicting Content-Length headers"};
      length = n;
    }
  }
  if (has_transfer_encoding && length) return request_error{400, "both Transfer-Encoding and Content-Length"};
  if (!reads_body(method) && (has_transfer_encoding || (length && *length != 0))) {
    return request_error{400, "a " + std::string(method) + " request carries no body"};
  }
  // httplib reads a chunked body without any size limit: a body must declare its length.
  if (has_transfer_encoding) return request_error{411, "send the body with a Content-Length, not Transfer-Encoding"};
  if (length && *length > max_body) return request_error{413, "body over " + std::to_string(max_body) + " bytes"};
  return std::nullopt;
}

}  // namespace herd::api::detail
