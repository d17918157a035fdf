#include "herd/pg/copy.hpp"

#include "wire.hpp"

namespace herd::pg {

copy_rows::copy_rows() : data_("PGCOPY\n\377\r\n\0", 11) {
  wire::put_be(data_, std::uint32_t{0});  // flags: no OIDs
  wire::put_be(data_, std::uint32_t{0});  // header extension length
}

void copy_rows::row(std::int16_t fields) {
  wire::put_be(data_, static_cast<std::uint16_t>(fields));
  ++rows_;
}

void copy_rows::text(std::string_view v) {
  wire::put_be(data_, static_cast<std::uint32_t>(v.size()));
  data_.append(v);
}

void copy_rows::int8(std::int64_t v) {
  wire::put_be(data_, std::uint32_t{8});
  wire::put_be(data_, static_cast<std::uint64_t>(v));
}

void copy_rows::int4(std::int32_t v) {
  wire::put_be(data_, std::uint32_t{4});
  wire::put_be(data_, static_cast<std::uint32_t>(v));
}

std::string copy_rows::finish() {
  wire::put_be(data_, std::uint16_t{0xffff});
  return std::move(data_);
}

}  // namespace herd::pg
