#pragma once
// The smallest valid gateway config: every required key, nothing else. Config tests add to it.
#include <string>

namespace herd::test {

inline const std::string k_minimal_config = R"(
[gateway]
id = "gw"
[mqtt]
client_id = "hg"
[kafka]
bootstrap = "127.0.0.1:9092"
[outbox]
path = "/tmp/o.db"
[registry]
path = "/tmp/r.csv"
)";

}  // namespace herd::test
