#pragma once
// The herd dashboard (one page, README "Dashboard"): static files served by herd-api.
#include <optional>
#include <string>

#include "herd/api/service.hpp"

namespace herd::api {

// The file for a GET of `path` ("/" = the page), or nullopt if `path` is not a dashboard file.
// `refresh_s` is written into the page (how often it reloads its data).
std::optional<response> dashboard_asset(const std::string& path, unsigned refresh_s);

}  // namespace herd::api
