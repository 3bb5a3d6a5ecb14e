#include "gateway/api/http_api.h"

#include <httplib.h>
#include <sys/socket.h>

#include <charconv>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "gateway/events/event_render.h"
#include "gateway/intake/request_json.h"

namespace brokergw::api {
namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(intake::to_body(body), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& code,
                 const std::string& message, const std::vector<intake::FieldError>& fields = {}) {
  reply(res, status, intake::errors_to_json(code, message, fields));
}

// Constant-time comparison, so response timing does not reveal a token prefix.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// An order answer: 201/202 when this request stored it, 200 with Idempotent-Replay when an
// identical earlier request already had.
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

}  // namespace

struct HttpApi::Impl {
  service::OrderService& service;
  const config::Config& config;
  std::string token;
  EventStatusFn event_status;
  httplib::Server server;
  std::thread thread;
  int bound_port = 0;

  Impl(service::OrderService& s, const config::Config& c, std::string t, EventStatusFn es)
      : service(s), config(c), token(std::move(t)), event_status(std::move(es)) {}

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
  Outbox outbox() {
    Outbox o;
    o.last = service.last_event_seq().value_or(0);
    if (event_status) {
      EventStatus es = event_status();
      o.enabled = es.kafka_enabled;
      o.healthy = es.kafka_healthy;
      o.published = es.published_through;
      o.delivered = es.delivered;
      o.failed = es.failed;
    }
    if (o.enabled) {
      o.depth = o.last > o.published ? o.last - o.published : 0;
      o.exceeded = o.depth > config.events_max_outbox;
    }
    return o;
  }

  bool authorized(const httplib::Request& req, httplib::Response& res) {
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

  void routes() {
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

    server.Post(R"(/v1/orders/([^/]+)/cancel)", [this](const httplib::Request& req,
                                                       httplib::Response& res) {
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

    server.Get(R"(/v1/orders/([^/]+))",
               [this](const httplib::Request& req, httplib::Response& res) {
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
      if (orders->size() == limit)
        body["next_after"] = orders->back().order.request.client_order_id;
      reply(res, 200, body);
    });

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

    server.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
      json body;
      bool all_up = true;
      body["brokers"] = json::object();
      for (const auto& b : service.broker_status()) {
        const core::TimestampUs now = service::system_now_us();
        json attention = json::array();
        for (const auto& a : b.attention) {
          attention.push_back({{"client_order_id", a.client_order_id},
                               {"unknown_for_s", (now - a.since_us) / 1000000}});
        }
        body["brokers"][b.name] = {
            {"logged_on", b.logged_on},
            {"queued", b.queued},
            {"queue_capacity", b.capacity},
            {"queue_full_total", b.lane_full},
            {"open_orders", b.open_orders},
            {"unknown_orders", b.unknown_orders},
            {"oldest_unknown_age_s",
             b.oldest_unknown_us ? (now - b.oldest_unknown_us) / 1000000 : 0},
            {"attention_required", b.attention_total},
            {"attention_orders", attention},
            {"status_query_refused", b.status_query_refused},
            {"resolution_in_flight", b.resolution_in_flight}};
        all_up = all_up && b.logged_on && b.attention_total == 0;
      }
      Outbox ob = outbox();
      body["events"] = {{"last_seq", ob.last},         {"kafka_enabled", ob.enabled},
                        {"kafka_healthy", ob.healthy}, {"published_through", ob.published},
                        {"outbox_depth", ob.depth},    {"outbox_exceeded", ob.exceeded}};
      all_up = all_up && ob.healthy && !ob.exceeded;
      body["status"] = all_up ? "ok" : "degraded";
      body["instance_id"] = config.instance_id;
      reply(res, 200, body);
    });

    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const auto& m = service.metrics();
      std::string out;
      auto counter = [&out](const char* name, const char* help, std::uint64_t v) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" +
               name + " " + std::to_string(v) + "\n";
      };
      counter("brokergw_orders_created_total", "Orders stored as pending_new.", m.orders_created);
      counter("brokergw_orders_replayed_total", "Idempotent replays answered from the store.",
              m.orders_replayed);
      counter("brokergw_order_conflicts_total", "Same client_order_id, different order.",
              m.order_conflicts);
      counter("brokergw_broker_busy_total", "Orders refused because a broker queue was full.",
              m.broker_busy);
      counter("brokergw_cancels_accepted_total", "Cancel requests stored.", m.cancels_accepted);
      counter("brokergw_messages_sent_total", "Messages handed to broker sessions.",
              m.messages_sent);
      counter("brokergw_send_failures_total", "Messages a broker session did not take.",
              m.send_failures);
      counter("brokergw_reports_applied_total", "Broker reports applied to orders.",
              m.reports_applied);
      counter("brokergw_reports_duplicate_total", "Duplicate broker reports dropped.",
              m.reports_duplicate);
      counter("brokergw_reports_unknown_order_total", "Broker reports for unknown orders.",
              m.reports_unknown_order);
      counter("brokergw_broker_anomalies_total",
              "Broker reports refused or flagged (over-fills, impossible transitions).",
              m.broker_anomalies);
      Outbox ob = outbox();
      counter("brokergw_events_appended_total", "Events journaled.", m.events_appended);
      counter("brokergw_events_delivered_total", "Kafka delivery reports (success).", ob.delivered);
      counter("brokergw_events_delivery_failures_total",
              "Kafka delivery failures (the event is produced again).", ob.failed);
      out +=
          "# HELP brokergw_events_outbox_depth Events stored and not yet delivered to Kafka.\n"
          "# TYPE brokergw_events_outbox_depth gauge\nbrokergw_events_outbox_depth " +
          std::to_string(ob.depth) + "\n";
      out +=
          "# HELP brokergw_events_outbox_exceeded 1 when the outbox is above "
          "events.max_outbox.\n# TYPE brokergw_events_outbox_exceeded gauge\n"
          "brokergw_events_outbox_exceeded " +
          std::string(ob.exceeded ? "1" : "0") + "\n";
      out +=
          "# HELP brokergw_kafka_healthy 0 after a fatal producer error.\n"
          "# TYPE brokergw_kafka_healthy gauge\nbrokergw_kafka_healthy " +
          std::string(ob.healthy ? "1" : "0") + "\n";
      counter("brokergw_timeouts_total", "Orders that went unknown_at_broker on silence.",
              m.timeouts);
      counter("brokergw_status_queries_total", "Order status requests sent.",
              m.status_queries_sent);
      counter("brokergw_resends_total", "Idempotent resends (same ClOrdID, PossResend=Y).",
              m.resends_sent);
      counter("brokergw_unknown_resolved_total", "Unknown orders resolved by a broker answer.",
              m.unknown_resolved);
      counter("brokergw_operator_alerts_total",
              "Operator alerts: orders out of resolution attempts, store failures in a lane.",
              m.operator_alerts);
      counter("brokergw_reports_ignored_total",
              "Late or redundant broker reports, journaled and not applied.", m.reports_ignored);
      counter("brokergw_deadlines_reader_behind_total",
              "Deadlines not declared silent because the gateway had not yet read everything "
              "the broker sent before them.",
              m.reader_behind);
      counter("brokergw_resolution_budget_waits_total",
              "Resolution attempts that waited for the broker's budget or lane room.",
              m.budget_deferrals);
      counter("brokergw_lane_full_total", "Items refused or deferred by a full broker lane.",
              m.lane_full);
      counter("brokergw_store_retries_total", "Retriable store errors retried by a lane.",
              m.store_retries);
      counter("brokergw_store_failures_total",
              "Fatal store errors in a lane or the scheduler (the item is kept and retried).",
              m.store_failures);
      const auto brokers = service.broker_status();
      const core::TimestampUs now = service::system_now_us();
      out +=
          "# HELP brokergw_orders_unknown Orders in unknown_at_broker.\n"
          "# TYPE brokergw_orders_unknown gauge\n";
      for (const auto& b : brokers) {
        out += "brokergw_orders_unknown{broker=\"" + b.name + "\"} " +
               std::to_string(b.unknown_orders) + "\n";
      }
      out +=
          "# HELP brokergw_oldest_unknown_age_seconds Age of the oldest unknown order.\n"
          "# TYPE brokergw_oldest_unknown_age_seconds gauge\n";
      for (const auto& b : brokers) {
        const double age = b.oldest_unknown_us ? (now - b.oldest_unknown_us) / 1e6 : 0.0;
        out += "brokergw_oldest_unknown_age_seconds{broker=\"" + b.name + "\"} " +
               std::to_string(age) + "\n";
      }
      out +=
          "# HELP brokergw_orders_attention_required Unknown orders out of resolution attempts.\n"
          "# TYPE brokergw_orders_attention_required gauge\n";
      for (const auto& b : brokers) {
        out += "brokergw_orders_attention_required{broker=\"" + b.name + "\"} " +
               std::to_string(b.attention_total) + "\n";
      }
      out +=
          "# HELP brokergw_orders_open Non-terminal orders.\n"
          "# TYPE brokergw_orders_open gauge\n";
      for (const auto& b : brokers) {
        out += "brokergw_orders_open{broker=\"" + b.name + "\"} " + std::to_string(b.open_orders) +
               "\n";
      }
      out +=
          "# HELP brokergw_broker_logged_on 1 when the broker session is logged on.\n"
          "# TYPE brokergw_broker_logged_on gauge\n";
      for (const auto& b : service.broker_status()) {
        out += "brokergw_broker_logged_on{broker=\"" + b.name + "\"} " + (b.logged_on ? "1" : "0") +
               "\n";
      }
      out +=
          "# HELP brokergw_broker_queue_depth Messages waiting for a broker.\n"
          "# TYPE brokergw_broker_queue_depth gauge\n";
      for (const auto& b : service.broker_status()) {
        out += "brokergw_broker_queue_depth{broker=\"" + b.name + "\"} " +
               std::to_string(b.queued) + "\n";
      }
      res.set_content(out, "text/plain; version=0.0.4");
    });

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
};

HttpApi::HttpApi(service::OrderService& service, const config::Config& config, std::string token,
                 EventStatusFn event_status)
    : impl_(std::make_unique<Impl>(service, config, std::move(token), std::move(event_status))) {}

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
