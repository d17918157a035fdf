// What the outbox says when its storage fails: class and code per condition (issue 13).
#include <doctest/doctest.h>

#include <herd/test_support/fault_vfs.hpp>

#include "../temp_path.hpp"
#include "herd/buffer/outbox.hpp"

using namespace herd;
using test_support::storage_fault;

namespace {

core::status append_one(buffer::outbox& ob, int i) {
  auto r = ob.append("animal", "key-" + std::to_string(i), [](std::uint64_t) { return std::string(100, 'x'); });
  if (!r) return r.err();
  return core::ok_v;
}

}  // namespace

TEST_CASE("storage faults are classified: full and busy retriable, read-only and I/O errors fatal") {
  test::scratch_dir dir;
  test_support::fault_vfs vfs(dir.file(""));
  auto ob = buffer::outbox::open({.path = dir.file("outbox.db"), .synchronous = buffer::sync_mode::normal});
  REQUIRE(ob.ok());
  REQUIRE(append_one(**ob, 0).ok());
  struct row {
    storage_fault fault;
    core::error_kind kind;
    const char* code;
  };
  const row table[] = {
      {storage_fault::full, core::error_kind::retriable, "outbox.full"},
      {storage_fault::readonly, core::error_kind::fatal, "outbox.readonly"},
      {storage_fault::io, core::error_kind::fatal, "outbox.io"},
  };
  int i = 1;
  for (const auto& r : table) {
    CAPTURE(r.code);
    vfs.set(r.fault);
    auto st = append_one(**ob, i++);
    REQUIRE_FALSE(st.ok());
    CAPTURE(st.err().message);
    CHECK(st.err().kind == r.kind);
    CHECK(st.err().code == r.code);
    const std::uint64_t one = 1;
    auto ack = (*ob)->ack({&one, 1});
    REQUIRE_FALSE(ack.ok());
    CHECK(ack.err().code == r.code);
    vfs.clear();
    CHECK(append_one(**ob, i++).ok());  // the outbox itself is unharmed
  }
}
