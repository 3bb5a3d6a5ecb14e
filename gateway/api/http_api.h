// The internal order API v1 over HTTP/JSON (docs/PROTOCOL.md). Owns the HTTP server and its
// thread pool; every request is answered from the order service, which answers once the
// order is durably stored, never when the broker answers.
//
// Threads: start() spawns the listener; handlers run on the server's pool (api.threads).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "gateway/config/config.h"
#include "gateway/service/order_service.h"

namespace brokergw::api {

class HttpApi {
 public:
  // token: when non-empty, every /v1 request must carry "Authorization: Bearer <token>".
  // What the event pipeline reports for health and metrics (all optional).
  struct EventStatus {
    bool kafka_enabled = false;
    bool kafka_healthy = true;
    std::uint64_t published_through = 0;  // every event <= this is on Kafka
    std::uint64_t delivered = 0;
    std::uint64_t failed = 0;
  };
  using EventStatusFn = std::function<EventStatus()>;

  // admin_token: the bearer of /admin/v1 (admin_routes.cpp); empty disables those routes (403).
  HttpApi(service::OrderService& service, const config::Config& config, std::string token,
          EventStatusFn event_status = {}, std::string admin_token = {});
  ~HttpApi();

  // Binds and starts serving; an error names the address and the reason.
  tl::expected<void, std::string> start();
  void stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace brokergw::api
