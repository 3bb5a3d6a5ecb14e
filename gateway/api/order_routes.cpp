// The order routes of API v1 (docs/PROTOCOL.md): POST /v1/orders (submit), POST
// /v1/orders/{id}/cancel, GET /v1/orders/{id} and GET /v1/orders (filtered, paged list).
//
// Threads: registered by HttpApi::start() on the main thread; the handlers run on the server's
// pool threads, concurrently, and share only the order service.
//
// Invariants: every handler checks the token first; a 201/202 is sent only once the service has
// durably stored the order or cancel, never on the broker's answer; a replay of an identical
// request answers 200 with Idempotent-Replay; an invalid request changes nothing (400).
#include <charconv>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/api/http_api_impl.h"
#include "gateway/intake/request_json.h"

namespace brokergw::api {
namespace {

using detail::reply;
using detail::reply_error;
using detail::reply_order;
using detail::reply_store_error;
using nlohmann::json;

}  // namespace

void HttpApi::Impl::order_routes() {
  server.Post("/v1/orders", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    auto parsed = intake::parse_new_order(
        req.body, [this](std::string_view b) { return service.broker_known(b); });
    if (!parsed) {
      reply_error(res, 400, "invalid_request", "the order has invalid fields; nothing stored",
                  parsed.error());
      return;
    }
    service::SubmitOutcome out = service.submit(*parsed);
    switch (out.status) {
      case service::SubmitStatus::kCreated:
      case service::SubmitStatus::kReplayed:
        reply_order(res, 201, *out.order, out.status == service::SubmitStatus::kReplayed);
        return;
      case service::SubmitStatus::kConflict:
        reply_error(res, 409, "client_order_id_conflict",
                    out.detail.empty() ? "client_order_id " + parsed->client_order_id +
                                             " was already used with a different order; "
                                             "nothing changed"
                                       : out.detail);
        return;
      case service::SubmitStatus::kBrokerBusy:
        res.set_header("Retry-After", "1");
        reply_error(res, 503, "broker_busy", out.detail);
        return;
      case service::SubmitStatus::kStoreError:
        reply_store_error(res, *out.store_error);
        return;
      default:
        reply_error(res, 400, "invalid_request", out.detail);
        return;
    }
  });

  server.Post(
      R"(/v1/orders/([^/]+)/cancel)", [this](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res)) return;
        const std::string id = req.matches[1];
        auto parsed = intake::parse_cancel(req.body);
        if (!parsed) {
          reply_error(res, 400, "invalid_request", "the cancel has invalid fields; nothing changed",
                      parsed.error());
          return;
        }
        service::SubmitOutcome out = service.cancel(id, parsed->client_cancel_id);
        switch (out.status) {
          case service::SubmitStatus::kCreated:
          case service::SubmitStatus::kReplayed:
            reply_order(res, 202, *out.order, out.status == service::SubmitStatus::kReplayed);
            return;
          case service::SubmitStatus::kConflict:
            reply_error(res, 409, "client_cancel_id_conflict", out.detail);
            return;
          case service::SubmitStatus::kUnknownOrder:
            reply_error(res, 404, "order_not_found", "no order " + id);
            return;
          case service::SubmitStatus::kRefused:
            reply_error(res, 409,
                        out.refusal->reason == core::RefusalReason::kNotCancelable
                            ? "order_not_cancelable"
                            : "cancel_in_flight",
                        out.refusal->detail);
            return;
          case service::SubmitStatus::kStoreError:
            reply_store_error(res, *out.store_error);
            return;
          default:
            reply_error(res, 500, "internal", "unexpected outcome");
            return;
        }
      });

  server.Get(R"(/v1/orders/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    const std::string id = req.matches[1];
    auto found = service.get(id);
    if (!found) {
      if (found.error().code == store::StoreErrc::kNotFound) {
        reply_error(res, 404, "order_not_found", "no order " + id);
      } else {
        reply_store_error(res, found.error());
      }
      return;
    }
    reply(res, 200, intake::order_to_json(found->order, found->version));
  });

  server.Get("/v1/orders", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    store::OrderFilter filter;
    std::vector<intake::FieldError> errors;
    if (req.has_param("account")) filter.account = req.get_param_value("account");
    if (req.has_param("broker")) filter.broker = req.get_param_value("broker");
    if (req.has_param("symbol")) filter.symbol = req.get_param_value("symbol");
    if (req.has_param("discrepancy")) {
      const std::string d = req.get_param_value("discrepancy");
      if (d == "any") {
        filter.discrepancy = store::Discrepancy::kAny;
      } else if (d == "fills_missing") {
        filter.discrepancy = store::Discrepancy::kFillsMissing;
      } else if (d == "unverified") {
        filter.discrepancy = store::Discrepancy::kUnverified;
      } else {
        errors.push_back({"discrepancy", "must be any, fills_missing or unverified"});
      }
    }
    if (req.has_param("state")) {
      filter.state = core::order_state_from_string(req.get_param_value("state"));
      if (!filter.state) errors.push_back({"state", "unknown order state"});
    }
    std::size_t limit = 100;
    if (req.has_param("limit")) {
      const std::string v = req.get_param_value("limit");
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
      if (ec != std::errc() || p != v.data() + v.size() || limit < 1 || limit > 1000) {
        errors.push_back({"limit", "must be an integer between 1 and 1000"});
      }
    }
    if (!errors.empty()) {
      reply_error(res, 400, "invalid_request", "invalid query parameters", errors);
      return;
    }
    const std::string after = req.has_param("after") ? req.get_param_value("after") : "";
    auto orders = service.list(filter, after, limit);
    if (!orders) {
      reply_store_error(res, orders.error());
      return;
    }
    json body;
    body["orders"] = json::array();
    for (const auto& vo : *orders)
      body["orders"].push_back(intake::order_to_json(vo.order, vo.version));
    // The cursor for the next page; absent on the last page.
    if (orders->size() == limit) body["next_after"] = orders->back().order.request.client_order_id;
    reply(res, 200, body);
  });
}

}  // namespace brokergw::api
