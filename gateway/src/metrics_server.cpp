#include "metrics_server.hpp"

#include "herd/daemon/status_server.hpp"

namespace herd::gateway {

struct metrics_server::impl {
  observability_options opts;
  std::function<observability_snapshot()> observe;
  std::unique_ptr<daemon::status_server> server;
};

metrics_server::metrics_server(observability_options options,
                               std::function<observability_snapshot()> observe)
    : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(options);
  impl_->observe = std::move(observe);
  auto& p = *impl_;
  p.server = std::make_unique<daemon::status_server>(
      "metrics.listen", p.opts.listen,
      std::map<std::string, std::function<daemon::http_reply()>>{
          {"/metrics",
           [&p] { return daemon::http_reply{200, k_prometheus_content_type, render_prometheus(p.observe())}; }},
          {"/health", [&p] {
             const auto h = evaluate_health(p.observe(), p.opts);
             return daemon::http_reply{h.healthy ? 200 : 503, "application/json", h.json};
           }}});
}

metrics_server::~metrics_server() { stop(); }

core::status metrics_server::start() { return impl_->server->start(); }

void metrics_server::stop() { impl_->server->stop(); }

std::string metrics_server::address() const { return impl_->server->address(); }

}  // namespace herd::gateway
