#include "dashboard.hpp"

#include "dashboard_assets.hpp"

namespace herd::api {

std::optional<response> dashboard_asset(const std::string& path, unsigned refresh_s) {
  const std::string want = path == "/" ? "/index.html" : path;
  for (const auto& a : detail::assets()) {
    if (want != a.path) continue;
    response r;
    r.content_type = a.content_type;
    r.body.assign(a.data, a.size);
    if (want == "/index.html") {
      const std::string mark = "@REFRESH_S@";
      for (auto at = r.body.find(mark); at != std::string::npos; at = r.body.find(mark)) {
        r.body.replace(at, mark.size(), std::to_string(refresh_s));
      }
    }
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    return r;
  }
  return std::nullopt;
}

}  // namespace herd::api
