#include "herd/core/result.hpp"

namespace herd::core {

const char* to_string(error_kind k) {
  switch (k) {
    case error_kind::retriable: return "retriable";
    case error_kind::permanent: return "permanent";
    case error_kind::fatal: break;
  }
  return "fatal";
}

}  // namespace herd::core
