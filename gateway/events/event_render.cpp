#include "gateway/events/event_render.h"

#include <cstdio>
#include <variant>

#include <nlohmann/json.hpp>

#include "gateway/intake/request_json.h"

namespace brokergw::events {
namespace {

using nlohmann::json;

void put_order_fields(json& body, const core::Order& o) {
  body["state"] = std::string(core::to_string(o.state));
  body["quantity"] = o.request.quantity.value.to_string();
  body["cum_qty"] = o.cum_qty.value.to_string();
  body["leaves_qty"] = o.leaves_qty.value.to_string();
  body["avg_price"] = o.avg_price.value.to_string();
  body["broker_order_id"] = o.broker_order_id;
  body["symbol"] = o.request.symbol;
  body["side"] = std::string(core::to_string(o.request.side));
  if (core::fills_missing(o)) {
    body["fills_missing"] = true;
    body["broker_cum_qty"] = o.broker_cum_qty.value.to_string();
  }
  if (o.unverified) body["unverified"] = true;
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
  } else if (const auto* b = std::get_if<core::EvBust>(&ev)) {
    body["exec_ref_id"] = b->exec_ref_id;
    body["last_qty"] = b->last_qty.value.to_string();
    body["last_px"] = b->last_px.value.to_string();
  } else if (const auto* c = std::get_if<core::EvCorrect>(&ev)) {
    body["exec_ref_id"] = c->exec_ref_id;
    body["old_qty"] = c->old_qty.value.to_string();
    body["old_px"] = c->old_px.value.to_string();
    body["last_qty"] = c->new_qty.value.to_string();
    body["last_px"] = c->new_px.value.to_string();
  }
}

}  // namespace

std::string event_id(const std::string& instance_id, std::uint64_t seq) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
  return instance_id + "-" + digits;
}

store::StoredEvent render_event(const EventInput& in, core::TimestampUs now_us) {
  store::StoredEvent ev;
  ev.type = std::string(core::to_string(in.type));
  ev.at_us = now_us;
  json body = json::object();
  if (in.order) {
    ev.broker = in.order->request.broker;
    ev.account = in.order->request.account;
    ev.client_order_id = in.order->request.client_order_id;
    put_order_fields(body, *in.order);
  }
  if (const adapters::BrokerReport* r = in.report) {
    if (!in.order) {
      ev.broker = r->broker;
      ev.client_order_id = r->client_order_id;
    }
    if (!r->exec_id.empty()) body["exec_id"] = r->exec_id;
    if (!r->cancel_id.empty()) body["client_cancel_id"] = r->cancel_id;
    if (r->possible_duplicate) body["possible_duplicate"] = true;
    // Not for a status answer (its fields describe the broker's view, set just above it).
    if (!r->unparseable) put_event_fields(body, r->event);
    const bool unapplied =
        in.type == core::EventType::kAnomaly || in.type == core::EventType::kReportIgnored ||
        in.type == core::EventType::kUnknownReport || in.type == core::EventType::kResolution ||
        in.type == core::EventType::kRestated;
    if (unapplied) {
      body["reported_as"] = std::string(core::to_string(adapters::report_kind(*r)));
      body["summary"] = r->summary;
      // What the broker sent, for anything not applied that an operator may have to act on.
      if (!r->raw.empty() && in.type != core::EventType::kReportIgnored &&
          in.type != core::EventType::kResolution) {
        body["raw_message"] = r->raw;
      }
    }
    if (!r->first_seen.empty()) {
      body["first_seen"] = r->first_seen;
      body["this_report"] = r->content.describe();
    }
  }
  if (in.anomaly != core::AnomalyReason::kNone) {
    body["anomaly"] = std::string(core::to_string(in.anomaly));
  }
  if (in.reason != core::Reason::kNone)
    body["reason_code"] = std::string(core::to_string(in.reason));
  if (!in.detail.empty()) body[body.contains("reason") ? "detail" : "reason"] = in.detail;
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
