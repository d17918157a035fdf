#include "herd/pg/copy.hpp"

namespace herd::pg {
namespace {

template <class U>
void put_be(std::string& out, U v) {
  for (int i = static_cast<int>(sizeof(U)) - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

}  // namespace

copy_rows::copy_rows() : data_("PGCOPY\n\377\r\n\0", 11) {
  put_be(data_, std::uint32_t{0});  // flags: no OIDs
  put_be(data_, std::uint32_t{0});  // header extension length
}

void copy_rows::row(std::int16_t fields) {
  put_be(data_, static_cast<std::uint16_t>(fields));
  ++rows_;
}

void copy_rows::text(std::string_view v) {
  put_be(data_, static_cast<std::uint32_t>(v.size()));
  data_.append(v);
}

void copy_rows::int8(std::int64_t v) {
  put_be(data_, std::uint32_t{8});
  put_be(data_, static_cast<std::uint64_t>(v));
}

void copy_rows::int4(std::int32_t v) {
  put_be(data_, std::uint32_t{4});
  put_be(data_, static_cast<std::uint32_t>(v));
}

std::string copy_rows::finish() {
  put_be(data_, std::uint16_t{0xffff});
  return std::move(data_);
}

}  // namespace herd::pg
