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
    case ReportKind::kBust:
      return EventType::kFillBusted;
    case ReportKind::kCorrection:
      return EventType::kFillCorrected;
    case ReportKind::kRestated:
      return EventType::kRestated;
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

Decision triage_unsupported(const Order& o, const std::optional<Wait>& wait, TimestampUs now) {
  Decision d;
  d.reason = Reason::kStatusUnsupported;
  d.event = EventType::kResolution;
  d.detail = "the broker refused the status request";
  if (wait && wait->step == Step::kQuery && resend_of(o) != Send::kNothing) {
    return set_wait(std::move(d), Step::kResend, wait->due_us, wait->attempt);
  }
  if (!wait && o.acknowledged && !awaits_broker(o) && !o.unverified) {
    // A live order the broker will not confirm (typically asked after a reconnect): anything
    // it sent while we were away and did not replay stays unseen. Listed for reconciliation.
    Order after = o;
    after.unverified = true;
    after.updated_us = now;
    d.order = std::move(after);
    d.reason = Reason::kUnverified;
    d.event = EventType::kUnverified;
    d.detail = "the broker refused to confirm the order's state: reconcile it";
  }
  return d;
}

Decision triage_cancel_unknown(const Order& o, const OrderEvent& event,
                               const std::optional<Wait>& wait, const BrokerRules& rules,
                               TimestampUs now);

Decision anomaly(Reason reason, AnomalyReason why, std::string detail) {
  Decision d;
  d.reason = reason;
  d.event = EventType::kAnomaly;
  d.anomaly = why;
  d.alert = true;
  d.detail = std::move(detail);
  return d;
}

// The totals check every non-anomalous decision goes through (resolution.h, "Totals").
Decision check_totals(Decision d, const Order& before, ReportKind kind, const ReportFacts& facts,
                      const BrokerRules& rules, TimestampUs now) {
  if (d.event == EventType::kAnomaly) return d;
  Order after = d.order.value_or(before);
  Qty broker = after.broker_cum_qty;
  if (kind == ReportKind::kBust || kind == ReportKind::kCorrection) {
    broker = facts.cum_qty.value_or(after.cum_qty);
  } else if (facts.cum_qty && *facts.cum_qty > broker) {
    broker = *facts.cum_qty;
  }
  const bool unverified = after.unverified && !facts.cum_qty;
  if (broker == after.broker_cum_qty && unverified == after.unverified) return d;
  after.broker_cum_qty = broker;
  after.unverified = unverified;
  after.updated_us = now;
  const bool grew =
      fills_missing(after) && (!fills_missing(before) || broker > before.broker_cum_qty);
  d.order = after;
  if (!grew) return d;
  d.also = EventType::kFillsMissing;
  d.alert = true;
  d.also_detail = "the broker reports cum " + broker.value.to_string() + ", the gateway has " +
                  after.cum_qty.value.to_string() +
                  " in fills: " + (broker.value - after.cum_qty.value).to_string() +
                  " missing (never booked from the total; reconcile)";
  if (d.send == Send::kNothing && rules.caps.status_query && !is_status_answer(kind) &&
      after.send_attempts > 0 && !is_terminal(after.state)) {
    d.send = Send::kStatusQuery;
    d.uses_budget = true;
  }
  return d;
}

Decision triage(const Order& o, ReportKind kind, const OrderEvent& event,
                const std::optional<Wait>& wait, const BrokerRules& rules, TimestampUs now,
                const ReportFacts& facts) {
  const bool terminal = is_terminal(o.state);
  switch (kind) {
    case ReportKind::kStatusUnknown:
      if (terminal) return ignored(Reason::kLateReport, "the broker does not know the order");
      return triage_not_at_broker(o, wait, rules, now);
    case ReportKind::kStatusUnsupported:
      if (terminal) return ignored(Reason::kLateReport, "the broker refused the status request");
      return triage_unsupported(o, wait, now);
    case ReportKind::kDuplicateClOrdId:
      if (terminal) return ignored(Reason::kLateReport, "the broker already has this ClOrdID");
      return triage_duplicate(o, wait, rules, now);
    case ReportKind::kStatus:
      return triage_status(o, event, wait, rules, now);
    case ReportKind::kInformational:
      return ignored(Reason::kInformational, "an informational report: nothing to apply");
    case ReportKind::kUnhandled:
      return anomaly(Reason::kUnhandled, AnomalyReason::kUnhandledReport,
                     "the gateway does not apply this report: an operator must check the order");
    case ReportKind::kConflictingDuplicate:
      return anomaly(Reason::kExecIdConflict, AnomalyReason::kExecIdConflict,
                     "the broker reused an ExecID of this order with other content: nothing "
                     "applied, an operator must check the order");
    case ReportKind::kUnparseable:
      return anomaly(Reason::kUnparseable, AnomalyReason::kUnparseable,
                     "the gateway could not read this message: nothing applied");
    case ReportKind::kBust:
    case ReportKind::kCorrection:
      if (facts.exec_ref == ExecRef::kUnknown || facts.exec_ref == ExecRef::kAlreadyBusted) {
        return anomaly(Reason::kUnknownExecRef, AnomalyReason::kUnknownExecRef,
                       facts.exec_ref == ExecRef::kUnknown
                           ? "the referenced fill (ExecRefID) was never booked: nothing applied"
                           : "the referenced fill (ExecRefID) was already busted: nothing applied");
      }
      break;
    case ReportKind::kRestated: {
      Decision d;
      d.reason = Reason::kApplied;
      d.event = EventType::kRestated;
      if (const auto* r = std::get_if<EvRestated>(&event)) d.detail = r->reason;
      return d;
    }
    case ReportKind::kCancelRejectedUnknownOrder:
      return triage_cancel_unknown(o, event, wait, rules, now);
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

Decision triage_cancel_unknown(const Order& o, const OrderEvent& event,
                               const std::optional<Wait>& wait, const BrokerRules& rules,
                               TimestampUs now) {
  if (o.state == OrderState::kPendingCancel && o.send_attempts > 0) {
    Decision d;
    d.reason = Reason::kCancelUnknownAtBroker;
    d.event = EventType::kUnknown;
    d.detail = "the broker refused the cancel as an unknown order: asking what it has";
    d.order = must_apply(o, EvTimeout{}, now);
    return set_wait(std::move(d), resolve_step(*d.order, rules), now, carried(wait));
  }
  if (o.state == OrderState::kUnknownAtBroker &&
      o.state_before_pending == OrderState::kPendingCancel) {
    Decision d;
    d.reason = Reason::kCancelUnknownAtBroker;
    d.event = EventType::kResolution;
    d.detail = "the broker still refuses the cancel as an unknown order";
    return d;
  }
  return triage(o, ReportKind::kCancelRejected, event, wait, rules, now, {});
}

}  // namespace

bool is_status_answer(ReportKind k) {
  return k == ReportKind::kStatus || k == ReportKind::kStatusUnknown ||
         k == ReportKind::kStatusUnsupported;
}

Decision triage_report(const Order& o, ReportKind kind, const OrderEvent& event,
                       const std::optional<Wait>& wait, const BrokerRules& rules, TimestampUs now,
                       const ReportFacts& facts) {
  return check_totals(triage(o, kind, event, wait, rules, now, facts), o, kind, facts, rules, now);
}

}  // namespace brokergw::core
