#pragma once
// Rows for COPY ... FROM STDIN (FORMAT binary), built field by field (connection::copy_in sends
// them). Wire format: PostgreSQL 15 docs, "COPY", "Binary Format": a signature, flags and header
// extension; per row an int16 field count, then per field an int32 length (-1 = NULL) and the
// value in the type's binary send format (as in params.hpp: integers big-endian, text and bytea
// the bytes as they are); an int16 -1 trailer.
#include <cstdint>
#include <string>
#include <string_view>

namespace herd::pg {

class copy_rows {
 public:
  copy_rows();

  // Starts a row of `fields` fields; exactly that many values must follow.
  void row(std::int16_t fields);
  void text(std::string_view v);  // text or bytea: the bytes as they are
  void int8(std::int64_t v);
  void int4(std::int32_t v);

  std::size_t rows() const { return rows_; }
  // The whole COPY stream, trailer included. The builder is spent afterwards.
  std::string finish();

 private:
  std::string data_;
  std::size_t rows_ = 0;
};

}  // namespace herd::pg
