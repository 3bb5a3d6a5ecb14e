// Unit tests for gateway/core/resolution.h, written from the header's specification (not from
// resolution.cpp). Three layers:
//  * an oracle of the invariants the header promises for EVERY decision (resolution_oracle::
//    violation, shared with core_resolution_property_test.cpp);
//  * tables: every order variant (each OrderState, reached through core::apply, several of them
//    in more than one realistic shape) against every report kind, lane request, schedule step
//    and restart entry, each checked against the invariants and against the header's rule for
//    that cell where the header states one;
//  * named rows for the cases the header spells out, so a failure names the rule it breaks.
#include "gateway/core/resolution.h"

#include <array>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace brokergw::core {

// ---- Printers (gtest prints scoped uint8_t enums as raw bytes otherwise) ---------------------

std::string_view schedule_name(ScheduleOp op) {
  switch (op) {
    case ScheduleOp::kKeep:
      return "keep";
    case ScheduleOp::kClear:
      return "clear";
    case ScheduleOp::kSet:
      return "set";
  }
  return "?";
}

void PrintTo(OrderState v, std::ostream* os) { *os << to_string(v); }
void PrintTo(Strategy v, std::ostream* os) { *os << to_string(v); }
void PrintTo(Step v, std::ostream* os) { *os << to_string(v); }
void PrintTo(ReportKind v, std::ostream* os) { *os << to_string(v); }
void PrintTo(Send v, std::ostream* os) { *os << to_string(v); }
void PrintTo(ScheduleOp v, std::ostream* os) { *os << schedule_name(v); }
void PrintTo(EventType v, std::ostream* os) {
  *os << (v == EventType::kNone ? std::string_view("(none)") : to_string(v));
}
void PrintTo(AnomalyReason v, std::ostream* os) {
  *os << (v == AnomalyReason::kNone ? std::string_view("(none)") : to_string(v));
}
void PrintTo(Reason v, std::ostream* os) {
  *os << (v == Reason::kNone ? std::string_view("(none)") : to_string(v));
}
void PrintTo(const Wait& w, std::ostream* os) {
  *os << "{" << to_string(w.step) << " due=";
  if (w.due_us == kNeverDue) {
    *os << "never";
  } else {
    *os << w.due_us;
  }
  *os << " attempt=" << w.attempt;
  if (w.deadline_us != 0) *os << " deadline=" << w.deadline_us;
  *os << "}";
}

// ---- The invariant oracle (shared with the property test) -------------------------------------

namespace resolution_oracle {

enum class Fn { kDispatch, kTriage, kDue, kRestart };

// Settled: terminal, or live (New / PartiallyFilled) and acknowledged with nothing pending.
bool settled(const Order& o) {
  if (is_terminal(o.state)) return true;
  return (o.state == OrderState::kNew || o.state == OrderState::kPartiallyFilled) && o.acknowledged;
}

const Order& order_after(const Order& in, const Decision& d) { return d.order ? *d.order : in; }

std::optional<Wait> wait_after(const std::optional<Wait>& in, const Decision& d) {
  switch (d.schedule) {
    case ScheduleOp::kKeep:
      return in;
    case ScheduleOp::kClear:
      return std::nullopt;
    case ScheduleOp::kSet:
      return d.wait;
  }
  return in;
}

std::string wait_text(const std::optional<Wait>& w) {
  if (!w) return "none";
  std::ostringstream out;
  PrintTo(*w, &out);
  return out.str();
}

std::string describe(const Decision& d) {
  std::ostringstream out;
  out << "decision{reason=" << to_string(d.reason) << " send=" << to_string(d.send)
      << " schedule=" << schedule_name(d.schedule);
  if (d.schedule == ScheduleOp::kSet) out << " wait=" << wait_text(d.wait);
  out << " event=" << to_string(d.event) << " anomaly=" << to_string(d.anomaly);
  if (d.order) {
    out << " order{state=" << to_string(d.order->state)
        << " before_pending=" << to_string(d.order->state_before_pending)
        << " send_attempts=" << d.order->send_attempts << " ack=" << d.order->acknowledged
        << " cum=" << d.order->cum_qty.value.to_string() << "}";
  } else {
    out << " order=unchanged";
  }
  if (d.alert) out << " alert";
  if (d.probe) out << " probe";
  if (d.uses_budget) out << " uses_budget";
  if (!d.detail.empty()) out << " detail=\"" << d.detail << "\"";
  out << "}";
  return out.str();
}

namespace {

// The invariants of order.h / check_invariants, restated so that a break is reported as a test
// failure (with the cell or the seed) instead of an abort.
std::string order_violation(const Order& o) {
  const Decimal qty = o.request.quantity.value;
  const Decimal cum = o.cum_qty.value;
  if (cum.mantissa() < 0) return "cum < 0";
  if (cum > qty) return "cum > quantity";
  const Decimal leaves = is_terminal(o.state) ? Decimal{} : qty - cum;
  if (o.leaves_qty.value != leaves) return "leaves";
  if (o.state == OrderState::kFilled && cum != qty) return "filled short";
  if (o.history.empty()) return "history empty";
  if (o.history.back().state != o.state) return "history last state";
  if (o.history.size() > kMaxHistory) return "history too long";
  if (o.avg_price != average_price(o.cum_notional, o.cum_qty)) return "avg";
  return "";
}

bool is_refusal_anomaly(AnomalyReason a) {
  return a == AnomalyReason::kOverFill || a == AnomalyReason::kInvalidFill ||
         a == AnomalyReason::kUnexpectedEvent;
}

}  // namespace

// The first broken promise of the header, or "" when the decision keeps them all. `kind` is the
// report kind (triage only), `ctx` the due context (decide_due only).
std::string violation(Fn fn, const Order& in, const std::optional<Wait>& in_wait, const Decision& d,
                      const BrokerRules& rules, TimestampUs now, std::optional<ReportKind> kind,
                      const DueContext* ctx) {
  (void)rules;
  const Order& after = order_after(in, d);
  std::ostringstream out;
  // A decision that does something says why (Reason is journaled as the event's reason_code).
  if (d.reason == Reason::kNone &&
      (d.event != EventType::kNone || d.send != Send::kNothing || (d.order && !(*d.order == in)))) {
    return "the decision acts without a reason";
  }

  // The order to write is a valid order derived from the input.
  if (d.order) {
    if (const std::string v = order_violation(*d.order); !v.empty()) {
      return "decision.order breaks an order invariant: " + v;
    }
    check_invariants(*d.order);  // aborts on a break the restatement above missed
    if (!(d.order->request == in.request)) return "decision.order has another request";
    if (d.order->created_us != in.created_us) return "decision.order has another created_us";
    // Only a bust or correction takes fills back, and only it revives a Filled order.
    const bool adjusts = d.event == EventType::kFillBusted || d.event == EventType::kFillCorrected;
    if (d.order->cum_qty < in.cum_qty && !adjusts) return "decision.order moved cum_qty down";
    // Fills are booked only from executions: never from a total (a status answer, a CumQty).
    if (d.order->cum_qty != in.cum_qty && !adjusts && d.event != EventType::kFill) {
      return "decision.order moved cum_qty without a fill (" + std::string(to_string(d.event)) +
             ")";
    }
    if (d.order->broker_cum_qty < in.broker_cum_qty && !adjusts) {
      return "decision.order moved broker_cum_qty down";
    }
    if (is_terminal(in.state) && !is_terminal(d.order->state) &&
        !(adjusts && in.state == OrderState::kFilled)) {
      return "decision.order left the terminal state " + std::string(to_string(in.state));
    }
    if (in.acknowledged && !d.order->acknowledged) return "decision.order lost acknowledged";
    if (d.order->send_attempts < in.send_attempts ||
        d.order->send_attempts > in.send_attempts + 1) {
      out << "send_attempts " << in.send_attempts << " -> " << d.order->send_attempts;
      return out.str();
    }
  }

  // No decision for a terminal order sends anything.
  if (d.send != Send::kNothing && (is_terminal(in.state) || is_terminal(after.state))) {
    out << "sends " << to_string(d.send) << " for a " << to_string(in.state) << " -> "
        << to_string(after.state) << " order";
    return out.str();
  }
  // kNewOrder at most once per order: send_attempts 0 -> 1.
  if (d.send == Send::kNewOrder) {
    if (in.send_attempts != 0) {
      out << "new_order for an order with send_attempts " << in.send_attempts;
      return out.str();
    }
    if (fn == Fn::kDispatch && after.send_attempts != 1) {
      out << "new_order dispatched, but the order to write has send_attempts "
          << after.send_attempts << " (must be 1)";
      return out.str();
    }
  }
  if (fn == Fn::kDispatch && d.send == Send::kResendNewOrder &&
      after.send_attempts != in.send_attempts + 1) {
    out << "resend_new_order dispatched without marking the send attempt (send_attempts "
        << in.send_attempts << " -> " << after.send_attempts << ")";
    return out.str();
  }
  if (after.send_attempts != in.send_attempts && d.send != Send::kNewOrder &&
      d.send != Send::kResendNewOrder) {
    return "send_attempts changed without a NewOrderSingle going out";
  }
  if (d.uses_budget && d.send != Send::kStatusQuery && d.send != Send::kResendNewOrder &&
      d.send != Send::kCancel) {
    return "uses_budget without a status query or resend";
  }
  if (fn == Fn::kDue && d.send != Send::kNothing) {
    if (!d.uses_budget) return "a resolution attempt that does not spend budget";
    if (ctx != nullptr && !ctx->session_up) return "a resolution attempt while the session is down";
    if (ctx != nullptr && !ctx->budget_available) return "a resolution attempt without budget";
  }
  if (d.probe && d.reason != Reason::kReaderBehind) return "probe without reader_behind";

  // Waits.
  if (d.schedule == ScheduleOp::kSet) {
    if (d.wait.step == Step::kAttention && d.wait.due_us != kNeverDue) {
      return "an attention entry that falls due";
    }
    if (d.wait.step != Step::kAttention && d.wait.due_us == kNeverDue) {
      return "a " + std::string(to_string(d.wait.step)) + " entry that never falls due";
    }
    // In the past only when an overdue entry keeps its due time (e.g. a kQuery turned kResend).
    if (d.wait.due_us < now && !(in_wait && in_wait->due_us == d.wait.due_us)) {
      return "an entry set in the past: " + wait_text(d.wait);
    }
    if (after.state == OrderState::kUnknownAtBroker && d.wait.step == Step::kDeadline) {
      return "an unknown_at_broker order given a deadline instead of a resolution step";
    }
  }
  const std::optional<Wait> w = wait_after(in_wait, d);
  if (awaits_broker(after) && !w) {
    return "the order (" + std::string(to_string(after.state)) +
           ") awaits the broker but is left without a Wait";
  }
  if (settled(after) && w) {
    return "the order is settled (" + std::string(to_string(after.state)) +
           ") but its Wait is not cleared: " + wait_text(w);
  }
  if (settled(after) && awaits_broker(after)) return "awaits_broker() true for a settled order";
  if (in_wait && w && !settled(after)) {
    if (w->attempt < in_wait->attempt) {
      out << "attempt decreased " << in_wait->attempt << " -> " << w->attempt
          << " while the order is unresolved";
      return out.str();
    }
    if (w->attempt > in_wait->attempt + 1) {
      out << "attempt jumped " << in_wait->attempt << " -> " << w->attempt;
      return out.str();
    }
  }

  // The event never contradicts the resulting state.
  const auto bad_event = [&](std::string_view why) {
    return "event " + std::string(to_string(d.event)) + " " + std::string(why) + " (result " +
           std::string(to_string(after.state)) + ")";
  };
  switch (d.event) {
    case EventType::kNone:
    case EventType::kResolution:
      break;
    case EventType::kNew:
      if (!after.acknowledged) return bad_event("for an order that is not acknowledged");
      break;
    case EventType::kFill:
      if (!(after.cum_qty > in.cum_qty)) return bad_event("without a fill applied");
      break;
    case EventType::kRejected:
      if (after.state != OrderState::kRejected) return bad_event("but the order is not rejected");
      break;
    case EventType::kCancelRequested:
      if (after.state != OrderState::kPendingCancel) return bad_event("but no cancel is pending");
      break;
    case EventType::kCanceled:
      if (after.state != OrderState::kCanceled) return bad_event("but the order is not canceled");
      break;
    case EventType::kCancelRejected:
      if (in.state != OrderState::kPendingCancel || after.state == OrderState::kPendingCancel ||
          is_terminal(after.state)) {
        return bad_event("but no pending cancel was refused");
      }
      break;
    case EventType::kReplaceRequested:
      if (after.state != OrderState::kPendingReplace) return bad_event("but no replace pending");
      break;
    case EventType::kReplaced:
      if (after.state != OrderState::kReplaced) return bad_event("but the order is not replaced");
      break;
    case EventType::kReplaceRejected:
      if (in.state != OrderState::kPendingReplace || after.state == OrderState::kPendingReplace ||
          is_terminal(after.state)) {
        return bad_event("but no pending replace was refused");
      }
      break;
    case EventType::kExpired:
      if (after.state != OrderState::kExpired) return bad_event("but the order is not expired");
      break;
    case EventType::kStatus:
      if (fn != Fn::kTriage || kind != ReportKind::kStatus) {
        return bad_event("for something other than a status answer");
      }
      break;
    case EventType::kUnknown:
      if (after.state != OrderState::kUnknownAtBroker || in.state == OrderState::kUnknownAtBroker) {
        return bad_event("but the order did not go unknown_at_broker");
      }
      break;
    case EventType::kAttentionRequired:
      if (!w || w->step != Step::kAttention) return bad_event("without an attention entry");
      if (!d.alert) return bad_event("without an alert");
      break;
    case EventType::kAnomaly:
      if (fn != Fn::kTriage) return bad_event("outside report triage");
      if (d.anomaly == AnomalyReason::kNone) return bad_event("without an anomaly reason");
      break;
    case EventType::kReportIgnored:
      if (fn != Fn::kTriage) return bad_event("outside report triage");
      if (d.order && !(*d.order == in)) return bad_event("but the order changed");
      if (d.send != Send::kNothing) return bad_event("but something is sent");
      break;
    case EventType::kUnknownReport:
      return bad_event("from a decision about a known order");
    case EventType::kFillBusted:
      if (!(after.cum_qty < in.cum_qty)) return bad_event("without a fill taken back");
      break;
    case EventType::kFillCorrected:
      if (after.cum_qty == in.cum_qty && after.cum_notional == in.cum_notional) {
        return bad_event("without a fill changed");
      }
      break;
    case EventType::kRestated:
      if (after.state != in.state || after.cum_qty != in.cum_qty) {
        return bad_event("but the order's state or fills changed");
      }
      break;
    case EventType::kFillsMissing:
      return bad_event("as a decision's main event (it is only ever `also`)");
    case EventType::kUnverified:
      if (!after.unverified) return bad_event("but the order is not marked unverified");
      break;
  }
  if (d.also != EventType::kNone) {
    if (d.also != EventType::kFillsMissing) return "`also` is not order.fills_missing";
    if (!fills_missing(after)) return "order.fills_missing for an order with no fills missing";
    if (!d.alert) return "order.fills_missing without an alert";
  }
  if (is_refusal_anomaly(d.anomaly)) {
    if (d.event != EventType::kAnomaly) return "a refused report journaled as something else";
    if (d.order && !(*d.order == in)) return "a refused report changed the order";
    if (d.send != Send::kNothing) return "a refused report sends something";
  }
  if (d.anomaly == AnomalyReason::kBrokerLostOrder && d.order && !(*d.order == in)) {
    return "an anomaly that must leave the order unchanged changed it";
  }
  return "";
}

}  // namespace resolution_oracle

namespace {

using resolution_oracle::describe;
using resolution_oracle::Fn;
using resolution_oracle::order_after;
using resolution_oracle::settled;
using resolution_oracle::violation;
using resolution_oracle::wait_after;

constexpr TimestampUs kCreated = 1'700'000'000'000'000;
constexpr TimestampUs kNow = kCreated + 10'000'000;  // 10 s after the order was created
constexpr TimestampUs kAckUs = 30'000'000;           // ack_timeout_ms = 30000
constexpr TimestampUs kBaseUs = 60'000'000;          // backoff base_ms = 60000
constexpr std::uint32_t kMaxAttempts = 4;
constexpr TimestampUs kWaitDue = kNow + 7'000'000;  // a pending entry, not yet due
constexpr TimestampUs kFellDue = kNow - 1'000'000;  // an entry that fell due a second ago
constexpr std::uint32_t kCarried = 2;               // attempts already made (not 0, not 1)

Qty q(std::string_view s) { return Qty{*Decimal::parse(s)}; }
Price px(std::string_view s) { return Price{*Decimal::parse(s)}; }

NewOrderRequest request() {
  NewOrderRequest r;
  r.client_order_id = "CL-1";
  r.account = "ACC-1";
  r.broker = "broker-a";
  r.symbol = "AAPL";
  r.side = Side::kBuy;
  r.quantity = q("100");
  r.order_type = OrderType::kLimit;
  r.limit_price = px("101");
  return r;
}

Order must(const Order& o, const OrderEvent& ev, TimestampUs at) {
  auto r = apply(o, ev, at);
  if (!r) {
    ADD_FAILURE() << event_name(ev) << " refused: " << r.error().detail;
    return o;
  }
  return std::move(r->order);
}

BrokerRules rules_for(Strategy s, bool status_query) {
  BrokerRules r;
  r.policy.strategy = s;
  r.policy.backoff = BackoffPolicy{60000, 480000, kMaxAttempts, 10};
  r.policy.ack_timeout_ms = 30000;
  r.policy.stale_order_age_ms = 0;
  r.policy.query_on_reconnect = true;
  r.caps.status_query = status_query;
  return r;
}

// ---- Order variants --------------------------------------------------------------------------

// Every OrderState, reached from make_order through core::apply only, several of them in each
// shape the rules tell apart (sent or not, acknowledged or not, what the pending part is).
enum class V : int {
  kPendingNewUnsent,          // created, still in the lane
  kPendingNewSent,            // EvSendAttempt: on the wire, no answer yet
  kPendingNewAcked,           // sent, timed out, status "pending_new": acknowledged, pending
  kNew,                       // sent, acked
  kPartiallyFilled,           // sent, acked, 30 of 100 filled
  kFilled,                    // sent, acked, 100 filled
  kPendingCancelSent,         // acked, cancel requested (before_pending New)
  kPendingCancelUnsent,       // cancel requested before the order left (before_pending PendingNew)
  kPendingCancelUnacked,      // sent, not acked, cancel requested (before_pending PendingNew)
  kPendingCancelFromUnknown,  // sent, timed out, cancel requested (before_pending Unknown)
  kCanceled,                  // acked, cancel requested, canceled
  kPendingReplace,            // acked, replace requested
  kReplaced,                  // acked, replace requested, replaced
  kRejected,                  // sent, rejected
  kExpired,                   // acked, expired
  kUnknownNew,                // sent, timed out (before_pending PendingNew, not acked)
  kUnknownNewAcked,           // kPendingNewAcked timed out again (acknowledged)
  kUnknownCancel,             // acked, cancel requested, timed out (before_pending PendingCancel)
  kUnknownCancelUnacked,      // sent, cancel requested, timed out; the broker never acked
  kUnknownReplace,            // acked, replace requested, timed out
  kUnknownUnsent,             // never sent, timed out (the stale path)
};
constexpr int kVariantCount = 21;

struct VariantInfo {
  const char* name;
  OrderState state;
};
constexpr std::array<VariantInfo, kVariantCount> kVariants = {{
    {"PendingNewUnsent", OrderState::kPendingNew},
    {"PendingNewSent", OrderState::kPendingNew},
    {"PendingNewAcked", OrderState::kPendingNew},
    {"New", OrderState::kNew},
    {"PartiallyFilled", OrderState::kPartiallyFilled},
    {"Filled", OrderState::kFilled},
    {"PendingCancelSent", OrderState::kPendingCancel},
    {"PendingCancelUnsent", OrderState::kPendingCancel},
    {"PendingCancelUnacked", OrderState::kPendingCancel},
    {"PendingCancelFromUnknown", OrderState::kPendingCancel},
    {"Canceled", OrderState::kCanceled},
    {"PendingReplace", OrderState::kPendingReplace},
    {"Replaced", OrderState::kReplaced},
    {"Rejected", OrderState::kRejected},
    {"Expired", OrderState::kExpired},
    {"UnknownNew", OrderState::kUnknownAtBroker},
    {"UnknownNewAcked", OrderState::kUnknownAtBroker},
    {"UnknownCancel", OrderState::kUnknownAtBroker},
    {"UnknownCancelUnacked", OrderState::kUnknownAtBroker},
    {"UnknownReplace", OrderState::kUnknownAtBroker},
    {"UnknownUnsent", OrderState::kUnknownAtBroker},
}};

Order build(V v) {
  TimestampUs t = kCreated;
  Order o = make_order(request(), kCreated);
  const auto step = [&](const OrderEvent& ev) {
    t += 1000;
    o = must(o, ev, t);
  };
  const auto sent = [&] { step(EvSendAttempt{}); };
  const auto acked = [&] {
    sent();
    step(EvAck{"B-1"});
  };
  const auto pending_acked = [&] {
    sent();
    step(EvTimeout{});
    step(EvStatus{OrderState::kPendingNew, "", q("0"), px("0")});
  };
  switch (v) {
    case V::kPendingNewUnsent:
      break;
    case V::kPendingNewSent:
      sent();
      break;
    case V::kPendingNewAcked:
      pending_acked();
      break;
    case V::kNew:
      acked();
      break;
    case V::kPartiallyFilled:
      acked();
      step(EvFill{"E-1", "B-1", q("30"), px("100")});
      break;
    case V::kFilled:
      acked();
      step(EvFill{"E-1", "B-1", q("100"), px("100")});
      break;
    case V::kPendingCancelSent:
      acked();
      step(EvCancelRequested{"C-1"});
      break;
    case V::kPendingCancelUnsent:
      step(EvCancelRequested{"C-1"});
      break;
    case V::kPendingCancelUnacked:
      sent();
      step(EvCancelRequested{"C-1"});
      break;
    case V::kPendingCancelFromUnknown:
      sent();
      step(EvTimeout{});
      step(EvCancelRequested{"C-1"});
      break;
    case V::kCanceled:
      acked();
      step(EvCancelRequested{"C-1"});
      step(EvCanceled{"client request"});
      break;
    case V::kPendingReplace:
      acked();
      step(EvReplaceRequested{"R-1"});
      break;
    case V::kReplaced:
      acked();
      step(EvReplaceRequested{"R-1"});
      step(EvReplaced{});
      break;
    case V::kRejected:
      sent();
      step(EvReject{"unknown symbol"});
      break;
    case V::kExpired:
      acked();
      step(EvExpired{});
      break;
    case V::kUnknownNew:
      sent();
      step(EvTimeout{});
      break;
    case V::kUnknownNewAcked:
      pending_acked();
      step(EvTimeout{});
      break;
    case V::kUnknownCancel:
      acked();
      step(EvCancelRequested{"C-1"});
      step(EvTimeout{});
      break;
    case V::kUnknownCancelUnacked:
      sent();
      step(EvCancelRequested{"C-1"});
      step(EvTimeout{});
      break;
    case V::kUnknownReplace:
      acked();
      step(EvReplaceRequested{"R-1"});
      step(EvTimeout{});
      break;
    case V::kUnknownUnsent:
      step(EvTimeout{});
      break;
  }
  return o;
}

V variant(int i) { return static_cast<V>(i); }
const char* variant_name(int i) { return kVariants[static_cast<std::size_t>(i)].name; }

// ---- Readings of the header's vocabulary ----------------------------------------------------

bool sent(const Order& o) { return o.send_attempts > 0; }
bool is_unknown(const Order& o) { return o.state == OrderState::kUnknownAtBroker; }
bool is_pending(OrderState s) {
  return s == OrderState::kPendingNew || s == OrderState::kPendingCancel ||
         s == OrderState::kPendingReplace;
}
bool is_live(OrderState s) { return s == OrderState::kNew || s == OrderState::kPartiallyFilled; }
// "whose pending part is the new order"
bool pending_part_new(const Order& o) {
  return o.state == OrderState::kPendingNew ||
         (is_unknown(o) && o.state_before_pending == OrderState::kPendingNew);
}
bool unknown_cancel(const Order& o) {
  return is_unknown(o) && o.state_before_pending == OrderState::kPendingCancel;
}
bool can_ask(const BrokerRules& r) { return r.caps.status_query; }
// "the pending part can be resent": a sent new order (NewOrderSingle PossResend) or a cancel.
bool resendable(const Order& o) {
  return sent(o) &&
         (pending_part_new(o) || unknown_cancel(o) || o.state == OrderState::kPendingCancel);
}

// The resolution step an unknown order waits on: ask under the status_query strategy (or when
// only asking is possible: a pending replace, a never-sent order), resend otherwise or when the
// broker cannot be asked. nullopt where the header names no step (nothing can be done).
std::optional<Step> resolution_step(const Order& unknown, const BrokerRules& r) {
  const bool resend_possible =
      sent(unknown) && (pending_part_new(unknown) || unknown_cancel(unknown));
  // A lost cancel under the resend strategy: the header asks first at restart ("its answer may
  // already be on its way") and names no step elsewhere; either is accepted.
  if (unknown_cancel(unknown) && can_ask(r) && r.policy.strategy == Strategy::kResend) {
    return std::nullopt;
  }
  if (can_ask(r) && (r.policy.strategy == Strategy::kStatusQuery || !resend_possible)) {
    return Step::kQuery;
  }
  if (resend_possible) return Step::kResend;
  return std::nullopt;
}

// The entry the service would hold for the variant: deadlines for pending orders (attempt 0,
// or carried when the order was unknown before), the resolution step for unknown orders.
std::optional<Wait> realistic_wait(V v, const Order& o, const BrokerRules& r, TimestampUs due) {
  if (settled(o)) return std::nullopt;
  switch (o.state) {
    case OrderState::kPendingNew:
      if (!sent(o)) return std::nullopt;  // still in the lane: its deadline comes with the send
      return Wait{Step::kDeadline, due, v == V::kPendingNewAcked ? kCarried : 0};
    case OrderState::kPendingCancel:
      return Wait{Step::kDeadline, due, v == V::kPendingCancelFromUnknown ? kCarried : 0};
    case OrderState::kPendingReplace:
      return Wait{Step::kDeadline, due, 0};
    case OrderState::kUnknownAtBroker:
      return Wait{resolution_step(o, r).value_or(Step::kQuery), due, kCarried};
    default:
      return std::nullopt;
  }
}

bool unchanged(const Order& in, const Decision& d) { return !d.order || *d.order == in; }
std::uint32_t carried(const std::optional<Wait>& w) { return w ? w->attempt : 0; }

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
    case ReportKind::kStatus:
      return EventType::kStatus;
    default:
      return EventType::kNone;
  }
}

const std::array<Strategy, 2> kStrategies = {Strategy::kStatusQuery, Strategy::kResend};

// Every variant reaches the state it is named after, and the table covers every state.
TEST(ResolutionVariants, EveryStateReachedThroughApply) {
  std::array<int, kOrderStateCount> seen{};
  for (int i = 0; i < kVariantCount; ++i) {
    const Order o = build(variant(i));
    EXPECT_EQ(o.state, kVariants[static_cast<std::size_t>(i)].state) << variant_name(i);
    check_invariants(o);
    ++seen[static_cast<std::size_t>(o.state)];
  }
  for (int s = 0; s < kOrderStateCount; ++s) {
    EXPECT_GT(seen[static_cast<std::size_t>(s)], 0) << to_string(static_cast<OrderState>(s));
  }
  EXPECT_EQ(build(V::kUnknownNew).state_before_pending, OrderState::kPendingNew);
  EXPECT_EQ(build(V::kUnknownCancel).state_before_pending, OrderState::kPendingCancel);
  EXPECT_TRUE(build(V::kUnknownCancel).acknowledged);
  EXPECT_FALSE(build(V::kUnknownCancelUnacked).acknowledged);
  EXPECT_TRUE(build(V::kPendingNewAcked).acknowledged);
  EXPECT_EQ(build(V::kPendingNewUnsent).send_attempts, 0U);
  EXPECT_EQ(build(V::kPendingNewSent).send_attempts, 1U);
  EXPECT_EQ(build(V::kUnknownUnsent).send_attempts, 0U);
  EXPECT_EQ(build(V::kPendingCancelFromUnknown).state_before_pending, OrderState::kUnknownAtBroker);
}

// ---- awaits_broker and query_after_logon -----------------------------------------------------

TEST(ResolutionAwaitsBroker, EveryVariant) {
  for (int i = 0; i < kVariantCount; ++i) {
    const Order o = build(variant(i));
    SCOPED_TRACE(variant_name(i));
    if (settled(o)) {
      EXPECT_FALSE(awaits_broker(o));
    } else if (variant(i) == V::kPendingNewUnsent) {
      EXPECT_FALSE(awaits_broker(o)) << "never sent: the lane holds it, not the broker";
    } else if (variant(i) == V::kPendingCancelUnsent) {
      // Not stated either way: a cancel accepted before its order went out.
    } else {
      // Sent and unacknowledged, pending after a status answer, pending cancel or replace,
      // unknown at broker: each "waits for the broker" (the header's Vocabulary).
      EXPECT_TRUE(awaits_broker(o));
    }
  }
}

TEST(ResolutionQueryAfterLogon, SentOpenOrdersWhenPolicyAndCapabilityAllow) {
  for (int i = 0; i < kVariantCount; ++i) {
    const Order o = build(variant(i));
    for (const bool on_reconnect : {true, false}) {
      for (const bool caps : {true, false}) {
        BrokerRules r = rules_for(Strategy::kStatusQuery, caps);
        r.policy.query_on_reconnect = on_reconnect;
        const bool want = sent(o) && !is_terminal(o.state) && on_reconnect && caps;
        EXPECT_EQ(query_after_logon(o, r), want)
            << variant_name(i) << " query_on_reconnect=" << on_reconnect << " caps=" << caps;
      }
    }
  }
}

// ---- triage_report: every variant x every report kind x strategy x capability ----------------

struct Column {
  const char* name;
  ReportKind kind;
  OrderEvent event;
};

// One column per report kind, and several for kStatus (the broker's answer decides the rule).
std::vector<Column> triage_columns() {
  return {
      {"ack", ReportKind::kAck, EvAck{"B-1"}},
      {"fill", ReportKind::kFill, EvFill{"E-T", "B-1", q("10"), px("101")}},
      {"reject", ReportKind::kReject, EvReject{"unknown symbol"}},
      {"duplicate_clordid", ReportKind::kDuplicateClOrdId, EvReject{"duplicate ClOrdID"}},
      {"canceled", ReportKind::kCanceled, EvCanceled{"client request"}},
      {"cancel_rejected", ReportKind::kCancelRejected, EvCancelRejected{"too late"}},
      {"replaced", ReportKind::kReplaced, EvReplaced{}},
      {"replace_rejected", ReportKind::kReplaceRejected, EvReplaceRejected{"not allowed"}},
      {"expired", ReportKind::kExpired, EvExpired{}},
      {"status_new", ReportKind::kStatus, EvStatus{OrderState::kNew, "B-1", q("0"), px("0")}},
      {"status_partial", ReportKind::kStatus,
       EvStatus{OrderState::kPartiallyFilled, "B-1", q("40"), px("101")}},
      {"status_filled", ReportKind::kStatus,
       EvStatus{OrderState::kFilled, "B-1", q("100"), px("101")}},
      {"status_pending_new", ReportKind::kStatus,
       EvStatus{OrderState::kPendingNew, "", q("0"), px("0")}},
      {"status_pending_cancel", ReportKind::kStatus,
       EvStatus{OrderState::kPendingCancel, "B-1", q("0"), px("0")}},
      {"status_canceled", ReportKind::kStatus,
       EvStatus{OrderState::kCanceled, "B-1", q("0"), px("0")}},
      {"status_rejected", ReportKind::kStatus,
       EvStatus{OrderState::kRejected, "", q("0"), px("0")}},
      {"status_invalid", ReportKind::kStatus,  // filled with cum 40 of 100: refused
       EvStatus{OrderState::kFilled, "B-1", q("40"), px("101")}},
      {"status_unknown_order", ReportKind::kStatusUnknown,
       EvStatus{OrderState::kRejected, "", q("0"), px("0")}},
      {"status_unsupported", ReportKind::kStatusUnsupported, EvStatus{}},
  };
}
const int kColumnCount = static_cast<int>(triage_columns().size());

void expect_ignored(const Order& o, const Decision& d) {
  EXPECT_EQ(d.event, EventType::kReportIgnored);
  EXPECT_EQ(d.reason, Reason::kLateReport);
  EXPECT_TRUE(unchanged(o, d));
  EXPECT_EQ(d.send, Send::kNothing);
}

void expect_refused(const Order& o, const Decision& d, RefusalReason r) {
  EXPECT_EQ(d.event, EventType::kAnomaly);
  EXPECT_EQ(d.anomaly, anomaly_of(r));
  EXPECT_EQ(d.reason, Reason::kRefused);
  EXPECT_TRUE(unchanged(o, d));
  EXPECT_EQ(d.send, Send::kNothing);
}

// The header's rule for one triage cell, where it states one.
void expect_triage_rule(const Order& o, const std::optional<Wait>& w, const Column& col,
                        const BrokerRules& rules, const Decision& d) {
  const Order& after = order_after(o, d);
  const std::optional<Wait> nw = wait_after(w, d);
  switch (col.kind) {
    case ReportKind::kStatusUnknown:
      if (is_terminal(o.state)) return expect_ignored(o, d);
      if (!sent(o)) {
        if (is_unknown(o)) {
          EXPECT_EQ(after.state, OrderState::kRejected);
          EXPECT_EQ(d.reason, Reason::kNotAtBrokerReject);
          EXPECT_EQ(d.event, EventType::kRejected);
          EXPECT_EQ(nw, std::nullopt);
        } else {
          EXPECT_EQ(d.event, EventType::kReportIgnored) << "never sent, not unknown: ignored";
          EXPECT_TRUE(unchanged(o, d));
        }
        return;
      }
      if (!o.acknowledged && pending_part_new(o)) {
        EXPECT_EQ(after.state, OrderState::kUnknownAtBroker);
        EXPECT_EQ(d.reason, Reason::kNotAtBrokerResend);
        EXPECT_EQ(d.event, is_unknown(o) ? EventType::kResolution : EventType::kUnknown);
        EXPECT_EQ(d.schedule, ScheduleOp::kSet);
        EXPECT_EQ(nw, (Wait{Step::kResend, kNow, carried(w)}));
        EXPECT_EQ(d.send, Send::kNothing);
        return;
      }
      if (!o.acknowledged && unknown_cancel(o)) {
        EXPECT_EQ(after.state, OrderState::kRejected) << "never had it; nothing to cancel";
        EXPECT_EQ(d.event, EventType::kRejected);
        EXPECT_EQ(d.reason, Reason::kNotAtBrokerReject);
        EXPECT_EQ(nw, std::nullopt);
        return;
      }
      if (o.acknowledged) {
        EXPECT_EQ(d.event, EventType::kAnomaly);
        EXPECT_EQ(d.anomaly, AnomalyReason::kBrokerLostOrder);
        EXPECT_EQ(d.reason, Reason::kBrokerLostOrder);
        EXPECT_TRUE(d.alert);
        EXPECT_TRUE(unchanged(o, d));
        EXPECT_EQ(d.send, Send::kNothing);
      }
      return;  // sent, unacknowledged pending cancel: not stated

    case ReportKind::kStatusUnsupported:
      if (is_terminal(o.state)) return expect_ignored(o, d);
      if (!w && o.acknowledged && !awaits_broker(o)) {
        // A live order the broker will not confirm: listed for reconciliation.
        EXPECT_EQ(d.event, EventType::kUnverified);
        EXPECT_EQ(d.reason, Reason::kUnverified);
        ASSERT_TRUE(d.order.has_value());
        EXPECT_TRUE(d.order->unverified);
        EXPECT_EQ(d.send, Send::kNothing);
        return;
      }
      EXPECT_EQ(d.event, EventType::kResolution);
      EXPECT_EQ(d.reason, Reason::kStatusUnsupported);
      EXPECT_TRUE(unchanged(o, d));
      EXPECT_EQ(d.send, Send::kNothing);
      if (w && w->step == Step::kQuery && resendable(o)) {
        EXPECT_EQ(nw, (Wait{Step::kResend, w->due_us, w->attempt}));
      } else {
        EXPECT_EQ(nw, w) << "the entry stays as it was";
      }
      return;

    case ReportKind::kDuplicateClOrdId:
      if (is_terminal(o.state)) return expect_ignored(o, d);
      if (!pending_part_new(o) || (o.state == OrderState::kPendingNew && o.acknowledged)) {
        return expect_ignored(o, d);  // a late answer to a resend
      }
      if (sent(o)) {  // (a duplicate of a never-sent order cannot happen; not stated)
        EXPECT_EQ(d.send, Send::kNothing);
        EXPECT_NE(d.event, EventType::kRejected) << "never a reject";
        if (can_ask(rules)) {
          EXPECT_EQ(d.reason, Reason::kDuplicateClOrdId);
          EXPECT_EQ(after.state, OrderState::kUnknownAtBroker) << "a PendingNew first goes unknown";
          EXPECT_EQ(after.state_before_pending, OrderState::kPendingNew);
          EXPECT_EQ(d.event, is_unknown(o) ? EventType::kResolution : EventType::kUnknown);
          EXPECT_EQ(d.schedule, ScheduleOp::kSet);
          EXPECT_EQ(nw, (Wait{Step::kQuery, kNow, carried(w)}));
        } else {
          // It has the order but cannot say in what state: an operator must look.
          EXPECT_EQ(d.reason, Reason::kDuplicateClOrdId);
          EXPECT_EQ(after.state, OrderState::kUnknownAtBroker);
          EXPECT_EQ(d.event, EventType::kAttentionRequired);
          EXPECT_TRUE(d.alert);
          EXPECT_EQ(nw, (Wait{Step::kAttention, kNeverDue, carried(w)}));
        }
      }
      return;

    case ReportKind::kStatus: {
      const auto r = apply(o, col.event, kNow);
      if (!r) return expect_refused(o, d, r.error().reason);
      EXPECT_TRUE(d.send == Send::kNothing || d.send == Send::kCancel) << to_string(d.send);
      if (unknown_cancel(o) && is_live(r->order.state)) {
        // The broker has the order live: the cancel we lost goes again.
        EXPECT_EQ(d.reason, Reason::kStatusCancelLost);
        EXPECT_EQ(d.event, EventType::kStatus);
        EXPECT_EQ(after.state, OrderState::kPendingCancel);
        EXPECT_EQ(after.cancel_id, o.cancel_id);
        EXPECT_EQ(after.cum_qty, r->order.cum_qty);
        EXPECT_EQ(d.send, Send::kCancel);
        EXPECT_EQ(nw, (Wait{Step::kDeadline, kNow + kAckUs, carried(w) + 1}));
        return;
      }
      EXPECT_EQ(d.send, Send::kNothing);
      EXPECT_EQ(after.state, r->order.state) << "the status answer is adopted as apply() does";
      EXPECT_EQ(after.cum_qty, r->order.cum_qty);
      if (settled(r->order)) {
        EXPECT_EQ(nw, std::nullopt);
        if (r->order == o) {
          EXPECT_TRUE(d.event == EventType::kStatus || d.event == EventType::kReportIgnored)
              << to_string(d.event);
        } else {
          EXPECT_EQ(d.reason, Reason::kStatusAdopted);
          EXPECT_EQ(d.event, EventType::kStatus);
        }
      } else if (is_unknown(o) && is_pending(r->order.state)) {
        EXPECT_EQ(d.reason, Reason::kStatusPending);
        EXPECT_EQ(d.event, EventType::kStatus);
        EXPECT_EQ(d.schedule, ScheduleOp::kSet);
        EXPECT_EQ(nw, (Wait{Step::kDeadline, kNow + kAckUs, carried(w)}));
      }
      return;
    }

    default: {
      const auto r = apply(o, col.event, kNow);
      if (!r) return expect_refused(o, d, r.error().reason);
      if (r->order == o) return expect_ignored(o, d);
      EXPECT_EQ(d.reason, Reason::kApplied);
      EXPECT_EQ(d.event, event_of(col.kind));
      EXPECT_EQ(d.anomaly, col.kind == ReportKind::kFill && is_terminal(o.state)
                               ? AnomalyReason::kFillAfterTerminal
                               : AnomalyReason::kNone);
      ASSERT_TRUE(d.order.has_value());
      EXPECT_EQ(*d.order, r->order);
      EXPECT_EQ(d.send, Send::kNothing);
      if (settled(r->order)) {
        EXPECT_EQ(nw, std::nullopt);
      } else if (is_unknown(o) && is_pending(r->order.state)) {
        EXPECT_EQ(nw, (Wait{Step::kDeadline, kNow + kAckUs, carried(w)}));
      } else if (r->order.state == o.state && sent(o)) {
        // (never-sent orders cannot get these reports: send_attempts is marked before a send)
        EXPECT_EQ(nw, w) << "still waits for the same answer: kept";
      }
      return;
    }
  }
}

class ResolutionTriageTable : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ResolutionTriageTable, InvariantsAndRule) {
  const auto [row, col_index] = GetParam();
  const Column col = triage_columns()[static_cast<std::size_t>(col_index)];
  const Order o = build(variant(row));
  for (const Strategy s : kStrategies) {
    for (const bool caps : {true, false}) {
      SCOPED_TRACE(testing::Message() << variant_name(row) << " x " << col.name
                                      << " strategy=" << to_string(s) << " status_query=" << caps);
      const BrokerRules rules = rules_for(s, caps);
      const std::optional<Wait> w = realistic_wait(variant(row), o, rules, kWaitDue);
      const Order copy = o;
      const Decision d = triage_report(o, col.kind, col.event, w, rules, kNow);
      ASSERT_EQ(o, copy);
      EXPECT_EQ(violation(Fn::kTriage, o, w, d, rules, kNow, col.kind, nullptr), "")
          << describe(d) << " wait in " << resolution_oracle::wait_text(w);
      expect_triage_rule(o, w, col, rules, d);
      if (HasFailure()) ADD_FAILURE() << "cell decision: " << describe(d);
      if (HasFatalFailure()) return;
    }
  }
}

std::string triage_cell_name(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
  const auto [row, col] = info.param;
  return std::string(variant_name(row)) + "_x_" +
         triage_columns()[static_cast<std::size_t>(col)].name;
}

INSTANTIATE_TEST_SUITE_P(Core, ResolutionTriageTable,
                         ::testing::Combine(::testing::Range(0, kVariantCount),
                                            ::testing::Range(0, kColumnCount)),
                         triage_cell_name);

// ---- decide_dispatch: every variant x every lane request --------------------------------------

enum class WaitExp { kAny, kKeep, kDeadline };
enum class OrderExp { kUnchanged, kSendAttempt, kCanceledLocally, kAny };
struct DispatchCell {
  Send send;
  std::optional<Reason> reason;
  WaitExp wait;
  OrderExp order;
};
constexpr DispatchCell Nop(std::optional<Reason> r = std::nullopt) {
  return {Send::kNothing, r, WaitExp::kAny, OrderExp::kUnchanged};
}
constexpr DispatchCell Go(Send s, std::optional<Reason> r, WaitExp w,
                          OrderExp o = OrderExp::kUnchanged) {
  return {s, r, w, o};
}
constexpr DispatchCell kFirst =
    Go(Send::kNewOrder, Reason::kFirstSend, WaitExp::kDeadline, OrderExp::kSendAttempt);
constexpr DispatchCell kAskCell = Go(Send::kStatusQuery, Reason::kStatusQuerySend, WaitExp::kKeep);
constexpr DispatchCell kCxl = Go(Send::kCancel, Reason::kCancelSend, WaitExp::kDeadline);
constexpr DispatchCell kCxlKeep = Go(Send::kCancel, Reason::kCancelSend, WaitExp::kKeep);
constexpr DispatchCell kCxlFromResend = Go(Send::kCancel, std::nullopt, WaitExp::kKeep);
constexpr DispatchCell kResendNew =
    Go(Send::kResendNewOrder, Reason::kResend, WaitExp::kKeep, OrderExp::kSendAttempt);
constexpr DispatchCell kLocalCancel = {Send::kNothing, Reason::kCanceledBeforeSent, WaitExp::kAny,
                                       OrderExp::kCanceledLocally};
constexpr DispatchCell kUnstated = {Send::kNothing, std::nullopt, WaitExp::kAny, OrderExp::kAny};
constexpr DispatchCell kSent = Nop(Reason::kAlreadySent);
constexpr DispatchCell kNotYet = Nop(Reason::kNotSentYet);
constexpr DispatchCell kFinal = Nop(Reason::kTerminal);

constexpr std::array<Send, 4> kRequests = {Send::kNewOrder, Send::kResendNewOrder, Send::kCancel,
                                           Send::kStatusQuery};

// Rows in V order; columns new_order, resend_new_order, cancel, status_query. Nop() is
// "nothing" where the header names no reason; kUnstated is a cell the header leaves open or
// contradicts: a resend for a never-sent unknown order (no path requests one). A stale,
// never-sent unknown order is asked (the property test checks that a counted attempt reaches
// the broker).
// clang-format off
constexpr std::array<std::array<DispatchCell, 4>, kVariantCount> kDispatchTable = {{
//                           NewOrder       Resend           Cancel      StatusQuery
/*PendingNewUnsent*/        {{kFirst,        Nop(),           kNotYet,    kNotYet}},
/*PendingNewSent*/          {{kSent,         Nop(),           Nop(),      kAskCell}},
/*PendingNewAcked*/         {{kSent,         Nop(),           Nop(),      kAskCell}},
/*New*/                     {{kSent,         Nop(),           Nop(),      kAskCell}},
/*PartiallyFilled*/         {{kSent,         Nop(),           Nop(),      kAskCell}},
/*Filled*/                  {{kFinal,        kFinal,          kFinal,     kFinal}},
/*PendingCancelSent*/       {{kSent,         Nop(),           kCxl,       kAskCell}},
/*PendingCancelUnsent*/     {{kLocalCancel,  Nop(),           kLocalCancel, kNotYet}},
/*PendingCancelUnacked*/    {{kSent,         Nop(),           kCxl,       kAskCell}},
/*PendingCancelFromUnknown*/{{kSent,         Nop(),           kCxl,       kAskCell}},
/*Canceled*/                {{kFinal,        kFinal,          kFinal,     kFinal}},
/*PendingReplace*/          {{kSent,         Nop(),           Nop(),      kAskCell}},
/*Replaced*/                {{kFinal,        kFinal,          kFinal,     kFinal}},
/*Rejected*/                {{kFinal,        kFinal,          kFinal,     kFinal}},
/*Expired*/                 {{kFinal,        kFinal,          kFinal,     kFinal}},
/*UnknownNew*/              {{kSent,         kResendNew,      Nop(),      kAskCell}},
/*UnknownNewAcked*/         {{kSent,         kResendNew,      Nop(),      kAskCell}},
/*UnknownCancel*/           {{kSent,         kCxlFromResend,  kCxlKeep,   kAskCell}},
/*UnknownCancelUnacked*/    {{kSent,         kCxlFromResend,  kCxlKeep,   kAskCell}},
/*UnknownReplace*/          {{kSent,         Nop(),           Nop(),      kAskCell}},
/*UnknownUnsent*/           {{Nop(),         kUnstated,       kNotYet,    kAskCell}},
}};
// clang-format on

class ResolutionDispatchTable : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ResolutionDispatchTable, InvariantsAndRule) {
  const auto [row, col] = GetParam();
  const Send requested = kRequests[static_cast<std::size_t>(col)];
  const DispatchCell want =
      kDispatchTable[static_cast<std::size_t>(row)][static_cast<std::size_t>(col)];
  const Order o = build(variant(row));
  for (const Strategy s : kStrategies) {
    for (const bool caps : {true, false}) {
      SCOPED_TRACE(testing::Message() << variant_name(row) << " x " << to_string(requested)
                                      << " strategy=" << to_string(s) << " status_query=" << caps);
      const BrokerRules rules = rules_for(s, caps);
      const std::optional<Wait> w = realistic_wait(variant(row), o, rules, kWaitDue);
      const Decision d = decide_dispatch(o, requested, w, rules, kNow);
      EXPECT_EQ(violation(Fn::kDispatch, o, w, d, rules, kNow, std::nullopt, nullptr), "")
          << describe(d);
      const Order& after = order_after(o, d);
      const std::optional<Wait> nw = wait_after(w, d);
      EXPECT_EQ(d.send, want.send) << describe(d);
      if (want.reason) EXPECT_EQ(d.reason, *want.reason) << describe(d);
      switch (want.wait) {
        case WaitExp::kAny:
          break;
        case WaitExp::kKeep:
          EXPECT_EQ(nw, w) << describe(d);
          break;
        case WaitExp::kDeadline:
          EXPECT_EQ(d.schedule, ScheduleOp::kSet) << describe(d);
          EXPECT_EQ(nw, (Wait{Step::kDeadline, kNow + kAckUs, carried(w)})) << describe(d);
          break;
      }
      switch (want.order) {
        case OrderExp::kAny:
          break;
        case OrderExp::kUnchanged:
          EXPECT_TRUE(unchanged(o, d)) << describe(d);
          break;
        case OrderExp::kSendAttempt:
          ASSERT_TRUE(d.order.has_value()) << describe(d);
          EXPECT_EQ(*d.order, must(o, EvSendAttempt{}, kNow)) << "exactly EvSendAttempt";
          break;
        case OrderExp::kCanceledLocally:
          EXPECT_EQ(after.state, OrderState::kCanceled) << describe(d);
          EXPECT_EQ(d.event, EventType::kCanceled) << describe(d);
          EXPECT_EQ(nw, std::nullopt) << describe(d);
          break;
      }
    }
  }
}

std::string dispatch_cell_name(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
  const auto [row, col] = info.param;
  return std::string(variant_name(row)) + "_x_" +
         std::string(to_string(kRequests[static_cast<std::size_t>(col)]));
}

INSTANTIATE_TEST_SUITE_P(Core, ResolutionDispatchTable,
                         ::testing::Combine(::testing::Range(0, kVariantCount),
                                            ::testing::Range(0, 4)),
                         dispatch_cell_name);

// ---- decide_due: every variant x every step x session x reader x budget x attempt ------------

std::optional<Send> attempt_send(const Order& o, Step step, const BrokerRules& r) {
  const bool ask = can_ask(r);
  if (!sent(o)) return ask ? std::optional<Send>(Send::kStatusQuery) : std::nullopt;
  if (step == Step::kQuery && ask) return Send::kStatusQuery;
  switch (o.state_before_pending) {
    case OrderState::kPendingNew:
      return Send::kResendNewOrder;
    case OrderState::kPendingCancel:
      return Send::kCancel;
    case OrderState::kPendingReplace:  // only ever asked
      return ask ? std::optional<Send>(Send::kStatusQuery) : std::nullopt;
    default:
      return std::nullopt;
  }
}

// The header's rule for one due cell.
void expect_due_rule(const Order& o, const Wait& w, const BrokerRules& rules, const DueContext& ctx,
                     const Decision& d) {
  const Order& after = order_after(o, d);
  const std::optional<Wait> nw = wait_after(w, d);
  const std::uint32_t max = rules.policy.backoff.max_attempts;
  if (settled(o)) {
    EXPECT_EQ(d.schedule, ScheduleOp::kClear);
    EXPECT_EQ(d.reason, Reason::kNoLongerWaiting);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_TRUE(unchanged(o, d));
    return;
  }
  if (w.step == Step::kAttention) {
    EXPECT_EQ(nw, w) << "attention entries are kept";
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_TRUE(unchanged(o, d));
    return;
  }
  if (w.step == Step::kDeadline) {
    EXPECT_EQ(d.send, Send::kNothing);
    if (is_unknown(o)) {
      ASSERT_TRUE(nw.has_value());
      EXPECT_TRUE(nw->step == Step::kQuery || nw->step == Step::kResend) << to_string(nw->step);
      if (const auto step = resolution_step(o, rules)) EXPECT_EQ(nw->step, *step);
      EXPECT_EQ(nw->due_us, kNow);
      EXPECT_EQ(nw->attempt, w.attempt);
      EXPECT_TRUE(unchanged(o, d));
      return;
    }
    if (!sent(o)) {
      EXPECT_EQ(d.reason, Reason::kNotSentYet);
      EXPECT_EQ(nw, (Wait{Step::kDeadline, kNow + kAckUs, w.attempt}));
      EXPECT_TRUE(unchanged(o, d));
      return;
    }
    if (ctx.session_up && ctx.inbound_read_up_to_us < w.deadline()) {
      EXPECT_EQ(d.reason, Reason::kReaderBehind);
      EXPECT_TRUE(d.probe);
      EXPECT_TRUE(unchanged(o, d)) << "the broker is not blamed";
      EXPECT_EQ(d.schedule, ScheduleOp::kSet);
      EXPECT_EQ(d.wait.step, Step::kDeadline);
      EXPECT_EQ(d.wait.attempt, w.attempt);
      EXPECT_EQ(d.wait.deadline(), w.deadline()) << "keeping the deadline";
      EXPECT_GE(d.wait.due_us, kNow + 100'000);
      EXPECT_LE(d.wait.due_us, kNow + kAckUs);
      return;
    }
    EXPECT_EQ(d.reason, Reason::kSilence);
    EXPECT_EQ(d.event, EventType::kUnknown);
    EXPECT_EQ(after.state, OrderState::kUnknownAtBroker);
    EXPECT_EQ(after.state_before_pending, o.state);
    EXPECT_EQ(after.send_attempts, o.send_attempts);
    ASSERT_TRUE(nw.has_value());
    if (const auto step = resolution_step(after, rules)) EXPECT_EQ(nw->step, *step);
    EXPECT_EQ(nw->due_us, kNow);
    EXPECT_EQ(nw->attempt, w.attempt);
    return;
  }
  // kQuery / kResend
  if (!is_unknown(o)) {
    EXPECT_EQ(d.reason, Reason::kRearmDeadline);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_TRUE(unchanged(o, d));
    ASSERT_TRUE(nw.has_value());
    EXPECT_EQ(nw->step, Step::kDeadline);
    EXPECT_EQ(nw->attempt, w.attempt);
    return;
  }
  if (w.attempt >= max) {
    EXPECT_EQ(d.reason, Reason::kAttemptsExhausted);
    EXPECT_EQ(d.event, EventType::kAttentionRequired);
    EXPECT_TRUE(d.alert);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_TRUE(unchanged(o, d)) << "nothing is guessed";
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);
    EXPECT_EQ(d.wait.step, Step::kAttention);
    EXPECT_EQ(d.wait.due_us, kNeverDue);
    return;
  }
  if (!ctx.session_up) {
    EXPECT_EQ(d.reason, Reason::kSessionDown);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_FALSE(d.uses_budget);
    EXPECT_TRUE(unchanged(o, d));
    EXPECT_EQ(nw, (Wait{w.step, kNow + kBaseUs, w.attempt})) << "not counted";
    return;
  }
  if (!ctx.budget_available) {
    EXPECT_EQ(d.reason, Reason::kBudget);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_FALSE(d.uses_budget);
    EXPECT_TRUE(unchanged(o, d));
    EXPECT_EQ(nw, (Wait{w.step, ctx.budget_retry_us, w.attempt}));
    return;
  }
  const auto send = attempt_send(o, w.step, rules);
  if (!send) return;  // nothing can be sent (a replace or a never-sent order, no status): open
  EXPECT_EQ(d.reason, Reason::kAttempt);
  EXPECT_TRUE(d.uses_budget);
  EXPECT_EQ(d.send, *send);
  ASSERT_TRUE(nw.has_value());
  EXPECT_TRUE(nw->step == Step::kQuery || nw->step == Step::kResend) << to_string(nw->step);
  EXPECT_EQ(nw->attempt, w.attempt + 1);
  const auto delay_us =
      static_cast<TimestampUs>(retry_delay_ms(rules.policy.backoff, w.attempt + 1, ctx.draw)) *
      1000;
  EXPECT_EQ(nw->due_us, kNow + delay_us) << "now + retry_delay(attempt + 1)";
}

constexpr std::array<Step, kStepCount> kSteps = {Step::kDeadline, Step::kQuery, Step::kResend,
                                                 Step::kAttention};

class ResolutionDueTable : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ResolutionDueTable, InvariantsAndRule) {
  const auto [row, step_index] = GetParam();
  const Step step = kSteps[static_cast<std::size_t>(step_index)];
  const Order o = build(variant(row));
  for (const Strategy s : kStrategies) {
    for (const bool caps : {true, false}) {
      const BrokerRules rules = rules_for(s, caps);
      for (const std::uint32_t attempt : {0U, kCarried, kMaxAttempts - 1, kMaxAttempts}) {
        for (const bool session_up : {true, false}) {
          for (const bool reader_caught_up : {true, false}) {
            for (const int put_off : {0, 1}) {
              for (const bool budget : {true, false}) {
                if (put_off == 1 && step != Step::kDeadline) continue;
                SCOPED_TRACE(testing::Message()
                             << variant_name(row) << " x " << to_string(step)
                             << " strategy=" << to_string(s) << " status_query=" << caps
                             << " attempt=" << attempt << " session_up=" << session_up
                             << " reader_caught_up=" << reader_caught_up << " budget=" << budget
                             << " put_off=" << put_off);
                Wait w{step, step == Step::kAttention ? kNeverDue : kFellDue, attempt};
                // A deadline already put off once for the reader: due_us is the next look.
                if (put_off == 1) w.deadline_us = kFellDue - 2'000'000;
                DueContext ctx;
                ctx.session_up = session_up;
                ctx.inbound_read_up_to_us = reader_caught_up ? kNow : kFellDue - 5'000'000;
                ctx.budget_available = budget;
                ctx.budget_retry_us = kNow + 777'000;
                ctx.draw = 0x9E3779B97F4A7C15ULL;
                const Decision d = decide_due(o, w, rules, ctx, kNow);
                EXPECT_EQ(violation(Fn::kDue, o, w, d, rules, kNow, std::nullopt, &ctx), "")
                    << describe(d);
                expect_due_rule(o, w, rules, ctx, d);
                if (HasFailure()) {
                  ADD_FAILURE() << "cell decision: " << describe(d);
                  return;
                }
              }
            }
          }
        }
      }
    }
  }
}

std::string due_cell_name(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
  const auto [row, step] = info.param;
  return std::string(variant_name(row)) + "_x_" +
         std::string(to_string(kSteps[static_cast<std::size_t>(step)]));
}

INSTANTIATE_TEST_SUITE_P(Core, ResolutionDueTable,
                         ::testing::Combine(::testing::Range(0, kVariantCount),
                                            ::testing::Range(0, kStepCount)),
                         due_cell_name);

// ---- decide_restart: every variant x (each step / no entry) ----------------------------------

void expect_restart_rule(const Order& o, const std::optional<Wait>& w, const BrokerRules& rules,
                         const Decision& d) {
  const Order& after = order_after(o, d);
  const std::optional<Wait> nw = wait_after(w, d);
  if (is_unknown(o)) {
    EXPECT_TRUE(unchanged(o, d)) << "nothing is guessed";
    EXPECT_EQ(d.send, Send::kNothing);
    if (w && w->step != Step::kAttention) {
      EXPECT_EQ(d.reason, Reason::kScheduleContinues);
      EXPECT_EQ(nw, w);
    } else {
      EXPECT_EQ(d.reason, Reason::kAttention);
      ASSERT_TRUE(nw.has_value());
      EXPECT_EQ(nw->step, Step::kAttention);
      EXPECT_EQ(nw->due_us, kNeverDue);
    }
    return;
  }
  if (!sent(o) && (o.state == OrderState::kPendingNew || o.state == OrderState::kPendingCancel)) {
    EXPECT_EQ(d.send, Send::kNewOrder) << "queued again";
    EXPECT_EQ(d.reason, Reason::kRequeue);
    EXPECT_TRUE(unchanged(o, d));
    return;
  }
  if (sent(o) && is_pending(o.state)) {
    EXPECT_EQ(d.reason, Reason::kInFlightAtRestart);
    EXPECT_EQ(d.event, EventType::kUnknown);
    EXPECT_EQ(after.state, OrderState::kUnknownAtBroker);
    EXPECT_EQ(after.state_before_pending, o.state);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);
    EXPECT_EQ(d.wait.due_us, kNow);
    EXPECT_EQ(d.wait.attempt, carried(w));
    if (o.state == OrderState::kPendingCancel && can_ask(rules)) {
      EXPECT_EQ(d.wait.step, Step::kQuery) << "a cancel in flight is asked about first";
    } else if (const auto step = resolution_step(after, rules)) {
      EXPECT_EQ(d.wait.step, *step);
    }
    return;
  }
  if (is_live(o.state)) {
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_TRUE(unchanged(o, d));
  }
}

class ResolutionRestartTable : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ResolutionRestartTable, InvariantsAndRule) {
  const auto [row, entry] = GetParam();  // entry kStepCount: no entry
  const Order o = build(variant(row));
  for (const Strategy s : kStrategies) {
    for (const bool caps : {true, false}) {
      SCOPED_TRACE(testing::Message() << variant_name(row) << " entry=" << entry
                                      << " strategy=" << to_string(s) << " status_query=" << caps);
      const BrokerRules rules = rules_for(s, caps);
      std::optional<Wait> w;
      if (entry < kStepCount) {
        const Step step = kSteps[static_cast<std::size_t>(entry)];
        w = Wait{step, step == Step::kAttention ? kNeverDue : kWaitDue, kCarried};
      }
      const Decision d = decide_restart(o, w, rules, kNow);
      if (is_terminal(o.state)) {
        // Outside the contract (restart is called for non-terminal orders); still nothing sent.
        EXPECT_EQ(d.send, Send::kNothing) << describe(d);
        if (d.order) check_invariants(*d.order);
        continue;
      }
      EXPECT_EQ(violation(Fn::kRestart, o, w, d, rules, kNow, std::nullopt, nullptr), "")
          << describe(d) << " wait in " << resolution_oracle::wait_text(w);
      expect_restart_rule(o, w, rules, d);
      if (HasFailure()) {
        ADD_FAILURE() << "cell decision: " << describe(d);
        return;
      }
    }
  }
}

std::string restart_cell_name(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
  const auto [row, entry] = info.param;
  return std::string(variant_name(row)) + "_x_" +
         (entry < kStepCount ? std::string(to_string(kSteps[static_cast<std::size_t>(entry)]))
                             : std::string("no_entry"));
}

INSTANTIATE_TEST_SUITE_P(Core, ResolutionRestartTable,
                         ::testing::Combine(::testing::Range(0, kVariantCount),
                                            ::testing::Range(0, kStepCount + 1)),
                         restart_cell_name);

// ---- Named rows: the cases the header spells out ---------------------------------------------

const BrokerRules kAskRules = rules_for(Strategy::kStatusQuery, true);
const BrokerRules kAskNoCaps = rules_for(Strategy::kStatusQuery, false);
const BrokerRules kResendRules = rules_for(Strategy::kResend, true);

TEST(ResolutionRows, DuplicateClOrdIdOnUnknownQueriesNowWithTheAttemptCarried) {
  const Order o = build(V::kUnknownNew);
  for (const BrokerRules& rules : {kAskRules, kResendRules}) {
    for (const Step step : {Step::kQuery, Step::kResend}) {
      const Wait w{step, kWaitDue, 3};
      const Decision d =
          triage_report(o, ReportKind::kDuplicateClOrdId, EvReject{"duplicate"}, w, rules, kNow);
      EXPECT_EQ(d.reason, Reason::kDuplicateClOrdId) << describe(d);
      EXPECT_EQ(d.event, EventType::kResolution) << describe(d);
      EXPECT_EQ(d.schedule, ScheduleOp::kSet) << describe(d);
      EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow, 3})) << "attempt carried, NOT reset to 1";
      EXPECT_EQ(d.send, Send::kNothing);
      EXPECT_EQ(order_after(o, d).state, OrderState::kUnknownAtBroker) << describe(d);
      EXPECT_NE(d.event, EventType::kRejected) << "never a reject";
    }
  }
}

TEST(ResolutionRows, DuplicateClOrdIdWithoutStatusCapabilityNeedsAnOperator) {
  const Order o = build(V::kUnknownNew);
  const Decision d = triage_report(o, ReportKind::kDuplicateClOrdId, EvReject{"duplicate"},
                                   Wait{Step::kResend, kWaitDue, 3}, kAskNoCaps, kNow);
  EXPECT_FALSE(d.order.has_value()) << describe(d);
  EXPECT_EQ(d.event, EventType::kAttentionRequired);
  EXPECT_TRUE(d.alert);
  EXPECT_EQ(d.schedule, ScheduleOp::kSet) << describe(d);
  EXPECT_EQ(d.wait, (Wait{Step::kAttention, kNeverDue, 3}));
}

TEST(ResolutionRows, UnhandledReportsAreAnomaliesWithAnAlertAndInformationalOnesIgnored) {
  for (const V v : {V::kPendingNewSent, V::kNew, V::kPartiallyFilled, V::kUnknownNew, V::kFilled}) {
    const Order o = build(v);
    const Decision u =
        triage_report(o, ReportKind::kUnhandled, EvStatus{}, std::nullopt, kAskRules, kNow);
    EXPECT_EQ(u.event, EventType::kAnomaly) << describe(u);
    EXPECT_EQ(u.anomaly, AnomalyReason::kUnhandledReport);
    EXPECT_TRUE(u.alert);
    EXPECT_FALSE(u.order.has_value());
    EXPECT_EQ(u.schedule, ScheduleOp::kKeep);
    EXPECT_EQ(u.send, Send::kNothing);
    const Decision i =
        triage_report(o, ReportKind::kInformational, EvStatus{}, std::nullopt, kAskRules, kNow);
    EXPECT_EQ(i.event, EventType::kReportIgnored) << describe(i);
    EXPECT_EQ(i.reason, Reason::kInformational);
    EXPECT_FALSE(i.order.has_value());
    EXPECT_EQ(i.schedule, ScheduleOp::kKeep);
  }
}

TEST(ResolutionRows, DuplicateClOrdIdOnASentPendingNewFirstGoesUnknown) {
  const Order o = build(V::kPendingNewSent);
  const Decision d = triage_report(o, ReportKind::kDuplicateClOrdId, EvReject{"duplicate"},
                                   Wait{Step::kDeadline, kWaitDue, 1}, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kDuplicateClOrdId) << describe(d);
  EXPECT_EQ(d.event, EventType::kUnknown);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->state, OrderState::kUnknownAtBroker);
  EXPECT_EQ(d.order->state_before_pending, OrderState::kPendingNew);
  EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow, 1}));
  EXPECT_EQ(d.schedule, ScheduleOp::kSet);
}

TEST(ResolutionRows, DuplicateClOrdIdOfAnAcknowledgedOrLiveOrderIsIgnored) {
  for (const V v : {V::kPendingNewAcked, V::kNew, V::kPartiallyFilled, V::kPendingCancelSent,
                    V::kUnknownCancel, V::kFilled}) {
    const Order o = build(v);
    const std::optional<Wait> w = realistic_wait(v, o, kAskRules, kWaitDue);
    const Decision d =
        triage_report(o, ReportKind::kDuplicateClOrdId, EvReject{"duplicate"}, w, kAskRules, kNow);
    EXPECT_EQ(d.event, EventType::kReportIgnored)
        << kVariants[static_cast<int>(v)].name << " " << describe(d);
    EXPECT_TRUE(unchanged(o, d));
    EXPECT_EQ(wait_after(w, d), w);
  }
}

TEST(ResolutionRows, StatusPendingNewOnUnknownIsADeadlineWithTheAttemptCarried) {
  const Order o = build(V::kUnknownNew);
  const Decision d =
      triage_report(o, ReportKind::kStatus, EvStatus{OrderState::kPendingNew, "", q("0"), px("0")},
                    Wait{Step::kQuery, kWaitDue, 3}, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kStatusPending) << describe(d);
  EXPECT_EQ(d.event, EventType::kStatus);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->state, OrderState::kPendingNew);
  EXPECT_TRUE(d.order->acknowledged);
  EXPECT_EQ(d.schedule, ScheduleOp::kSet);
  EXPECT_EQ(d.wait, (Wait{Step::kDeadline, kNow + kAckUs, 3})) << describe(d);
}

TEST(ResolutionRows, StatusAdoptedSettlesAndClears) {
  const Order o = build(V::kUnknownNew);
  ReportFacts facts;
  facts.cum_qty = q("25");
  const Decision d = triage_report(
      o, ReportKind::kStatus, EvStatus{OrderState::kPartiallyFilled, "B-9", q("25"), px("50.5")},
      Wait{Step::kQuery, kWaitDue, 3}, kAskRules, kNow, facts);
  EXPECT_EQ(d.reason, Reason::kStatusAdopted) << describe(d);
  EXPECT_EQ(d.event, EventType::kStatus);
  EXPECT_EQ(d.schedule, ScheduleOp::kClear);
  ASSERT_TRUE(d.order.has_value());
  // Live and acknowledged; the broker's 25 is not booked: the order is flagged instead.
  EXPECT_EQ(d.order->state, OrderState::kNew);
  EXPECT_EQ(d.order->cum_qty, q("0"));
  EXPECT_EQ(d.order->broker_cum_qty, q("25"));
  EXPECT_TRUE(fills_missing(*d.order));
  EXPECT_EQ(d.also, EventType::kFillsMissing);
  EXPECT_TRUE(d.alert);
  EXPECT_EQ(d.send, Send::kNothing) << "a status answer itself never asks again";
}

TEST(ResolutionRows, FillsMissingAreFlaggedAskedForAndNeverBooked) {
  Order o = build(V::kNew);
  ReportFacts facts;
  facts.cum_qty = q("30");  // the broker's total after this 10: 20 we never saw
  const Decision d = triage_report(o, ReportKind::kFill, EvFill{"E-3", "B-1", q("10"), px("101")},
                                   std::nullopt, kAskRules, kNow, facts);
  EXPECT_EQ(d.event, EventType::kFill) << describe(d);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->cum_qty, q("10"));
  EXPECT_EQ(d.order->broker_cum_qty, q("30"));
  EXPECT_EQ(d.also, EventType::kFillsMissing);
  EXPECT_NE(d.also_detail.find("20 missing"), std::string::npos) << d.also_detail;
  EXPECT_TRUE(d.alert);
  EXPECT_EQ(d.send, Send::kStatusQuery);
  // Without status requests: flagged, nothing sent.
  const Decision n = triage_report(o, ReportKind::kFill, EvFill{"E-3", "B-1", q("10"), px("101")},
                                   std::nullopt, kAskNoCaps, kNow, facts);
  EXPECT_EQ(n.also, EventType::kFillsMissing);
  EXPECT_EQ(n.send, Send::kNothing);
  // The missing fills arrive (out of order): the flag clears, no second alert.
  const Order flagged = *d.order;
  facts.cum_qty = q("20");
  const Decision late =
      triage_report(flagged, ReportKind::kFill, EvFill{"E-2", "B-1", q("20"), px("100")},
                    std::nullopt, kAskRules, kNow, facts);
  ASSERT_TRUE(late.order.has_value());
  EXPECT_EQ(late.order->cum_qty, q("30"));
  EXPECT_FALSE(fills_missing(*late.order));
  EXPECT_EQ(late.also, EventType::kNone);
  EXPECT_FALSE(late.alert);
  // Behind (out of order, after the fact): nothing moves back, nothing is flagged.
  facts.cum_qty = q("10");
  const Decision behind = triage_report(*late.order, ReportKind::kAck, EvAck{"B-1"}, std::nullopt,
                                        kAskRules, kNow, facts);
  EXPECT_EQ(behind.event, EventType::kReportIgnored);
  EXPECT_FALSE(behind.order.has_value());
}

TEST(ResolutionRows, BustsAndCorrectionsOfUnknownFillsAreAnomalies) {
  Order o = build(V::kNew);
  for (ExecRef ref : {ExecRef::kUnknown, ExecRef::kAlreadyBusted}) {
    ReportFacts facts;
    facts.exec_ref = ref;
    const Decision d = triage_report(o, ReportKind::kBust, EvBust{"E-9", q("10"), px("1")},
                                     std::nullopt, kAskRules, kNow, facts);
    EXPECT_EQ(d.event, EventType::kAnomaly);
    EXPECT_EQ(d.anomaly, AnomalyReason::kUnknownExecRef);
    EXPECT_TRUE(d.alert);
    EXPECT_FALSE(d.order.has_value());
  }
}

TEST(ResolutionRows, CancelRejectedAsUnknownOrderAsksInsteadOfGoingLive) {
  const Order o = build(V::kPendingCancelSent);
  const Decision d =
      triage_report(o, ReportKind::kCancelRejectedUnknownOrder, EvCancelRejected{"unknown"},
                    Wait{Step::kDeadline, kWaitDue, 0}, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kCancelUnknownAtBroker) << describe(d);
  EXPECT_EQ(d.event, EventType::kUnknown);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->state, OrderState::kUnknownAtBroker);
  EXPECT_EQ(d.order->state_before_pending, OrderState::kPendingCancel);
  EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow, 0}));
}

TEST(ResolutionRows, StatusRefusedForALiveOrderMarksItUnverified) {
  const Order o = build(V::kPartiallyFilled);
  const Decision d =
      triage_report(o, ReportKind::kStatusUnsupported, EvStatus{}, std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.event, EventType::kUnverified) << describe(d);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_TRUE(d.order->unverified);
  // A later report stating the order's totals clears it.
  ReportFacts facts;
  facts.cum_qty = d.order->cum_qty;
  const Decision later =
      triage_report(*d.order, ReportKind::kAck, EvAck{"B-1"}, std::nullopt, kAskRules, kNow, facts);
  ASSERT_TRUE(later.order.has_value());
  EXPECT_FALSE(later.order->unverified);
}

TEST(ResolutionRows, StatusUnknownOnSentUnacknowledgedPendingNewResendsNow) {
  const Order o = build(V::kPendingNewSent);
  for (const BrokerRules& rules : {kAskRules, kResendRules, kAskNoCaps}) {
    const Decision d = triage_report(o, ReportKind::kStatusUnknown, EvStatus{},
                                     Wait{Step::kDeadline, kWaitDue, 0}, rules, kNow);
    ASSERT_TRUE(d.order.has_value()) << describe(d);
    EXPECT_EQ(d.order->state, OrderState::kUnknownAtBroker);
    EXPECT_EQ(d.order->state_before_pending, OrderState::kPendingNew);
    EXPECT_EQ(d.reason, Reason::kNotAtBrokerResend);
    EXPECT_EQ(d.event, EventType::kUnknown);
    EXPECT_EQ(d.wait, (Wait{Step::kResend, kNow, 0}));
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);
    EXPECT_EQ(d.send, Send::kNothing) << "the resend is the scheduler's next attempt";
  }
  // Already unknown: the same entry, attempt carried, event kResolution.
  const Order u = build(V::kUnknownNew);
  const Decision d = triage_report(u, ReportKind::kStatusUnknown, EvStatus{},
                                   Wait{Step::kQuery, kWaitDue, 3}, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kNotAtBrokerResend) << describe(d);
  EXPECT_EQ(d.event, EventType::kResolution);
  EXPECT_EQ(d.wait, (Wait{Step::kResend, kNow, 3}));
}

TEST(ResolutionRows, StatusUnknownRejectsWhatTheBrokerNeverHad) {
  // Never sent, unknown (stale): rejected.
  const Order stale = build(V::kUnknownUnsent);
  Decision d = triage_report(stale, ReportKind::kStatusUnknown, EvStatus{},
                             Wait{Step::kQuery, kWaitDue, 1}, kAskRules, kNow);
  ASSERT_TRUE(d.order.has_value()) << describe(d);
  EXPECT_EQ(d.order->state, OrderState::kRejected);
  EXPECT_EQ(d.reason, Reason::kNotAtBrokerReject);
  EXPECT_EQ(d.event, EventType::kRejected);
  EXPECT_EQ(d.schedule, ScheduleOp::kClear);
  // An unknown cancel of an order the broker never acknowledged: nothing to cancel, rejected.
  const Order cxl = build(V::kUnknownCancelUnacked);
  d = triage_report(cxl, ReportKind::kStatusUnknown, EvStatus{}, Wait{Step::kQuery, kWaitDue, 1},
                    kAskRules, kNow);
  ASSERT_TRUE(d.order.has_value()) << describe(d);
  EXPECT_EQ(d.order->state, OrderState::kRejected);
  EXPECT_EQ(d.event, EventType::kRejected);
  EXPECT_EQ(d.schedule, ScheduleOp::kClear);
}

TEST(ResolutionRows, StatusUnknownOfAnAcknowledgedOrderIsBrokerLostOrder) {
  for (const V v : {V::kNew, V::kPartiallyFilled, V::kUnknownCancel, V::kPendingNewAcked}) {
    const Order o = build(v);
    const std::optional<Wait> w = realistic_wait(v, o, kAskRules, kWaitDue);
    const Decision d = triage_report(o, ReportKind::kStatusUnknown, EvStatus{}, w, kAskRules, kNow);
    EXPECT_EQ(d.anomaly, AnomalyReason::kBrokerLostOrder) << describe(d);
    EXPECT_EQ(d.event, EventType::kAnomaly);
    EXPECT_TRUE(d.alert);
    EXPECT_TRUE(unchanged(o, d));
  }
}

TEST(ResolutionRows, StatusUnsupportedTurnsAQueryIntoAResend) {
  for (const V v : {V::kUnknownNew, V::kUnknownCancel}) {
    const Order o = build(v);
    const Decision d = triage_report(o, ReportKind::kStatusUnsupported, EvStatus{},
                                     Wait{Step::kQuery, kWaitDue, 3}, kAskRules, kNow);
    EXPECT_EQ(d.event, EventType::kResolution) << describe(d);
    EXPECT_EQ(d.reason, Reason::kStatusUnsupported);
    EXPECT_EQ(wait_after(Wait{Step::kQuery, kWaitDue, 3}, d), (Wait{Step::kResend, kWaitDue, 3}))
        << "same due time and attempt";
    EXPECT_TRUE(unchanged(o, d));
  }
  // A pending replace can only be asked: the entry stays.
  const Order r = build(V::kUnknownReplace);
  const Decision d = triage_report(r, ReportKind::kStatusUnsupported, EvStatus{},
                                   Wait{Step::kQuery, kWaitDue, 3}, kAskRules, kNow);
  EXPECT_EQ(wait_after(Wait{Step::kQuery, kWaitDue, 3}, d), (Wait{Step::kQuery, kWaitDue, 3}))
      << describe(d);
  // Terminal: ignored.
  const Order f = build(V::kFilled);
  EXPECT_EQ(
      triage_report(f, ReportKind::kStatusUnsupported, EvStatus{}, std::nullopt, kAskRules, kNow)
          .event,
      EventType::kReportIgnored);
}

TEST(ResolutionRows, CancelRejectOnACanceledOrderIsIgnoredNeverCancelRejected) {
  const Order o = build(V::kCanceled);
  const Decision d = triage_report(o, ReportKind::kCancelRejected, EvCancelRejected{"too late"},
                                   std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.event, EventType::kReportIgnored) << describe(d);
  EXPECT_NE(d.event, EventType::kCancelRejected);
  EXPECT_EQ(d.reason, Reason::kLateReport);
  EXPECT_TRUE(unchanged(o, d));
  EXPECT_EQ(d.send, Send::kNothing);
}

TEST(ResolutionRows, CancelRejectedReturnsToLiveAndClears) {
  const Order o = build(V::kPendingCancelSent);
  const Decision d = triage_report(o, ReportKind::kCancelRejected, EvCancelRejected{"no"},
                                   Wait{Step::kDeadline, kWaitDue, 0}, kAskRules, kNow);
  EXPECT_EQ(d.event, EventType::kCancelRejected) << describe(d);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->state, OrderState::kNew);
  EXPECT_EQ(d.schedule, ScheduleOp::kClear);
}

TEST(ResolutionRows, FillDuringPendingCancelKeepsTheDeadline) {
  const Order o = build(V::kPendingCancelSent);
  const Wait w{Step::kDeadline, kWaitDue, 0};
  const Decision d = triage_report(o, ReportKind::kFill, EvFill{"E-9", "B-1", q("10"), px("1")}, w,
                                   kAskRules, kNow);
  EXPECT_EQ(d.event, EventType::kFill) << describe(d);
  EXPECT_EQ(wait_after(w, d), w);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->state, OrderState::kPendingCancel);
}

TEST(ResolutionRows, FillAfterTerminalIsAppliedAndFlagged) {
  const Order o = build(V::kCanceled);
  const Decision d = triage_report(o, ReportKind::kFill, EvFill{"E-9", "B-1", q("5"), px("1")},
                                   std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.event, EventType::kFill) << describe(d);
  EXPECT_EQ(d.anomaly, AnomalyReason::kFillAfterTerminal);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->cum_qty, q("5"));
  EXPECT_EQ(d.order->state, OrderState::kCanceled);
}

TEST(ResolutionRows, RefusedReportIsAnAnomalyWithTheRefusalsReason) {
  const Order o = build(V::kFilled);
  const Decision d = triage_report(o, ReportKind::kFill, EvFill{"E-9", "B-1", q("1"), px("1")},
                                   std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.event, EventType::kAnomaly) << describe(d);
  EXPECT_EQ(d.anomaly, AnomalyReason::kOverFill);
  EXPECT_EQ(d.reason, Reason::kRefused);
  EXPECT_TRUE(unchanged(o, d));
}

TEST(ResolutionRows, StatusShowsTheLostCancelLiveSoTheCancelGoesAgain) {
  const Order o = build(V::kUnknownCancel);
  const Decision d = triage_report(o, ReportKind::kStatus,
                                   EvStatus{OrderState::kPartiallyFilled, "B-1", q("20"), px("3")},
                                   Wait{Step::kQuery, kWaitDue, 2}, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kStatusCancelLost) << describe(d);
  EXPECT_EQ(d.event, EventType::kStatus);
  EXPECT_EQ(d.send, Send::kCancel);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->state, OrderState::kPendingCancel);
  EXPECT_EQ(d.order->cancel_id, "C-1");
  EXPECT_EQ(d.order->state_before_pending, live_state(o));
  EXPECT_EQ(d.order->cum_qty, o.cum_qty) << "the broker's total is never booked";
  EXPECT_EQ(d.wait, (Wait{Step::kDeadline, kNow + kAckUs, 3}));
}

TEST(ResolutionRows, RestartOfASentPendingCancelAsksWhenTheBrokerCanBeAsked) {
  const Order o = build(V::kPendingCancelSent);
  for (const BrokerRules& rules : {kAskRules, kResendRules}) {
    const Decision d = decide_restart(o, Wait{Step::kDeadline, kWaitDue, 1}, rules, kNow);
    ASSERT_TRUE(d.order.has_value()) << describe(d);
    EXPECT_EQ(d.order->state, OrderState::kUnknownAtBroker);
    EXPECT_EQ(d.order->state_before_pending, OrderState::kPendingCancel);
    EXPECT_EQ(d.event, EventType::kUnknown);
    EXPECT_EQ(d.reason, Reason::kInFlightAtRestart);
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);
    EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow, 1})) << describe(d);
    EXPECT_EQ(d.send, Send::kNothing);
  }
  // Without the capability the cancel is what goes again.
  const Decision d = decide_restart(o, Wait{Step::kDeadline, kWaitDue, 1}, kAskNoCaps, kNow);
  EXPECT_EQ(d.wait, (Wait{Step::kResend, kNow, 1})) << describe(d);
}

TEST(ResolutionRows, RestartRules) {
  // A sent new order in flight: unknown, the strategy's step now.
  const Order sent_new = build(V::kPendingNewSent);
  Decision d = decide_restart(sent_new, Wait{Step::kDeadline, kWaitDue, 0}, kResendRules, kNow);
  EXPECT_EQ(d.reason, Reason::kInFlightAtRestart) << describe(d);
  EXPECT_EQ(d.wait, (Wait{Step::kResend, kNow, 0}));
  d = decide_restart(sent_new, Wait{Step::kDeadline, kWaitDue, 0}, kAskRules, kNow);
  EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow, 0})) << describe(d);
  // Never sent: queued again.
  d = decide_restart(build(V::kPendingNewUnsent), std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.send, Send::kNewOrder) << describe(d);
  EXPECT_EQ(d.reason, Reason::kRequeue);
  EXPECT_FALSE(d.order.has_value() && d.order->send_attempts != 0) << "not marked sent here";
  // Unknown with its entry: the schedule continues; without: attention.
  const Order u = build(V::kUnknownNew);
  d = decide_restart(u, Wait{Step::kQuery, kWaitDue, 2}, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kScheduleContinues) << describe(d);
  EXPECT_EQ(wait_after(Wait{Step::kQuery, kWaitDue, 2}, d), (Wait{Step::kQuery, kWaitDue, 2}));
  d = decide_restart(u, std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kAttention) << describe(d);
  EXPECT_EQ(wait_after(std::nullopt, d).value_or(Wait{}).step, Step::kAttention);
  EXPECT_TRUE(unchanged(u, d));
  // Live: nothing.
  d = decide_restart(build(V::kNew), std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.send, Send::kNothing) << describe(d);
  EXPECT_FALSE(d.order.has_value());
}

TEST(ResolutionRows, DueAtMaxAttemptsAsksForAttention) {
  const Order o = build(V::kUnknownNew);
  for (const Step step : {Step::kQuery, Step::kResend}) {
    const Decision d = decide_due(o, Wait{step, kFellDue, kMaxAttempts}, kAskRules,
                                  DueContext{true, kNow, true, 0, 1}, kNow);
    EXPECT_EQ(d.reason, Reason::kAttemptsExhausted) << describe(d);
    EXPECT_EQ(d.event, EventType::kAttentionRequired);
    EXPECT_TRUE(d.alert);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);
    EXPECT_EQ(d.wait.step, Step::kAttention);
    EXPECT_EQ(d.wait.due_us, kNeverDue);
    EXPECT_TRUE(unchanged(o, d));
  }
}

TEST(ResolutionRows, DueAttemptGoesOutWithTheBackoff) {
  BrokerRules rules = kAskRules;
  rules.policy.backoff.jitter_pct = 0;
  const DueContext ctx{true, kNow, true, 0, 12345};
  struct Row {
    V v;
    Step step;
    BrokerRules rules;
    Send send;
  };
  BrokerRules no_caps = rules;
  no_caps.caps.status_query = false;
  const Row rows[] = {
      {V::kUnknownNew, Step::kQuery, rules, Send::kStatusQuery},
      {V::kUnknownNew, Step::kResend, rules, Send::kResendNewOrder},
      {V::kUnknownNew, Step::kQuery, no_caps, Send::kResendNewOrder},
      {V::kUnknownCancel, Step::kResend, rules, Send::kCancel},
      {V::kUnknownReplace, Step::kResend, rules, Send::kStatusQuery},  // only ever asked
      {V::kUnknownUnsent, Step::kResend, rules, Send::kStatusQuery},   // never sent: asked
  };
  for (const Row& row : rows) {
    const Order o = build(row.v);
    const Decision d = decide_due(o, Wait{row.step, kFellDue, 2}, row.rules, ctx, kNow);
    SCOPED_TRACE(describe(d));
    EXPECT_EQ(d.reason, Reason::kAttempt);
    EXPECT_EQ(d.send, row.send);
    EXPECT_TRUE(d.uses_budget);
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);
    EXPECT_EQ(d.wait.attempt, 3U);
    EXPECT_EQ(d.wait.due_us, kNow + 240'000'000) << "attempt 3: 4 minutes";
  }
}

TEST(ResolutionRows, ReaderBehindProbesAndDoesNotBlameTheBroker) {
  const Order o = build(V::kPendingNewSent);
  const Wait w{Step::kDeadline, kFellDue, 0};
  // 5 s behind: the deadline again within [100 ms, ack_timeout].
  DueContext ctx{true, kFellDue - 5'000'000, true, 0, 0};
  Decision d = decide_due(o, w, kAskRules, ctx, kNow);
  EXPECT_EQ(d.reason, Reason::kReaderBehind) << describe(d);
  EXPECT_TRUE(d.probe);
  EXPECT_TRUE(unchanged(o, d));
  EXPECT_EQ(d.event, EventType::kNone);
  EXPECT_EQ(d.schedule, ScheduleOp::kSet);
  EXPECT_EQ(d.wait.step, Step::kDeadline);
  EXPECT_GE(d.wait.due_us, kNow + 100'000);
  EXPECT_LE(d.wait.due_us, kNow + kAckUs);
  EXPECT_EQ(d.wait.deadline(), kFellDue) << "the deadline itself is kept";
  // Barely behind: at least 100 ms. Hours behind: at most ack_timeout.
  ctx.inbound_read_up_to_us = kFellDue - 1;
  d = decide_due(o, w, kAskRules, ctx, kNow);
  EXPECT_EQ(d.reason, Reason::kReaderBehind) << describe(d);
  EXPECT_GE(d.wait.due_us, kNow + 100'000);
  ctx.inbound_read_up_to_us = kFellDue - 3'600'000'000;
  d = decide_due(o, w, kAskRules, ctx, kNow);
  EXPECT_EQ(d.reason, Reason::kReaderBehind) << describe(d);
  EXPECT_LE(d.wait.due_us, kNow + kAckUs);
  // Caught up: silence makes it unknown.
  ctx.inbound_read_up_to_us = kFellDue;
  d = decide_due(o, w, kAskRules, ctx, kNow);
  EXPECT_EQ(d.reason, Reason::kSilence) << describe(d);
  EXPECT_EQ(d.event, EventType::kUnknown);
  EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow, 0}));
}

TEST(ResolutionRows, APutOffDeadlineIsJudgedAgainstTheDeadlineNotTheNextLook) {
  const Order o = build(V::kPendingNewSent);
  Wait w{Step::kDeadline, kFellDue, 1};
  w.deadline_us = kFellDue - 10'000'000;  // put off once already; due_us is the next look
  // The reader is now past the deadline (though not past the next look): silence.
  Decision d =
      decide_due(o, w, kAskRules, DueContext{true, kFellDue - 5'000'000, true, 0, 0}, kNow);
  EXPECT_EQ(d.reason, Reason::kSilence) << describe(d);
  EXPECT_EQ(d.event, EventType::kUnknown);
  EXPECT_EQ(d.wait.step, Step::kQuery);
  EXPECT_EQ(d.wait.due_us, kNow);
  EXPECT_EQ(d.wait.attempt, 1U);
  // Still behind the deadline: put off again, the deadline kept.
  d = decide_due(o, w, kAskRules, DueContext{true, kFellDue - 11'000'000, true, 0, 0}, kNow);
  EXPECT_EQ(d.reason, Reason::kReaderBehind) << describe(d);
  EXPECT_EQ(d.wait.deadline(), kFellDue - 10'000'000);
  EXPECT_GE(d.wait.due_us, kNow + 100'000);
}

TEST(ResolutionRows, BudgetSpentWaitsForTheBudgetWithTheAttemptUnchanged) {
  const Order o = build(V::kUnknownNew);
  for (const Step step : {Step::kQuery, Step::kResend}) {
    const Decision d = decide_due(o, Wait{step, kFellDue, 2}, kAskRules,
                                  DueContext{true, kNow, false, kNow + 250'000, 0}, kNow);
    EXPECT_EQ(d.reason, Reason::kBudget) << describe(d);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_FALSE(d.uses_budget);
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);
    EXPECT_EQ(d.wait, (Wait{step, kNow + 250'000, 2}));
  }
}

TEST(ResolutionRows, SessionDownWaitsOneBackoffBaseNotCounted) {
  const Order o = build(V::kUnknownNew);
  const Decision d = decide_due(o, Wait{Step::kQuery, kFellDue, 2}, kAskRules,
                                DueContext{false, kNow, true, 0, 0}, kNow);
  EXPECT_EQ(d.reason, Reason::kSessionDown) << describe(d);
  EXPECT_EQ(d.send, Send::kNothing);
  EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow + kBaseUs, 2}));
}

TEST(ResolutionRows, DueRules) {
  const DueContext ctx{true, kNow, true, 0, 0};
  // A settled order's entry goes.
  Decision d = decide_due(build(V::kNew), Wait{Step::kDeadline, kFellDue, 1}, kAskRules, ctx, kNow);
  EXPECT_EQ(d.reason, Reason::kNoLongerWaiting) << describe(d);
  EXPECT_EQ(d.schedule, ScheduleOp::kClear);
  // A deadline on an unknown order becomes its resolution step now, attempt kept.
  d = decide_due(build(V::kUnknownNew), Wait{Step::kDeadline, kFellDue, 2}, kResendRules, ctx,
                 kNow);
  EXPECT_EQ(d.wait, (Wait{Step::kResend, kNow, 2})) << describe(d);
  // A query entry on a pending order becomes its deadline.
  d = decide_due(build(V::kPendingCancelSent), Wait{Step::kQuery, kFellDue, 1}, kAskRules, ctx,
                 kNow);
  EXPECT_EQ(d.reason, Reason::kRearmDeadline) << describe(d);
  EXPECT_EQ(d.wait.step, Step::kDeadline);
  // Attention entries are kept.
  const Wait attention{Step::kAttention, kNeverDue, 4};
  d = decide_due(build(V::kUnknownNew), attention, kAskRules, ctx, kNow);
  EXPECT_EQ(wait_after(attention, d), attention) << describe(d);
  EXPECT_EQ(d.send, Send::kNothing);
}

TEST(ResolutionRows, DueNeverSentDeadlineComesAgain) {
  const DueContext ctx{true, kNow, true, 0, 0};
  const Decision d = decide_due(build(V::kPendingCancelUnsent), Wait{Step::kDeadline, kFellDue, 0},
                                kAskRules, ctx, kNow);
  EXPECT_EQ(d.reason, Reason::kNotSentYet) << describe(d);
  EXPECT_EQ(d.wait, (Wait{Step::kDeadline, kNow + kAckUs, 0}));
}

TEST(ResolutionRows, DispatchFirstSendAndItsDeadline) {
  const Order o = build(V::kPendingNewUnsent);
  const Decision d = decide_dispatch(o, Send::kNewOrder, std::nullopt, kAskRules, kNow);
  EXPECT_EQ(d.send, Send::kNewOrder) << describe(d);
  EXPECT_EQ(d.reason, Reason::kFirstSend);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->send_attempts, 1U);
  EXPECT_EQ(d.order->state, OrderState::kPendingNew);
  EXPECT_EQ(d.wait, (Wait{Step::kDeadline, kNow + kAckUs, 0}));
  // The same order again: never a second first send.
  const Decision again = decide_dispatch(*d.order, Send::kNewOrder, d.wait, kAskRules, kNow + 1);
  EXPECT_EQ(again.send, Send::kNothing) << describe(again);
  EXPECT_EQ(again.reason, Reason::kAlreadySent);
}

TEST(ResolutionRows, DispatchStaleOrderIsAskedAboutOrRejected) {
  BrokerRules rules = kAskRules;
  rules.policy.stale_order_age_ms = 5000;  // the order is 10 s old
  const Order o = build(V::kPendingNewUnsent);
  for (const Strategy s : kStrategies) {
    rules.policy.strategy = s;
    rules.caps.status_query = true;
    Decision d = decide_dispatch(o, Send::kNewOrder, std::nullopt, rules, kNow);
    EXPECT_EQ(d.reason, Reason::kStale) << describe(d);
    EXPECT_EQ(d.send, Send::kNothing);
    EXPECT_EQ(d.event, EventType::kUnknown);
    ASSERT_TRUE(d.order.has_value());
    EXPECT_EQ(d.order->state, OrderState::kUnknownAtBroker);
    EXPECT_EQ(d.order->send_attempts, 0U);
    EXPECT_EQ(d.wait, (Wait{Step::kQuery, kNow, 0}));
    EXPECT_EQ(d.schedule, ScheduleOp::kSet);

    rules.caps.status_query = false;
    d = decide_dispatch(o, Send::kNewOrder, std::nullopt, rules, kNow);
    EXPECT_EQ(d.reason, Reason::kStaleRejected) << describe(d);
    EXPECT_EQ(d.event, EventType::kRejected);
    ASSERT_TRUE(d.order.has_value());
    EXPECT_EQ(d.order->state, OrderState::kRejected);
    EXPECT_EQ(d.send, Send::kNothing);
  }
  // Younger than the limit: sent.
  rules.policy.stale_order_age_ms = 60000;
  EXPECT_EQ(decide_dispatch(o, Send::kNewOrder, std::nullopt, rules, kNow).send, Send::kNewOrder);
}

TEST(ResolutionRows, DispatchCanceledBeforeSentNeverReachesTheBroker) {
  const Order o = build(V::kPendingCancelUnsent);
  const Wait w{Step::kDeadline, kWaitDue, 0};
  const Decision d = decide_dispatch(o, Send::kNewOrder, w, kAskRules, kNow);
  EXPECT_EQ(d.reason, Reason::kCanceledBeforeSent) << describe(d);
  EXPECT_EQ(d.send, Send::kNothing);
  EXPECT_EQ(d.event, EventType::kCanceled);
  ASSERT_TRUE(d.order.has_value());
  EXPECT_EQ(d.order->state, OrderState::kCanceled);
  EXPECT_EQ(d.order->send_attempts, 0U);
  EXPECT_EQ(d.schedule, ScheduleOp::kClear);
  // Its own cancel item, dispatched first, cancels it locally just the same.
  EXPECT_EQ(decide_dispatch(o, Send::kCancel, w, kAskRules, kNow).reason,
            Reason::kCanceledBeforeSent);
}

TEST(ResolutionRows, TerminalOrdersAreNeverSentAnything) {
  for (const V v : {V::kFilled, V::kCanceled, V::kReplaced, V::kRejected, V::kExpired}) {
    const Order o = build(v);
    for (const Send s : kRequests) {
      const Decision d = decide_dispatch(o, s, std::nullopt, kAskRules, kNow);
      EXPECT_EQ(d.send, Send::kNothing) << describe(d);
      EXPECT_EQ(d.reason, Reason::kTerminal) << describe(d);
    }
  }
}

TEST(ResolutionNames, RoundTripAndStoreNames) {
  EXPECT_EQ(to_string(Step::kDeadline), "timeout");
  EXPECT_EQ(to_string(Step::kQuery), "status_query");
  EXPECT_EQ(to_string(Step::kResend), "resend");
  EXPECT_EQ(to_string(Step::kAttention), "attention");
  for (int i = 0; i < kStepCount; ++i) {
    const auto s = static_cast<Step>(i);
    EXPECT_EQ(step_from_string(to_string(s)), s);
  }
  for (int i = 0; i < kStrategyCount; ++i) {
    const auto s = static_cast<Strategy>(i);
    EXPECT_EQ(strategy_from_string(to_string(s)), s);
  }
  for (int i = 1; i < kEventTypeCount; ++i) {
    const auto e = static_cast<EventType>(i);
    EXPECT_EQ(event_type_from_string(to_string(e)), e) << i;
  }
  EXPECT_EQ(event_type_from_string(""), std::nullopt);
  EXPECT_EQ(step_from_string("nope"), std::nullopt);
  for (int i = 0; i < kReasonCount; ++i) EXPECT_NE(to_string(static_cast<Reason>(i)), "?") << i;
  for (int i = 0; i < kReportKindCount; ++i) {
    EXPECT_NE(to_string(static_cast<ReportKind>(i)), "?") << i;
  }
}

}  // namespace
}  // namespace brokergw::core
