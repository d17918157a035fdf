#pragma once
// Breaking-change check between two descriptor sets: the role a schema registry's
// compatibility check plays for Kafka. Compatible: add messages, fields, enum values.
// Breaking: a message or enum removed; a field or enum value removed without `reserved`,
// renumbered, renamed or retyped; a field's cardinality changed.
#include <google/protobuf/descriptor.pb.h>

#include <string>
#include <vector>

namespace herd::test {

std::vector<std::string> breaking_changes(const google::protobuf::FileDescriptorSet& baseline,
                                          const google::protobuf::FileDescriptorSet& current);

}  // namespace herd::test
