// The resolution rules for broker reports (core/resolution.h: triage_report). Each helper is a
// sequence of guards, first match wins, in the order the header lists them.
#include <algorithm>

#include "gateway/core/resolution.h"
#include "gateway/core/resolution_internal.h"

namespace brokergw::core {
namespace {

using namespace rules_detail;

EventType event_of(ReportKind k) {
  switch (k) {
    case ReportKind::kAck:
      return EventType::kNew;
    case ReportKind::kFill:
      return EventType::kFill;
    case ReportKind::kReject:
      return EventType::kRejected;
    case ReportKind::kCanceled:
      return EventType::kCanceled;
    case ReportKind::kCancelRejected:
      return EventType::kCancelRejected;
    case ReportKind::kReplaced:
      return EventType::kReplaced;
    case ReportKind::kReplaceRejected:
      return EventType::kReplaceRejected;
    case ReportKind::kExpired:
      return EventType::kExpired;
    default:
      return EventType::kStatus;
  }
}

// The wait after a report moved the order from `before` to `after`.
Decision settle_wait(Decision d, const Order& before, const Order& after,
                     const std::optional<Wait>& wait, const BrokerRules& rules, TimestampUs now) {
  if (!awaits_broker(after)) {
    if (wait) d.schedule = ScheduleOp::kClear;
    return d;
  }
  const bool left_unknown =
      before.state == OrderState::kUnknownAtBroker && after.state != OrderState::kUnknownAtBroker;
  if (left_unknown || !wait || wait->step == Step::kAttention) {
    return set_wait(std::move(d), Step::kDeadline, ack_deadline(rules, now), carried(wait));
  }
  return d;
}

Decision triage_status(const Order& o, const OrderEvent& event, const std::optional<Wait>& wait,
                       const BrokerRules& rules, TimestampUs now) {
  auto applied = apply(o, event, now);
  if (!applied) return refused(applied.error());
  Decision d;
  d.event = EventType::kStatus;
  Order after = std::move(applied->order);
  if (o.state == OrderState::kUnknownAtBroker &&
      o.state_before_pending == OrderState::kPendingCancel && !o.cancel_id.empty() &&
      (after.state == OrderState::kNew || after.state == OrderState::kPartiallyFilled)) {
    // The broker still has the order live: our cancel never reached it. Ask again.
    after = must_apply(after, EvCancelRequested{o.cancel_id}, now);
    d.reason = Reason::kStatusCancelLost;
    d.send = Send::kCancel;
    d.detail = "the broker has the order live: the cancel goes again";
    d.order = std::move(after);
    return set_wait(std::move(d), Step::kDeadline, ack_deadline(rules, now), carried(wait) + 1);
  }
  d.reason = awaits_broker(after) ? Reason::kStatusPending : Reason::kStatusAdopted;
  if (!(after == o)) d.order = after;
  return settle_wait(std::move(d), o, after, wait, rules, now);
}

Decision triage_not_at_broker(const Order& o, const std::optional<Wait>& wait,
                              const BrokerRules& /*rules*/, TimestampUs now) {
  const OrderState part = pending_part(o);
  if (o.send_attempts == 0) {
    if (o.state != OrderState::kUnknownAtBroker) {
      return ignored(Reason::kLateReport, "the order has not been sent");
    }
    Decision d;
    d.reason = Reason::kNotAtBrokerReject;
    d.order = must_apply(o, EvReject{"stale: never sent, and the broker does not have it"}, now);
    d.event = EventType::kRejected;
    d.schedule = ScheduleOp::kClear;
    return d;
  }
  if (o.acknowledged) {
    Decision d;
    d.reason = Reason::kBrokerLostOrder;
    d.event = EventType::kAnomaly;
    d.anomaly = AnomalyReason::kBrokerLostOrder;
    d.alert = true;
    d.detail = "the broker says it does not know an order it had acknowledged";
    return d;
  }
  if (part == OrderState::kPendingNew) {
    // Sent but never arrived: the same ClOrdID goes again, now.
    Decision d;
    d.reason = Reason::kNotAtBrokerResend;
    d.detail = "the broker does not have it: resending the same ClOrdID";
    d.event = EventType::kResolution;
    if (o.state != OrderState::kUnknownAtBroker) {
      d.order = must_apply(o, EvTimeout{}, now);
      d.event = EventType::kUnknown;
    }
    return set_wait(std::move(d), Step::kResend, now, carried(wait));
  }
  if (part == OrderState::kPendingCancel) {
    // Neither the order nor its cancel reached the broker: nothing can fill it.
    Order unknown = o.state == OrderState::kUnknownAtBroker ? o : must_apply(o, EvTimeout{}, now);
    Decision d;
    d.reason = Reason::kNotAtBrokerReject;
    d.order = must_apply(unknown, EvReject{"the broker does not know the order"}, now);
    d.event = EventType::kRejected;
    d.schedule = ScheduleOp::kClear;
    return d;
  }
  return ignored(Reason::kLateReport, "the broker does not know the order");
}

Decision triage_duplicate(const Order& o, const std::optional<Wait>& wait, const BrokerRules& rules,
                          TimestampUs now) {
  const bool new_part = pending_part(o) == OrderState::kPendingNew && o.send_attempts > 0;
  const bool unknown = o.state == OrderState::kUnknownAtBroker;
  if (!new_part || (!unknown && o.acknowledged)) {
    return ignored(Reason::kLateReport, "the broker already has this ClOrdID");
  }
  Decision d;
  d.reason = Reason::kDuplicateClOrdId;
  d.detail = "the broker already has this ClOrdID";
  Order after = unknown ? o : must_apply(o, EvTimeout{}, now);
  if (!unknown) d.order = after;
  if (!rules.caps.status_query) {
    // The broker has it but cannot say in what state, and resending only repeats this
    // answer: an operator must look. Any later report of the broker still settles it.
    d.event = EventType::kAttentionRequired;
    d.alert = true;
    d.detail += ", and it cannot be asked for the order's state";
    return set_wait(std::move(d), Step::kAttention, kNeverDue, carried(wait));
  }
  d.event = unknown ? EventType::kResolution : EventType::kUnknown;
  return set_wait(std::move(d), Step::kQuery, now, carried(wait));
}

Decision triage_unsupported(const Order& o, const std::optional<Wait>& wait) {
  Decision d;
  d.reason = Reason::kStatusUnsupported;
  d.event = EventType::kResolution;
  d.detail = "the broker refused the status request";
  if (wait && wait->step == Step::kQuery && resend_of(o) != Send::kNothing) {
    return set_wait(std::move(d), Step::kResend, wait->due_us, wait->attempt);
  }
  return d;
}

}  // namespace

Decision triage_report(const Order& o, ReportKind kind, const OrderEvent& event,
                       const std::optional<Wait>& wait, const BrokerRules& rules, TimestampUs now) {
  const bool terminal = is_terminal(o.state);
  switch (kind) {
    case ReportKind::kStatusUnknown:
      if (terminal) return ignored(Reason::kLateReport, "the broker does not know the order");
      return triage_not_at_broker(o, wait, rules, now);
    case ReportKind::kStatusUnsupported:
      if (terminal) return ignored(Reason::kLateReport, "the broker refused the status request");
      return triage_unsupported(o, wait);
    case ReportKind::kDuplicateClOrdId:
      if (terminal) return ignored(Reason::kLateReport, "the broker already has this ClOrdID");
      return triage_duplicate(o, wait, rules, now);
    case ReportKind::kStatus:
      return triage_status(o, event, wait, rules, now);
    case ReportKind::kInformational:
      return ignored(Reason::kInformational, "an informational report: nothing to apply");
    case ReportKind::kUnhandled: {
      Decision d;
      d.reason = Reason::kUnhandled;
      d.event = EventType::kAnomaly;
      d.anomaly = AnomalyReason::kUnhandledReport;
      d.alert = true;
      d.detail = "the gateway does not apply this report: an operator must check the order";
      return d;
    }
    default:
      break;
  }
  auto applied = apply(o, event, now);
  if (!applied) return refused(applied.error());
  if (applied->order == o) return ignored(Reason::kLateReport, "the report changes nothing");
  Decision d;
  d.reason = Reason::kApplied;
  d.event = event_of(kind);
  if (!applied->anomaly.empty()) {
    d.anomaly = AnomalyReason::kFillAfterTerminal;
    d.detail = applied->anomaly;
  }
  Order after = std::move(applied->order);
  d.order = after;
  return settle_wait(std::move(d), o, after, wait, rules, now);
}

}  // namespace brokergw::core
