#pragma once
// The project's result type (std::expected is C++23; Debian 12's GCC builds C++20).
// Expected failures are values that say what the caller may do about them;
// adapters classify, the gateway decides.
#include <string>
#include <utility>
#include <variant>

namespace herd::core {

enum class error_kind {
  retriable,  // try again later: broker down, disk momentarily full, timeout
  permanent,  // this input can never succeed: dead-letter it
  fatal,      // the component is unusable and must be rebuilt or the process stopped
};

const char* to_string(error_kind k);

// An error says two things: its class (what a caller may do: retry, give up on this input, stop)
// and its code: which condition of which module, "<module>.<name>", so the composition root can
// count, show and decide by cause. Codes in use (README, "Failure handling"):
//   outbox.full outbox.busy outbox.io outbox.readonly outbox.corrupt outbox.nomem outbox.other
//   kafka.<librdkafka error name>, e.g. kafka.TOPIC_AUTHORIZATION_FAILED, kafka._TRANSPORT
// An empty code is an error no adapter classified further (its class still holds).
struct error {
  error_kind kind = error_kind::permanent;
  std::string message;
  std::string code;

  static error retriable(std::string m, std::string c = {}) {
    return {error_kind::retriable, std::move(m), std::move(c)};
  }
  static error permanent(std::string m, std::string c = {}) {
    return {error_kind::permanent, std::move(m), std::move(c)};
  }
  static error fatal(std::string m, std::string c = {}) { return {error_kind::fatal, std::move(m), std::move(c)}; }
  bool is_fatal() const { return kind == error_kind::fatal; }
  bool is_retriable() const { return kind == error_kind::retriable; }
  // The module part of the code ("outbox" of "outbox.full"); empty when there is no code.
  std::string module() const { return code.substr(0, code.find('.')); }
};

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  result(error e) : v_(std::move(e)) {}                // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

// result<void>: success carries nothing.
struct ok_t {};
inline constexpr ok_t ok_v{};
using status = result<ok_t>;

}  // namespace herd::core
