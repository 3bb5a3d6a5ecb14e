// The resolution rules (core/resolution.h). Each function is a sequence of guards, first match
// wins; the header lists them in the same order.
#include "gateway/core/resolution.h"

#include <algorithm>

namespace brokergw::core {
namespace {

constexpr TimestampUs kMs = 1000;
constexpr TimestampUs kMinReaderWaitUs = 100 * kMs;

bool is_pending(OrderState s) {
  return s == OrderState::kPendingNew || s == OrderState::kPendingCancel ||
         s == OrderState::kPendingReplace;
}

// What the order waits for: its own pending state, or the one it had when it went unknown.
OrderState pending_part(const Order& o) {
  return o.state == OrderState::kUnknownAtBroker ? o.state_before_pending : o.state;
}

TimestampUs ack_deadline(const BrokerRules& rules, TimestampUs now) {
  return now + static_cast<TimestampUs>(rules.policy.ack_timeout_ms) * kMs;
}

std::uint32_t carried(const std::optional<Wait>& w) { return w ? w->attempt : 0; }

// The step that resolves an unknown order next.
Step resolve_step(const Order& o, const BrokerRules& rules) {
  const OrderState part = pending_part(o);
  if (o.send_attempts == 0 || part == OrderState::kPendingReplace) return Step::kQuery;
  if (!rules.caps.status_query) return Step::kResend;
  if (part == OrderState::kPendingCancel) return Step::kQuery;  // ask before a second cancel
  return rules.policy.strategy == Strategy::kResend ? Step::kResend : Step::kQuery;
}

// The resend that fits the order's pending part, or kNothing when it cannot be resent.
Send resend_of(const Order& o) {
  const OrderState part = pending_part(o);
  if (o.send_attempts == 0) return Send::kNothing;
  if (part == OrderState::kPendingNew) return Send::kResendNewOrder;
  if (part == OrderState::kPendingCancel && !o.cancel_id.empty()) return Send::kCancel;
  return Send::kNothing;
}

Decision set_wait(Decision d, Step step, TimestampUs due, std::uint32_t attempt) {
  d.schedule = ScheduleOp::kSet;
  d.wait = {step, due, attempt};
  return d;
}

Decision ignored(Reason reason, std::string detail) {
  Decision d;
  d.reason = reason;
  d.event = EventType::kReportIgnored;
  d.detail = std::move(detail);
  return d;
}

AnomalyReason anomaly_of(RefusalReason r) {
  switch (r) {
    case RefusalReason::kOverFill:
      return AnomalyReason::kOverFill;
    case RefusalReason::kInvalidFill:
      return AnomalyReason::kInvalidFill;
    default:
      return AnomalyReason::kUnexpectedEvent;
  }
}

Decision refused(const Refusal& r) {
  Decision d;
  d.reason = Reason::kRefused;
  d.event = EventType::kAnomaly;
  d.anomaly = anomaly_of(r.reason);
  d.detail = std::string(to_string(r.reason)) + ": " + r.detail;
  return d;
}

// Applies a chain of events the rules themselves chose; a refusal here is a rules bug.
Order must_apply(const Order& o, const OrderEvent& ev, TimestampUs now) {
  auto r = apply(o, ev, now);
  if (!r) return o;
  return std::move(r->order);
}

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
  if (!rules.caps.status_query) {
    d.order = must_apply(o, EvAck{}, now);
    d.event = EventType::kNew;
    d.schedule = ScheduleOp::kClear;
    return d;
  }
  d.event = EventType::kResolution;
  if (!unknown) {
    d.order = must_apply(o, EvTimeout{}, now);
    d.event = EventType::kUnknown;
  }
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

bool awaits_broker(const Order& o) {
  if (o.state == OrderState::kUnknownAtBroker) return true;
  return is_pending(o.state) && (o.send_attempts > 0 || o.acknowledged);
}

bool query_after_logon(const Order& o, const BrokerRules& rules) {
  return rules.policy.query_on_reconnect && rules.caps.status_query && !is_terminal(o.state) &&
         o.send_attempts > 0;
}

Decision decide_dispatch(const Order& o, Send requested, const std::optional<Wait>& wait,
                         const BrokerRules& rules, TimestampUs now) {
  Decision d;
  if (is_terminal(o.state)) {
    d.reason = Reason::kTerminal;
    return d;
  }
  switch (requested) {
    case Send::kNothing:
      d.reason = Reason::kNotPending;
      return d;
    case Send::kNewOrder: {
      if (o.send_attempts != 0) {
        d.reason = Reason::kAlreadySent;
        return d;
      }
      if (o.state == OrderState::kPendingCancel) {
        d.reason = Reason::kCanceledBeforeSent;
        d.order = must_apply(o, EvCanceled{"canceled before it was sent"}, now);
        d.event = EventType::kCanceled;
        d.detail = "canceled before it was sent";
        d.schedule = ScheduleOp::kClear;
        return d;
      }
      if (o.state != OrderState::kPendingNew) {
        d.reason = Reason::kNotPending;
        return d;
      }
      const auto age_ms =
          static_cast<std::uint64_t>(std::max<TimestampUs>(0, now - o.created_us) / kMs);
      const std::uint64_t stale_ms = rules.policy.stale_order_age_ms;
      if (stale_ms != 0 && age_ms > stale_ms) {
        d.detail = "stale: not sent within " + std::to_string(stale_ms) + " ms";
        if (!rules.caps.status_query) {
          d.reason = Reason::kStaleRejected;
          d.order = must_apply(o, EvReject{d.detail}, now);
          d.event = EventType::kRejected;
          d.schedule = ScheduleOp::kClear;
          return d;
        }
        d.reason = Reason::kStale;
        d.detail += "; resolving by status query before anything is sent";
        d.order = must_apply(o, EvTimeout{}, now);
        d.event = EventType::kUnknown;
        return set_wait(std::move(d), Step::kQuery, now, 0);
      }
      d.reason = Reason::kFirstSend;
      d.order = must_apply(o, EvSendAttempt{}, now);
      d.send = Send::kNewOrder;
      return set_wait(std::move(d), Step::kDeadline, ack_deadline(rules, now), carried(wait));
    }
    case Send::kResendNewOrder: {
      if (o.state != OrderState::kUnknownAtBroker) {
        d.reason = Reason::kNotPending;
        return d;
      }
      const Send resend = resend_of(o);
      if (resend == Send::kResendNewOrder) {
        d.reason = Reason::kResend;
        d.order = must_apply(o, EvSendAttempt{}, now);
        d.send = resend;
      } else if (resend == Send::kCancel) {
        d.reason = Reason::kCancelSend;
        d.send = resend;
      } else {
        d.reason = Reason::kNotPending;
      }
      return d;
    }
    case Send::kCancel: {
      if (o.send_attempts == 0 && o.state == OrderState::kPendingCancel) {
        // Never sent: the broker cannot have it, so the cancel is done here.
        d.reason = Reason::kCanceledBeforeSent;
        d.order = must_apply(o, EvCanceled{"canceled before it was sent"}, now);
        d.event = EventType::kCanceled;
        d.detail = "canceled before it was sent";
        d.schedule = wait ? ScheduleOp::kClear : ScheduleOp::kKeep;
        return d;
      }
      if (o.send_attempts == 0) {
        d.reason = Reason::kNotSentYet;
        return d;
      }
      if (o.cancel_id.empty()) {
        d.reason = Reason::kNotPending;
        return d;
      }
      if (o.state == OrderState::kPendingCancel) {
        d.reason = Reason::kCancelSend;
        d.send = Send::kCancel;
        return set_wait(std::move(d), Step::kDeadline, ack_deadline(rules, now), carried(wait));
      }
      if (o.state == OrderState::kUnknownAtBroker &&
          o.state_before_pending == OrderState::kPendingCancel) {
        d.reason = Reason::kCancelSend;
        d.send = Send::kCancel;
        return d;
      }
      d.reason = Reason::kNotPending;
      return d;
    }
    case Send::kStatusQuery:
      if (o.send_attempts == 0 && o.state != OrderState::kUnknownAtBroker) {
        d.reason = Reason::kNotSentYet;
        return d;
      }
      d.reason = Reason::kStatusQuerySend;
      d.send = Send::kStatusQuery;
      return d;
  }
  d.reason = Reason::kNotPending;
  return d;
}

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

Decision decide_due(const Order& o, const Wait& wait, const BrokerRules& rules,
                    const DueContext& ctx, TimestampUs now) {
  Decision d;
  const bool never_sent_pending = is_pending(o.state) && !awaits_broker(o);
  if (!awaits_broker(o) && !never_sent_pending) {
    d.reason = Reason::kNoLongerWaiting;
    d.schedule = ScheduleOp::kClear;
    return d;
  }
  if (wait.step == Step::kAttention) {
    d.reason = Reason::kAttention;
    return set_wait(std::move(d), Step::kAttention, kNeverDue, wait.attempt);
  }
  if (never_sent_pending) {
    // Waiting for its lane or its session, not for the broker: look again later.
    d.reason = wait.step == Step::kDeadline ? Reason::kNotSentYet : Reason::kRearmDeadline;
    return set_wait(std::move(d), Step::kDeadline, ack_deadline(rules, now), wait.attempt);
  }
  const bool unknown = o.state == OrderState::kUnknownAtBroker;
  if (wait.step == Step::kDeadline) {
    if (unknown) {
      d.reason = Reason::kRearmDeadline;
      return set_wait(std::move(d), resolve_step(o, rules), now, wait.attempt);
    }
    if (ctx.session_up && ctx.inbound_read_up_to_us < wait.deadline()) {
      // We have not read everything the broker sent before the deadline: do not blame it.
      const TimestampUs lag = now - ctx.inbound_read_up_to_us;
      const TimestampUs cap = std::max<TimestampUs>(kMinReaderWaitUs, ack_deadline(rules, 0));
      d.reason = Reason::kReaderBehind;
      d.probe = true;
      d = set_wait(std::move(d), Step::kDeadline,
                   now + std::clamp<TimestampUs>(lag, kMinReaderWaitUs, cap), wait.attempt);
      d.wait.deadline_us = wait.deadline();
      return d;
    }
    d.reason = Reason::kSilence;
    d.order = must_apply(o, EvTimeout{}, now);
    d.event = EventType::kUnknown;
    d.detail = "no answer within " + std::to_string(rules.policy.ack_timeout_ms) + " ms";
    return set_wait(std::move(d), resolve_step(*d.order, rules), now, wait.attempt);
  }
  // kQuery or kResend: a resolution attempt.
  if (!unknown) {
    d.reason = Reason::kRearmDeadline;
    return set_wait(std::move(d), Step::kDeadline, ack_deadline(rules, now), wait.attempt);
  }
  const BackoffPolicy& backoff = rules.policy.backoff;
  if (wait.attempt >= backoff.max_attempts) {
    d.reason = Reason::kAttemptsExhausted;
    d.event = EventType::kAttentionRequired;
    d.alert = true;
    d.detail = "still unknown after " + std::to_string(wait.attempt) +
               " resolution attempts; an operator must check with the broker";
    return set_wait(std::move(d), Step::kAttention, kNeverDue, wait.attempt);
  }
  if (!ctx.session_up) {
    d.reason = Reason::kSessionDown;
    const auto later = static_cast<TimestampUs>(std::max<std::uint64_t>(backoff.base_ms, 1)) * kMs;
    return set_wait(std::move(d), wait.step, now + later, wait.attempt);
  }
  if (!ctx.budget_available) {
    d.reason = Reason::kBudget;
    return set_wait(std::move(d), wait.step, std::max(ctx.budget_retry_us, now + 1), wait.attempt);
  }
  Step step = wait.step;
  Send send = Send::kNothing;
  if (step == Step::kQuery && rules.caps.status_query) {
    send = Send::kStatusQuery;
  } else {
    send = resend_of(o);
    if (send == Send::kNothing && rules.caps.status_query) send = Send::kStatusQuery;
    if (send != Send::kStatusQuery) step = Step::kResend;
  }
  if (send == Send::kNothing) {
    if (o.send_attempts == 0) {
      // Never sent and the broker cannot be asked: it cannot have the order.
      d.reason = Reason::kStaleRejected;
      d.order = must_apply(o, EvReject{"stale: never sent, and the broker cannot be asked"}, now);
      d.event = EventType::kRejected;
      d.schedule = ScheduleOp::kClear;
      return d;
    }
    d.reason = Reason::kAttemptsExhausted;
    d.event = EventType::kAttentionRequired;
    d.alert = true;
    d.detail = "the broker can neither be asked nor sent this request again";
    return set_wait(std::move(d), Step::kAttention, kNeverDue, wait.attempt);
  }
  d.reason = Reason::kAttempt;
  d.send = send;
  d.uses_budget = true;
  d.detail = "resolution attempt " + std::to_string(wait.attempt + 1);
  const std::uint64_t delay_ms = retry_delay_ms(backoff, wait.attempt + 1, ctx.draw);
  return set_wait(std::move(d), step, now + static_cast<TimestampUs>(delay_ms) * kMs,
                  wait.attempt + 1);
}

Decision decide_restart(const Order& o, const std::optional<Wait>& wait, const BrokerRules& rules,
                        TimestampUs now) {
  Decision d;
  if (is_terminal(o.state)) {
    d.reason = Reason::kTerminal;
    if (wait) d.schedule = ScheduleOp::kClear;
    return d;
  }
  if (o.state == OrderState::kUnknownAtBroker) {
    if (wait && wait->step != Step::kAttention) {
      d.reason = Reason::kScheduleContinues;
      return d;
    }
    d.reason = Reason::kAttention;
    if (!wait) {
      return set_wait(std::move(d), Step::kAttention, kNeverDue, rules.policy.backoff.max_attempts);
    }
    return d;
  }
  if (o.send_attempts == 0 &&
      (o.state == OrderState::kPendingNew || o.state == OrderState::kPendingCancel)) {
    d.reason = Reason::kRequeue;
    d.send = Send::kNewOrder;
    return d;
  }
  if (is_pending(o.state)) {
    d.reason = Reason::kInFlightAtRestart;
    d.order = must_apply(o, EvTimeout{}, now);
    d.event = EventType::kUnknown;
    d.detail = "in flight when the gateway restarted";
    return set_wait(std::move(d), resolve_step(*d.order, rules), now, carried(wait));
  }
  // Live and acknowledged: the logon status query covers it.
  d.reason = Reason::kNone;
  if (wait) d.schedule = ScheduleOp::kClear;
  return d;
}

}  // namespace brokergw::core
