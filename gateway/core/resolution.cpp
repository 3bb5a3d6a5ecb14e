// The resolution rules (core/resolution.h): dispatch, due entries and restart; report triage
// is in resolution_report.cpp. Each function is a sequence of guards, first match wins; the
// header lists them in the same order.
#include "gateway/core/resolution.h"

#include <algorithm>

#include "gateway/core/resolution_internal.h"

namespace brokergw::core {

using namespace rules_detail;

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
