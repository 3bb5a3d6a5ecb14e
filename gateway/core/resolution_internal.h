// Helpers shared by the resolution rules' two files (resolution.cpp: dispatch, due entries,
// restart; resolution_report.cpp: report triage). Pure; internal to gateway/core.
#pragma once

#include <string>

#include "gateway/core/resolution.h"

namespace brokergw::core::rules_detail {

constexpr TimestampUs kMs = 1000;
constexpr TimestampUs kMinReaderWaitUs = 100 * kMs;

inline bool is_pending(OrderState s) {
  return s == OrderState::kPendingNew || s == OrderState::kPendingCancel ||
         s == OrderState::kPendingReplace;
}

// What the order waits for: its own pending state, or the one it had when it went unknown.
inline OrderState pending_part(const Order& o) {
  return o.state == OrderState::kUnknownAtBroker ? o.state_before_pending : o.state;
}

inline TimestampUs ack_deadline(const BrokerRules& rules, TimestampUs now) {
  return now + static_cast<TimestampUs>(rules.policy.ack_timeout_ms) * kMs;
}

inline std::uint32_t carried(const std::optional<Wait>& w) { return w ? w->attempt : 0; }

// The step that resolves an unknown order next.
inline Step resolve_step(const Order& o, const BrokerRules& rules) {
  const OrderState part = pending_part(o);
  if (o.send_attempts == 0 || part == OrderState::kPendingReplace) return Step::kQuery;
  if (!rules.caps.status_query) return Step::kResend;
  if (part == OrderState::kPendingCancel) return Step::kQuery;  // ask before a second cancel
  return rules.policy.strategy == Strategy::kResend ? Step::kResend : Step::kQuery;
}

// The resend that fits the order's pending part, or kNothing when it cannot be resent.
inline Send resend_of(const Order& o) {
  const OrderState part = pending_part(o);
  if (o.send_attempts == 0) return Send::kNothing;
  if (part == OrderState::kPendingNew) return Send::kResendNewOrder;
  if (part == OrderState::kPendingCancel && !o.cancel_id.empty()) return Send::kCancel;
  return Send::kNothing;
}

inline Decision set_wait(Decision d, Step step, TimestampUs due, std::uint32_t attempt) {
  d.schedule = ScheduleOp::kSet;
  d.wait = {step, due, attempt};
  return d;
}

inline Decision ignored(Reason reason, std::string detail) {
  Decision d;
  d.reason = reason;
  d.event = EventType::kReportIgnored;
  d.detail = std::move(detail);
  return d;
}

inline AnomalyReason anomaly_of(RefusalReason r) {
  switch (r) {
    case RefusalReason::kOverFill:
      return AnomalyReason::kOverFill;
    case RefusalReason::kInvalidFill:
      return AnomalyReason::kInvalidFill;
    default:
      return AnomalyReason::kUnexpectedEvent;
  }
}

inline Decision refused(const Refusal& r) {
  Decision d;
  d.reason = Reason::kRefused;
  d.event = EventType::kAnomaly;
  d.anomaly = anomaly_of(r.reason);
  d.detail = std::string(to_string(r.reason)) + ": " + r.detail;
  return d;
}

// Applies a chain of events the rules themselves chose; a refusal here is a rules bug.
inline Order must_apply(const Order& o, const OrderEvent& ev, TimestampUs now) {
  auto r = apply(o, ev, now);
  if (!r) return o;
  return std::move(r->order);
}

}  // namespace brokergw::core::rules_detail
