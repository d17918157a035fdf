#pragma once
// Strict reading of a TOML config (toml++): every key a daemon reads is recorded, every key left
// over is an error ("unknown key"), and every problem is reported with its key path
// ("kafka.batch: must be between 1 and 100000, got 0"). Shared by herdgate and herd-projector.
// Thread: one reader per table, on the thread that parses.
#include <fmt/format.h>

#include <cstdint>
#include <set>
#include <string>
#include <toml++/toml.h>
#include <vector>

namespace herd::daemon {

// Reads one TOML table, remembers which keys were consumed and reports the rest as unknown.
class table_reader {
 public:
  table_reader(const toml::table* t, std::string path, std::vector<std::string>& errors)
      : t_(t), path_(std::move(path)), errors_(errors) {}

  void str(const char* key, std::string& out, bool required = false) {
    const toml::node* n = get(key);
    if (n == nullptr) {
      if (required) error(key, "is required");
      return;
    }
    if (auto v = n->value<std::string>(); v && n->is_string()) {
      if (required && v->empty()) return error(key, "must not be empty");
      out = *v;
    } else {
      error(key, "must be a string");
    }
  }

  template <class Int>
  void integer(const char* key, Int& out, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_integer()) return error(key, "must be an integer");
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi) return error(key, fmt::format("must be between {} and {}, got {}", lo, hi, v));
    out = static_cast<Int>(v);
  }

  // An integer or a float.
  void number(const char* key, double& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (n->is_integer()) out = static_cast<double>(*n->value<std::int64_t>());
    else if (n->is_floating_point()) out = *n->value<double>();
    else error(key, "must be a number");
  }

  // The node under key (marked as used), or nullptr.
  const toml::node* node(const char* key) { return get(key); }

  void boolean(const char* key, bool& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    if (!n->is_boolean()) return error(key, "must be true or false");
    out = *n->value<bool>();
  }

  void str_list(const char* key, std::vector<std::string>& out) {
    const toml::node* n = get(key);
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    if (a == nullptr || a->empty()) return error(key, "must be a non-empty array of strings");
    std::vector<std::string> v;
    for (const auto& e : *a) {
      if (!e.is_string()) return error(key, "must be a non-empty array of strings");
      v.push_back(*e.value<std::string>());
    }
    out = std::move(v);
  }

  // A sub-table; nullptr (and no error) when absent unless required.
  const toml::table* table(const char* key, bool required = false) {
    const toml::node* n = get(key);
    if (n == nullptr) {
      if (required) error(key, "section is required");
      return nullptr;
    }
    if (!n->is_table()) {
      error(key, "must be a table");
      return nullptr;
    }
    return n->as_table();
  }

  // Every key of this table, for free-form maps such as kafka.properties.
  template <class Fn>
  void each(Fn&& fn) {
    if (t_ == nullptr) return;
    for (auto&& [k, v] : *t_) {
      used_.insert(std::string(k.str()));
      fn(std::string(k.str()), v);
    }
  }

  void finish() {
    if (t_ == nullptr) return;
    for (auto&& [k, v] : *t_) {
      if (!used_.count(std::string(k.str()))) error(std::string(k.str()).c_str(), "unknown key");
    }
  }

  void error(const std::string& key, const std::string& what) {
    errors_.push_back(fmt::format("{}{}: {}", path_.empty() ? "" : path_ + ".", key, what));
  }
  std::string child(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  const toml::node* get(const char* key) {
    used_.insert(key);
    return t_ != nullptr ? t_->get(key) : nullptr;
  }

  const toml::table* t_;
  std::string path_;
  std::vector<std::string>& errors_;
  std::set<std::string> used_;
};

}  // namespace herd::daemon
