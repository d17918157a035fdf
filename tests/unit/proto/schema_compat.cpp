#include "schema_compat.hpp"

#include <map>

namespace herd::test {

namespace {

using google::protobuf::DescriptorProto;
using google::protobuf::EnumDescriptorProto;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptorSet;

struct index {
  std::map<std::string, const DescriptorProto*> messages;  // by full name
  std::map<std::string, const EnumDescriptorProto*> enums;
};

void add_enums(index& idx, const std::string& scope,
               const google::protobuf::RepeatedPtrField<EnumDescriptorProto>& enums) {
  for (const auto& e : enums) idx.enums[scope + "." + e.name()] = &e;
}

void add_messages(index& idx, const std::string& scope,
                  const google::protobuf::RepeatedPtrField<DescriptorProto>& msgs) {
  for (const auto& m : msgs) {
    const std::string name = scope + "." + m.name();
    idx.messages[name] = &m;
    add_messages(idx, name, m.nested_type());
    add_enums(idx, name, m.enum_type());
  }
}

// Only our own contract: google/protobuf/* well-known types are not ours to check.
index build_index(const FileDescriptorSet& set) {
  index idx;
  for (const auto& f : set.file()) {
    if (f.package().rfind("google.", 0) == 0) continue;
    add_messages(idx, f.package(), f.message_type());
    add_enums(idx, f.package(), f.enum_type());
  }
  return idx;
}

template <class Reserved>
bool number_reserved(const Reserved& ranges, int number, bool end_inclusive) {
  for (const auto& r : ranges) {
    const bool in = end_inclusive ? (number >= r.start() && number <= r.end())
                                  : (number >= r.start() && number < r.end());
    if (in) return true;
  }
  return false;
}

std::string type_of(const FieldDescriptorProto& f) {
  return f.has_type_name() ? f.type_name() : FieldDescriptorProto::Type_Name(f.type());
}

void check_message(const std::string& name, const DescriptorProto& old_m, const DescriptorProto& new_m,
                   std::vector<std::string>& out) {
  std::map<int, const FieldDescriptorProto*> fields;
  for (const auto& f : new_m.field()) fields[f.number()] = &f;
  for (const auto& of : old_m.field()) {
    const std::string where = name + "." + of.name() + " (#" + std::to_string(of.number()) + ")";
    const auto it = fields.find(of.number());
    if (it == fields.end()) {
      // DescriptorProto.ReservedRange end is exclusive.
      if (!number_reserved(new_m.reserved_range(), of.number(), false)) {
        out.push_back(where + ": removed without reserving its number");
      }
      continue;
    }
    const auto& nf = *it->second;
    if (nf.name() != of.name()) out.push_back(where + ": renamed to " + nf.name());
    if (type_of(nf) != type_of(of)) {
      out.push_back(where + ": type changed from " + type_of(of) + " to " + type_of(nf));
    }
    if (nf.label() != of.label()) out.push_back(where + ": cardinality changed");
  }
}

void check_enum(const std::string& name, const EnumDescriptorProto& old_e, const EnumDescriptorProto& new_e,
                std::vector<std::string>& out) {
  std::map<int, std::string> values;
  for (const auto& v : new_e.value()) values[v.number()] = v.name();
  for (const auto& ov : old_e.value()) {
    const std::string where = name + "." + ov.name() + " (=" + std::to_string(ov.number()) + ")";
    const auto it = values.find(ov.number());
    if (it == values.end()) {
      // EnumReservedRange end is inclusive.
      if (!number_reserved(new_e.reserved_range(), ov.number(), true)) {
        out.push_back(where + ": removed without reserving its number");
      }
    } else if (it->second != ov.name()) {
      out.push_back(where + ": renamed to " + it->second);
    }
  }
}

}  // namespace

std::vector<std::string> breaking_changes(const FileDescriptorSet& baseline, const FileDescriptorSet& current) {
  const index old_idx = build_index(baseline);
  const index new_idx = build_index(current);
  std::vector<std::string> out;
  for (const auto& [name, m] : old_idx.messages) {
    const auto it = new_idx.messages.find(name);
    if (it == new_idx.messages.end()) out.push_back(name + ": message removed");
    else check_message(name, *m, *it->second, out);
  }
  for (const auto& [name, e] : old_idx.enums) {
    const auto it = new_idx.enums.find(name);
    if (it == new_idx.enums.end()) out.push_back(name + ": enum removed");
    else check_enum(name, *e, *it->second, out);
  }
  return out;
}

}  // namespace herd::test
