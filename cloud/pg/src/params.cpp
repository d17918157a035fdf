#include "herd/pg/params.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

#include "wire.hpp"

namespace herd::pg {
namespace {

using wire::put_be;

void put_i32(std::string& out, std::int32_t v) { put_be(out, static_cast<std::uint32_t>(v)); }

std::uint64_t get_be(std::string_view bytes) {
  std::uint64_t v = 0;
  for (unsigned char c : bytes) v = (v << 8) | c;
  return v;
}

}  // namespace

array_param::array_param(oid element) : element_(element) { (void)array_type(); }

oid array_param::array_type() const {
  switch (element_) {
    case oids::boolean: return oids::bool_array;
    case oids::bytea: return oids::bytea_array;
    case oids::int4: return oids::int4_array;
    case oids::text: return oids::text_array;
    case oids::int8: return oids::int8_array;
    case oids::float8: return oids::float8_array;
    default: throw std::logic_error("pg::array_param: unsupported element type");
  }
}

void array_param::add_text(std::string_view v) {
  put_i32(elements_, static_cast<std::int32_t>(v.size()));
  elements_.append(v);
  ++count_;
}

void array_param::add_int8(std::int64_t v) {
  put_i32(elements_, 8);
  put_be(elements_, static_cast<std::uint64_t>(v));
  ++count_;
}

void array_param::add_int4(std::int32_t v) {
  put_i32(elements_, 4);
  put_be(elements_, static_cast<std::uint32_t>(v));
  ++count_;
}

void array_param::add_float8(double v) {
  put_i32(elements_, 8);
  put_be(elements_, std::bit_cast<std::uint64_t>(v));
  ++count_;
}

void array_param::add_null() {
  put_i32(elements_, -1);
  has_null_ = true;
  ++count_;
}

std::string array_param::encode() const {
  std::string out;
  out.reserve(20 + elements_.size());
  if (count_ == 0) {  // an empty array has no dimensions
    put_i32(out, 0);
    put_i32(out, 0);
    put_be(out, static_cast<std::uint32_t>(element_));
    return out;
  }
  put_i32(out, 1);  // ndim
  put_i32(out, has_null_ ? 1 : 0);
  put_be(out, static_cast<std::uint32_t>(element_));
  put_i32(out, static_cast<std::int32_t>(count_));
  put_i32(out, 1);  // lower bound
  out += elements_;
  return out;
}

params& params::int8(std::int64_t v) {
  std::string b;
  put_be(b, static_cast<std::uint64_t>(v));
  return add(oids::int8, std::move(b));
}

params& params::int4(std::int32_t v) {
  std::string b;
  put_be(b, static_cast<std::uint32_t>(v));
  return add(oids::int4, std::move(b));
}

params& params::add(oid type, std::string bytes) {
  types_.push_back(type);
  values_.push_back(std::move(bytes));
  return *this;
}

std::vector<const char*> params::values() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v.data());
  return out;
}

std::vector<int> params::lengths() const {
  std::vector<int> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(static_cast<int>(v.size()));
  return out;
}

std::int64_t decode_int(oid type, std::string_view bytes) {
  const std::uint64_t raw = get_be(bytes);
  switch (bytes.size()) {
    case 2: return static_cast<std::int16_t>(static_cast<std::uint16_t>(raw));
    case 4: return static_cast<std::int32_t>(static_cast<std::uint32_t>(raw));
    case 8: return static_cast<std::int64_t>(raw);
    default:
      throw std::logic_error("pg::decode_int: type " + std::to_string(type) + " with " +
                             std::to_string(bytes.size()) + " bytes");
  }
}

double decode_float8(std::string_view bytes) {
  if (bytes.size() != 8) throw std::logic_error("pg::decode_float8: not 8 bytes");
  return std::bit_cast<double>(get_be(bytes));
}

}  // namespace herd::pg
