// The HttpApi object (http_api.h): its lifetime (construction, start: thread pool, socket
// options, bind, listener thread; stop), the bearer-token check, the JSON reply helpers, the
// error and exception handlers, and the order in which the route groups are registered.
//
// Threads: construct, start() and stop() on the main thread; the listener runs on the thread
// start() spawns; handlers, authorized() and the reply helpers on the server's pool threads.
//
// Invariants: routes are registered once, before bind; every /v1 route but /v1/health checks
// the token first (health and /metrics stay open for probes); the token is compared in
// constant time and never logged; the listening socket gets SO_REUSEADDR, never SO_REUSEPORT.
#include "gateway/api/http_api.h"

#include <httplib.h>
#include <sys/socket.h>

#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "gateway/api/http_api_impl.h"
#include "gateway/intake/request_json.h"

namespace brokergw::api {
namespace detail {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(intake::to_body(body), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& code,
                 const std::string& message, const std::vector<intake::FieldError>& fields) {
  reply(res, status, intake::errors_to_json(code, message, fields));
}

void reply_order(httplib::Response& res, int status, const store::VersionedOrder& vo, bool replay) {
  if (replay) res.set_header("Idempotent-Replay", "true");
  reply(res, replay ? 200 : status, intake::order_to_json(vo.order, vo.version));
}

void reply_store_error(httplib::Response& res, const store::StoreError& e) {
  if (e.code == store::StoreErrc::kMapFull || e.code == store::StoreErrc::kIo) {
    reply_error(
        res, 507, "store_full",
        "the gateway cannot store orders right now: " + std::string(store::to_string(e.code)));
  } else {
    reply_error(res, 503, "store_unavailable",
                "the gateway's store failed: " + std::string(store::to_string(e.code)));
  }
}

}  // namespace detail

namespace {

using detail::reply_error;

// Constant-time comparison, so response timing does not reveal a token prefix.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool HttpApi::Impl::authorized(const httplib::Request& req, httplib::Response& res) {
  if (token.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() > kPrefix.size() && header.compare(0, kPrefix.size(), kPrefix) == 0 &&
      same_secret(std::string_view(header).substr(kPrefix.size()), token)) {
    return true;
  }
  reply_error(res, 401, "unauthorized", "missing or wrong bearer token");
  return false;
}

void HttpApi::Impl::routes() {
  order_routes();
  event_routes();
  health_route();
  metrics_route();
  admin_routes();

  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      reply_error(res, res.status, res.status == 404 ? "not_found" : "http_error",
                  "HTTP status " + std::to_string(res.status));
    }
  });
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("api: {} {} failed: {}", req.method, req.path, what);
        reply_error(res, 500, "internal", "internal error");
      });
}

HttpApi::HttpApi(service::OrderService& service, const config::Config& config, std::string token,
                 EventStatusFn event_status, std::string admin_token)
    : impl_(std::make_unique<Impl>(service, config, std::move(token), std::move(event_status),
                                   std::move(admin_token))) {}

HttpApi::~HttpApi() { stop(); }

tl::expected<void, std::string> HttpApi::start() {
  Impl& i = *impl_;
  const std::size_t threads = i.config.api_threads;
  i.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  i.server.set_payload_max_length(i.config.api_max_body_bytes);
  i.server.set_tcp_nodelay(true);
  i.server.set_keep_alive_max_count(1000);
  // Debian's cpp-httplib is built with a listen backlog of 5, which drops connections under a
  // burst of clients. Capture the listening socket so its backlog can be raised after bind.
  // Only SO_REUSEADDR: never SO_REUSEPORT, so a second gateway cannot share the port.
  int listen_fd = -1;
  i.server.set_socket_options([&listen_fd](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = fd;
  });
  i.routes();
  if (!i.server.bind_to_port(i.config.api_listen_address, i.config.api_listen_port)) {
    return tl::unexpected("api: cannot listen on " + i.config.api_listen_address + ":" +
                          std::to_string(i.config.api_listen_port) +
                          " (address in use or not local)");
  }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  i.bound_port = i.config.api_listen_port;
  i.thread = std::thread([&i] { i.server.listen_after_bind(); });
  spdlog::info("api: listening on http://{}:{}/v1", i.config.api_listen_address, i.bound_port);
  return {};
}

void HttpApi::stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpApi::port() const { return impl_->bound_port; }

}  // namespace brokergw::api
