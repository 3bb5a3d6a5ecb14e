// The events route of API v1 (docs/EVENTS.md): GET /v1/events?after=&limit=&wait_ms=, the
// polling alternative to Kafka, with an optional long poll when nothing is new yet.
//
// Threads: registered by HttpApi::start() on the main thread; the handler runs on a pool
// thread and may block there for up to wait_ms (at most 30 s) on the service's notifier.
//
// Invariants: the token is checked first; payloads are embedded verbatim, the same bytes as on
// Kafka; next_after is the last seq returned, or `after` itself when nothing was.
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/api/http_api_impl.h"
#include "gateway/events/event_render.h"
#include "gateway/intake/request_json.h"

namespace brokergw::api {
namespace {

using detail::reply_error;
using detail::reply_store_error;

}  // namespace

void HttpApi::Impl::event_routes() {
  server.Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    std::vector<intake::FieldError> errors;
    auto number = [&](const char* name, std::uint64_t def, std::uint64_t lo, std::uint64_t hi,
                      const char* reason) {
      if (!req.has_param(name)) return def;
      const std::string v = req.get_param_value(name);
      std::uint64_t out = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi) {
        errors.push_back({name, reason});
      }
      return out;
    };
    const std::uint64_t after =
        number("after", 0, 0, UINT64_MAX, "must be an event seq (a non-negative integer)");
    const std::uint64_t limit =
        number("limit", 100, 1, 1000, "must be an integer between 1 and 1000");
    const std::uint64_t wait_ms =
        number("wait_ms", 0, 0, 30000, "must be an integer between 0 and 30000");
    if (!errors.empty()) {
      reply_error(res, 400, "invalid_request", "invalid query parameters", errors);
      return;
    }
    auto events = service.events_after(after, limit);
    if (events && events->empty() && wait_ms > 0) {
      service.notifier().wait_after(after, std::chrono::milliseconds(wait_ms));
      events = service.events_after(after, limit);
    }
    if (!events) {
      reply_store_error(res, events.error());
      return;
    }
    // Payloads are embedded verbatim: the same bytes as on Kafka.
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < events->size(); ++i) {
      if (i) body += ",";
      body += events::event_payload((*events)[i], config.instance_id);
    }
    const std::uint64_t next = events->empty() ? after : events->back().seq;
    body += "],\"next_after\":" + std::to_string(next) + "}";
    res.status = 200;
    res.set_content(body, "application/json");
  });
}

}  // namespace brokergw::api
