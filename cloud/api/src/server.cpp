#include "herd/api/server.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "request_syntax.hpp"
#include "herd/core/logging.hpp"

namespace herd::api {

struct http_server::impl {
  httplib::Server http;
  service& svc;
  impl(service& s) : svc(s) {}
};

namespace {

void serve(service& svc, const httplib::Request& in, httplib::Response& out) {
  request r;
  r.method = in.method;
  r.path = in.path;
  for (const auto& [k, v] : in.params) r.query.emplace(k, v);
  r.authorization = in.get_header_value("Authorization");
  r.body = in.body;
  response res = svc.handle(r);
  out.status = res.status;
  for (const auto& [k, v] : res.headers) out.set_header(k, v);
  if (in.method == "HEAD") {
    out.set_header("Content-Type", res.content_type);
    return;
  }
  out.set_content(std::move(res.body), res.content_type.c_str());
}

}  // namespace

http_server::http_server(service& svc, std::uint32_t threads) : impl_(std::make_unique<impl>(svc)) {
  auto& h = impl_->http;
  h.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  constexpr std::size_t max_body = 64 * 1024;
  h.set_payload_max_length(max_body);
  h.set_read_timeout(5, 0);
  h.set_write_timeout(5, 0);
  h.set_keep_alive_timeout(5);
  h.set_keep_alive_max_count(100);
  h.set_pre_routing_handler([](const httplib::Request& in, httplib::Response& out) {
    const std::vector<std::pair<std::string, std::string>> headers(in.headers.begin(), in.headers.end());
    const auto bad = detail::check_request_syntax(in.method, headers, max_body);
    if (!bad) return httplib::Server::HandlerResponse::Unhandled;
    out.status = bad->status;
    out.set_content(nlohmann::json{{"error", bad->message}, {"status", bad->status}}.dump(), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  auto handler = [this](const httplib::Request& in, httplib::Response& out) { serve(impl_->svc, in, out); };
  h.Get(".*", handler);
  h.Post(".*", handler);
  h.Put(".*", handler);
  h.Delete(".*", handler);
  h.Patch(".*", handler);
  h.Options(".*", handler);
  h.set_exception_handler([](const httplib::Request& in, httplib::Response& out, std::exception_ptr) {
    core::module_logger("api")->error("{} {}: unexpected exception", in.method, in.path);
    out.status = 500;
    out.set_content(R"({"error":"internal error","status":500})", "application/json");
  });
}

http_server::~http_server() { stop(); }

core::result<std::uint16_t> http_server::bind(const std::string& host, std::uint16_t port) {
  if (port == 0) {
    const int p = impl_->http.bind_to_any_port(host.c_str());
    if (p <= 0) return core::error::retriable("herd-api: cannot bind " + host + ":0");
    return static_cast<std::uint16_t>(p);
  }
  if (!impl_->http.bind_to_port(host.c_str(), port)) {
    return core::error::retriable("herd-api: cannot bind " + host + ":" + std::to_string(port));
  }
  return port;
}

void http_server::run() { impl_->http.listen_after_bind(); }

void http_server::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace herd::api
