#pragma once
// Statement parameters for libpq, all sent in PostgreSQL's BINARY wire format with their type
// OIDs declared (so bytea needs no escaping and a whole batch travels as a few arrays in one
// statement: INSERT ... SELECT * FROM unnest($1::text[], $2::bytea[], ...)).
// Wire formats: PostgreSQL 15 src/backend/utils/adt/{int8.c,float.c,arrayfuncs.c} *_send/_recv:
// integers and float8 big-endian; arrays = ndim, has-null flag, element OID, (size, lower bound)
// per dimension, then (int32 length or -1 for NULL, bytes) per element.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace herd::pg {

using oid = unsigned int;  // libpq's Oid

// Type OIDs (PostgreSQL 15 src/include/catalog/pg_type.dat; stable across versions).
namespace oids {
inline constexpr oid boolean = 16, bytea = 17, int8 = 20, int4 = 23, text = 25, float8 = 701;
inline constexpr oid bool_array = 1000, bytea_array = 1001, int4_array = 1007,
                     text_array = 1009, int8_array = 1016, float8_array = 1022;
}  // namespace oids

// A one-dimensional array parameter built element by element. Element type fixed at creation.
class array_param {
 public:
  explicit array_param(oid element);

  void add_text(std::string_view v);   // text or bytea elements: the bytes as they are
  void add_int8(std::int64_t v);
  void add_int4(std::int32_t v);
  void add_float8(double v);
  void add_null();
  template <class T>
  void add_optional(const std::optional<T>& v) {
    if (!v) {
      add_null();
    } else if constexpr (std::is_same_v<T, double>) {
      add_float8(*v);
    } else if constexpr (sizeof(T) == 8) {
      add_int8(static_cast<std::int64_t>(*v));
    } else {
      add_int4(static_cast<std::int32_t>(*v));
    }
  }

  std::size_t size() const { return count_; }
  oid element() const { return element_; }
  oid array_type() const;  // the array type's OID for `element`
  std::string encode() const;

 private:
  oid element_;
  std::size_t count_ = 0;
  bool has_null_ = false;
  std::string elements_;  // (length, bytes) per element
};

// The parameters of one statement, in order ($1, $2, ...).
class params {
 public:
  params& text(std::string_view v) { return add(oids::text, std::string(v)); }
  params& bytea(std::string_view v) { return add(oids::bytea, std::string(v)); }
  params& int8(std::int64_t v);
  params& int4(std::int32_t v);
  params& array(const array_param& a) { return add(a.array_type(), a.encode()); }

  std::size_t size() const { return values_.size(); }
  const std::vector<oid>& types() const { return types_; }
  // Views for PQexecPrepared: valid while this object lives and is not modified.
  std::vector<const char*> values() const;
  std::vector<int> lengths() const;
  std::vector<int> formats() const { return std::vector<int>(values_.size(), 1); }

 private:
  params& add(oid type, std::string bytes);
  std::vector<oid> types_;
  std::vector<std::string> values_;
};

// Decoding of binary-format result values (the inverse of the above).
std::int64_t decode_int(oid type, std::string_view bytes);  // int2 / int4 / int8
double decode_float8(std::string_view bytes);

}  // namespace herd::pg
