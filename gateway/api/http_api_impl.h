// Internal to gateway/api: HttpApi::Impl (the server, its state and the route groups) and the
// JSON reply helpers every route uses. Route groups live in their own files: order_routes.cpp
// (/v1/orders...), event_routes.cpp (/v1/events), metrics.cpp (/v1/health, /metrics and the
// outbox figures both show), admin_routes.cpp (/admin/v1/sessions and the session part of
// health and metrics); http_api.cpp owns the lifetime, authorization and registration.
//
// Threads: Impl is built and its routes registered on the thread calling HttpApi::start()
// (main); handlers then run concurrently on the server's pool (api.threads), so they touch
// only `service` (thread-safe), the immutable `config`, `token` and `admin_token`, and
// `event_status`.
//
// Invariants: routes are registered once, before bind, in routes()' fixed order; every error
// body is intake::errors_to_json; an order is answered only from what the service stored.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/api/http_api.h"
#include "gateway/intake/request_json.h"

namespace brokergw::api {
namespace detail {

// Reply helpers (http_api.cpp).
void reply(httplib::Response& res, int status, const nlohmann::json& body);
void reply_error(httplib::Response& res, int status, const std::string& code,
                 const std::string& message, const std::vector<intake::FieldError>& fields = {});
// An order answer: 201/202 when this request stored it, 200 with Idempotent-Replay when an
// identical earlier request already had.
void reply_order(httplib::Response& res, int status, const store::VersionedOrder& vo, bool replay);
void reply_store_error(httplib::Response& res, const store::StoreError& e);

}  // namespace detail

struct HttpApi::Impl {
  service::OrderService& service;
  const config::Config& config;
  std::string token;
  EventStatusFn event_status;
  std::string admin_token;  // empty: the admin routes answer 403
  httplib::Server server;
  std::thread thread;
  int bound_port = 0;

  Impl(service::OrderService& s, const config::Config& c, std::string t, EventStatusFn es,
       std::string admin)
      : service(s),
        config(c),
        token(std::move(t)),
        event_status(std::move(es)),
        admin_token(std::move(admin)) {}

  // Outbox depth and readiness: the gateway is not ready when more than events.max_outbox
  // events wait for Kafka (they are kept, not dropped).
  struct Outbox {
    bool enabled = false;
    bool healthy = true;
    std::uint64_t last = 0;
    std::uint64_t published = 0;
    std::uint64_t depth = 0;
    bool exceeded = false;
    std::uint64_t delivered = 0;
    std::uint64_t failed = 0;
  };
  Outbox outbox();  // metrics.cpp

  // http_api.cpp: the bearer-token check (answers 401 itself) and the registration of all
  // routes, in this order: order_routes, event_routes, health_route, metrics_route, then the
  // error and exception handlers; admin_routes last.
  bool authorized(const httplib::Request& req, httplib::Response& res);
  // admin_routes.cpp: the admin bearer check (answers 403 without an admin token, else 401).
  bool admin_authorized(const httplib::Request& req, httplib::Response& res);
  void routes();

  void order_routes();   // order_routes.cpp: POST/GET /v1/orders..., cancel
  void event_routes();   // event_routes.cpp: GET /v1/events (long poll)
  void health_route();   // metrics.cpp: GET /v1/health
  void metrics_route();  // metrics.cpp: GET /metrics (Prometheus text)
  void admin_routes();   // admin_routes.cpp: /admin/v1/sessions...
  // admin_routes.cpp: a broker's session in /v1/health, and the session gauges of /metrics.
  nlohmann::json session_json(const adapters::SessionControlStatus& status);
  void session_metrics(std::string& out);
};

}  // namespace brokergw::api
