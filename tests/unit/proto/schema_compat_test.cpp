#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "schema_compat.hpp"

using google::protobuf::DescriptorProto;
using google::protobuf::FileDescriptorSet;

namespace {

FileDescriptorSet load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  FileDescriptorSet set;
  REQUIRE(set.ParseFromIstream(&in));
  return set;
}

DescriptorProto* find_message(FileDescriptorSet& set, const std::string& name) {
  for (auto& f : *set.mutable_file()) {
    for (auto& m : *f.mutable_message_type()) {
      if (m.name() == name) return &m;
    }
  }
  FAIL("message " << name << " not in the set");
  return nullptr;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST_CASE("the current event contract is compatible with the committed baseline") {
  const auto baseline = load(HERD_PROTO_BASELINE);
  const auto current = load(HERD_PROTO_DESCRIPTORS);
  const auto problems = herd::test::breaking_changes(baseline, current);
  CHECK_MESSAGE(problems.empty(), "breaking schema changes:\n" << joined(problems));
}

TEST_CASE("the checker flags every kind of breaking change and accepts compatible ones") {
  const auto baseline = load(HERD_PROTO_BASELINE);

  SUBCASE("identical sets are compatible") { CHECK(herd::test::breaking_changes(baseline, baseline).empty()); }

  SUBCASE("a removed field without reserved is breaking; with reserved it is not") {
    auto cur = baseline;
    auto* m = find_message(cur, "EventEnvelope");
    const int number = m->field(4).number();  // aggregate_id
    m->mutable_field()->DeleteSubrange(4, 1);
    const auto problems = herd::test::breaking_changes(baseline, cur);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("aggregate_id") != std::string::npos);
    auto* r = m->add_reserved_range();
    r->set_start(number);
    r->set_end(number + 1);
    CHECK(herd::test::breaking_changes(baseline, cur).empty());
  }

  SUBCASE("a renumbered field is breaking") {
    auto cur = baseline;
    find_message(cur, "CollarReading")->mutable_field(4)->set_number(99);
    CHECK_FALSE(herd::test::breaking_changes(baseline, cur).empty());
  }

  SUBCASE("a retyped field is breaking") {
    auto cur = baseline;
    find_message(cur, "CollarReading")
        ->mutable_field(2)
        ->set_type(google::protobuf::FieldDescriptorProto::TYPE_STRING);
    const auto problems = herd::test::breaking_changes(baseline, cur);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("type changed") != std::string::npos);
  }

  SUBCASE("a renamed field is breaking") {
    auto cur = baseline;
    find_message(cur, "CollarReading")->mutable_field(0)->set_name("farm");
    CHECK_FALSE(herd::test::breaking_changes(baseline, cur).empty());
  }

  SUBCASE("an added field is compatible") {
    auto cur = baseline;
    auto* f = find_message(cur, "CollarReading")->add_field();
    f->set_name("lying_min");
    f->set_number(50);
    f->set_type(google::protobuf::FieldDescriptorProto::TYPE_DOUBLE);
    f->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
    CHECK(herd::test::breaking_changes(baseline, cur).empty());
  }

  SUBCASE("a removed message is breaking") {
    auto cur = baseline;
    for (auto& f : *cur.mutable_file()) {
      auto* msgs = f.mutable_message_type();
      for (int i = 0; i < msgs->size(); ++i) {
        if (msgs->Get(i).name() == "Actor") msgs->DeleteSubrange(i, 1);
      }
    }
    CHECK_FALSE(herd::test::breaking_changes(baseline, cur).empty());
  }
}
