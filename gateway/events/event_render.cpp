#include "gateway/events/event_render.h"

#include <cstdio>
#include <variant>

#include <nlohmann/json.hpp>

#include "gateway/intake/request_json.h"

namespace brokergw::events {
namespace {

using nlohmann::json;

struct TypeOf {
  std::string operator()(const core::EvSendAttempt&) const { return "order.send_attempt"; }
  std::string operator()(const core::EvAck&) const { return "order.new"; }
  std::string operator()(const core::EvFill&) const { return "order.fill"; }
  std::string operator()(const core::EvReject&) const { return "order.rejected"; }
  std::string operator()(const core::EvCancelRequested&) const { return "order.cancel_requested"; }
  std::string operator()(const core::EvCanceled&) const { return "order.canceled"; }
  std::string operator()(const core::EvCancelRejected&) const { return "order.cancel_rejected"; }
  std::string operator()(const core::EvReplaceRequested&) const {
    return "order.replace_requested";
  }
  std::string operator()(const core::EvReplaced&) const { return "order.replaced"; }
  std::string operator()(const core::EvReplaceRejected&) const { return "order.replace_rejected"; }
  std::string operator()(const core::EvExpired&) const { return "order.expired"; }
  std::string operator()(const core::EvTimeout&) const { return "order.unknown"; }
  std::string operator()(const core::EvStatus&) const { return "order.status"; }
};

void put_order_fields(json& body, const core::Order& o) {
  body["state"] = std::string(core::to_string(o.state));
  body["quantity"] = o.request.quantity.value.to_string();
  body["cum_qty"] = o.cum_qty.value.to_string();
  body["leaves_qty"] = o.leaves_qty.value.to_string();
  body["avg_price"] = o.avg_price.value.to_string();
  body["broker_order_id"] = o.broker_order_id;
  body["symbol"] = o.request.symbol;
  body["side"] = std::string(core::to_string(o.request.side));
}

void put_event_fields(json& body, const core::OrderEvent& ev) {
  if (const auto* fill = std::get_if<core::EvFill>(&ev)) {
    body["last_qty"] = fill->last_qty.value.to_string();
    body["last_px"] = fill->last_px.value.to_string();
  } else if (const auto* rej = std::get_if<core::EvReject>(&ev)) {
    body["reason"] = rej->reason;
  } else if (const auto* c = std::get_if<core::EvCanceled>(&ev)) {
    if (!c->reason.empty()) body["reason"] = c->reason;
  } else if (const auto* cr = std::get_if<core::EvCancelRejected>(&ev)) {
    body["reason"] = cr->reason;
  } else if (const auto* rr = std::get_if<core::EvReplaceRejected>(&ev)) {
    body["reason"] = rr->reason;
  } else if (const auto* st = std::get_if<core::EvStatus>(&ev)) {
    body["broker_state"] = std::string(core::to_string(st->broker_state));
    body["broker_cum_qty"] = st->cum_qty.value.to_string();
  }
}

}  // namespace

std::string event_id(const std::string& instance_id, std::uint64_t seq) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
  return instance_id + "-" + digits;
}

store::StoredEvent event_for_report(const adapters::BrokerReport& report,
                                    const std::optional<core::Order>& before,
                                    const std::optional<core::Order>& after,
                                    const std::optional<core::Refusal>& refusal,
                                    const std::string& anomaly, core::TimestampUs now_us) {
  store::StoredEvent ev;
  ev.broker = report.broker;
  ev.at_us = now_us;
  json body = json::object();
  if (!report.exec_id.empty()) body["exec_id"] = report.exec_id;
  if (!report.cancel_id.empty()) body["client_cancel_id"] = report.cancel_id;
  if (report.possible_duplicate) body["possible_duplicate"] = true;
  put_event_fields(body, report.event);
  if (!before) {
    // A report we cannot place: published so a human sees it, never applied.
    ev.type = "order.unknown_report";
    ev.client_order_id = report.client_order_id;
    body["reported_as"] = std::visit(TypeOf{}, report.event);
    body["summary"] = report.summary;
  } else if (refusal) {
    ev.type = "order.anomaly";
    ev.account = before->request.account;
    ev.client_order_id = before->request.client_order_id;
    body["reported_as"] = std::visit(TypeOf{}, report.event);
    body["refusal"] = std::string(core::to_string(refusal->reason));
    body["detail"] = refusal->detail;
    put_order_fields(body, *before);
  } else {
    ev.type = std::visit(TypeOf{}, report.event);
    ev.account = after->request.account;
    ev.client_order_id = after->request.client_order_id;
    put_order_fields(body, *after);
    if (!anomaly.empty()) body["anomaly"] = anomaly;
  }
  ev.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return ev;
}

store::StoredEvent event_for_order(const std::string& type, const core::Order& order,
                                   const std::string& reason, core::TimestampUs now_us) {
  store::StoredEvent ev;
  ev.type = type;
  ev.broker = order.request.broker;
  ev.account = order.request.account;
  ev.client_order_id = order.request.client_order_id;
  ev.at_us = now_us;
  json body = json::object();
  put_order_fields(body, order);
  if (!reason.empty()) body["reason"] = reason;
  ev.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return ev;
}

std::string event_payload(const store::StoredEvent& event, const std::string& instance_id) {
  json body = json::parse(event.body, nullptr, false);
  if (!body.is_object()) body = json::object();
  json out = json::object();
  out["schema"] = kPayloadSchema;
  out["event_id"] = event_id(instance_id, event.seq);
  out["seq"] = event.seq;
  out["type"] = event.type;
  out["at"] = intake::format_timestamp(event.at_us);
  out["broker"] = event.broker;
  out["account"] = event.account;
  out["client_order_id"] = event.client_order_id;
  for (auto& [k, v] : body.items()) out[k] = v;
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace brokergw::events
