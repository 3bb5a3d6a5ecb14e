// Health and metrics: GET /v1/health (JSON: brokers, unknown orders, outbox) and GET /metrics
// (Prometheus text format 0.0.4), plus the outbox figures both report.
//
// Threads: registered by HttpApi::start() on the main thread; handlers run on pool threads and
// only read: service snapshots (metrics, broker_status), event_status() and the config.
//
// Invariants: both routes are unauthenticated (probes and scrapers) and change nothing; status
// is "ok" only when every broker is logged on with nothing needing attention, Kafka is healthy
// and the outbox is within events.max_outbox; the outbox depth is 0 while Kafka is off.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/api/http_api_impl.h"

namespace brokergw::api {
namespace {

using detail::reply;
using nlohmann::json;

}  // namespace

HttpApi::Impl::Outbox HttpApi::Impl::outbox() {
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

void HttpApi::Impl::health_route() {
  server.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
    json body;
    bool all_up = true;
    body["brokers"] = json::object();
    std::map<std::string, adapters::SessionControlStatus> sessions;
    for (auto& s : service.sessions().all()) sessions.emplace(s.broker, std::move(s.status));
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
          {"parked", b.parked},
          {"open_orders", b.open_orders},
          {"unknown_orders", b.unknown_orders},
          {"oldest_unknown_age_s", b.oldest_unknown_us ? (now - b.oldest_unknown_us) / 1000000 : 0},
          {"attention_required", b.attention_total},
          {"attention_orders", attention},
          {"fills_missing_orders", b.fills_missing_orders},
          {"unverified_orders", b.unverified_orders},
          {"status_query_refused", b.status_query_refused},
          {"resolution_in_flight", b.resolution_in_flight}};
      if (auto s = sessions.find(b.name); s != sessions.end()) {
        body["brokers"][b.name]["session"] = session_json(s->second);
      }
      all_up = all_up && b.logged_on && b.attention_total == 0 && b.parked == 0;
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
}

void HttpApi::Impl::metrics_route() {
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    const auto& m = service.metrics();
    std::string out;
    auto counter = [&out](const char* name, const char* help, std::uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
             " " + std::to_string(v) + "\n";
    };
    counter("brokergw_orders_created_total", "Orders stored as pending_new.", m.orders_created);
    counter("brokergw_orders_replayed_total", "Idempotent replays answered from the store.",
            m.orders_replayed);
    counter("brokergw_order_conflicts_total", "Same client_order_id, different order.",
            m.order_conflicts);
    counter("brokergw_broker_busy_total", "Orders refused because a broker queue was full.",
            m.broker_busy);
    counter("brokergw_cancels_accepted_total", "Cancel requests stored.", m.cancels_accepted);
    counter("brokergw_messages_sent_total", "Messages handed to broker sessions.", m.messages_sent);
    counter("brokergw_send_failures_total", "Messages a broker session did not take.",
            m.send_failures);
    counter("brokergw_reports_applied_total", "Broker reports applied to orders.",
            m.reports_applied);
    counter("brokergw_reports_duplicate_total", "Duplicate broker reports dropped.",
            m.reports_duplicate);
    counter("brokergw_exec_id_conflicts_total",
            "Reports with a known ExecID of the order but other content (anomalies).",
            m.exec_id_conflicts);
    counter("brokergw_fills_missing_total",
            "Times a broker's CumQty moved ahead of the fills the gateway received.",
            m.fills_missing);
    counter("brokergw_fill_adjustments_total", "Busts and corrections applied.",
            m.fill_adjustments);
    counter("brokergw_orders_unverified_total",
            "Live orders whose state the broker refused to confirm.", m.orders_unverified);
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
    counter("brokergw_status_queries_total", "Order status requests sent.", m.status_queries_sent);
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
    // One gauge per broker; every gauge reads the same snapshot of the brokers.
    const auto gauge = [&out, &brokers](const char* name, const char* help, auto value_of) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
      for (const auto& b : brokers) {
        out += std::string(name) + "{broker=\"" + b.name + "\"} " + value_of(b) + "\n";
      }
    };
    using Status = service::BrokerStatus;
    const auto count = [](std::size_t n) { return std::to_string(n); };
    const auto flag = [](bool on) { return std::string(on ? "1" : "0"); };
    gauge("brokergw_orders_unknown", "Orders in unknown_at_broker.",
          [&](const Status& b) { return count(b.unknown_orders); });
    gauge("brokergw_oldest_unknown_age_seconds", "Age of the oldest unknown order.",
          [&](const Status& b) {
            return std::to_string(b.oldest_unknown_us ? (now - b.oldest_unknown_us) / 1e6 : 0.0);
          });
    gauge("brokergw_orders_attention_required", "Unknown orders out of resolution attempts.",
          [&](const Status& b) { return count(b.attention_total); });
    gauge("brokergw_orders_fills_missing", "Orders whose broker CumQty is ahead of ours.",
          [&](const Status& b) { return count(b.fills_missing_orders); });
    gauge("brokergw_broker_status_query_refused", "1 once the broker refused a status request.",
          [&](const Status& b) { return flag(b.status_query_refused); });
    gauge("brokergw_orders_open", "Non-terminal orders.",
          [&](const Status& b) { return count(b.open_orders); });
    gauge("brokergw_broker_logged_on", "1 when the broker session is logged on.",
          [&](const Status& b) { return flag(b.logged_on); });
    gauge("brokergw_broker_queue_depth", "Messages waiting for a broker.",
          [&](const Status& b) { return count(b.queued); });
    session_metrics(out);
    res.set_content(out, "text/plain; version=0.0.4");
  });
}

}  // namespace brokergw::api
