// The order state machine; the rules are listed in order_machine.h, in the same order as the
// handlers below.
#include "gateway/core/order_machine.h"

#include "gateway/core/order_draft.h"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>

namespace brokergw::core {
namespace draft {

Refusal refuse(RefusalReason reason, const Order& o, std::string_view event, std::string_view why) {
  std::string detail;
  detail.append(event).append(" refused in state ").append(to_string(o.state));
  if (!why.empty()) detail.append(": ").append(why);
  return Refusal{reason, std::move(detail)};
}

void set_state(Draft& d, OrderState s) {
  if (d.order.state == s) return;
  d.order.state = s;
  d.touched = true;
}

void set_before_pending(Draft& d, OrderState s) {
  if (d.order.state_before_pending == s) return;
  d.order.state_before_pending = s;
  d.touched = true;
}

void mark_acknowledged(Draft& d) {
  if (d.order.acknowledged) return;
  d.order.acknowledged = true;
  d.touched = true;
}

// The first broker id wins: a later, different id is a broker anomaly we do not act on here.
void record_broker_order_id(Draft& d, const std::string& id) {
  if (!d.order.broker_order_id.empty() || id.empty()) return;
  d.order.broker_order_id = id;
  d.touched = true;
}

void add_quantities(Draft& d, Qty cum, Notional notional) {
  d.order.cum_qty = cum;
  d.order.cum_notional = notional;
  d.order.avg_price = average_price(notional, cum);
  d.fill_applied = true;
  d.touched = true;
}

// How newly applied quantities move the state (EvFill, and a correction that adds).
void state_after_fill(Draft& d) {
  Order& o = d.order;
  switch (o.state) {
    case OrderState::kPendingNew:
    case OrderState::kNew:
    case OrderState::kPartiallyFilled:
    case OrderState::kUnknownAtBroker:
      set_state(d, live_state(o));
      return;
    case OrderState::kPendingCancel:
    case OrderState::kPendingReplace:
      if (o.cum_qty == o.request.quantity) {
        set_state(d, OrderState::kFilled);
      } else {
        set_before_pending(d, OrderState::kPartiallyFilled);
      }
      return;
    case OrderState::kFilled:
    case OrderState::kCanceled:
    case OrderState::kReplaced:
    case OrderState::kRejected:
    case OrderState::kExpired:
      // Fills are the truth even after a terminal state; keep the state, flag the operator.
      d.anomaly = "fill_after_" + std::string(to_string(o.state));
      return;
  }
}

}  // namespace draft
namespace {

using namespace draft;

OptRefusal on(Draft& d, const EvSendAttempt&) {
  Order& o = d.order;
  if (o.state != OrderState::kPendingNew && o.state != OrderState::kUnknownAtBroker) {
    return refuse(RefusalReason::kUnexpectedEvent, o, "send_attempt");
  }
  ++o.send_attempts;
  d.touched = true;
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvAck& ev) {
  Order& o = d.order;
  record_broker_order_id(d, ev.broker_order_id);
  mark_acknowledged(d);
  d.reason = "ack";
  switch (o.state) {
    case OrderState::kPendingNew:
      set_state(d, OrderState::kNew);
      break;
    case OrderState::kUnknownAtBroker:
      set_state(d, live_state(o));
      break;
    case OrderState::kPendingCancel:
    case OrderState::kPendingReplace:
      set_before_pending(d, live_state(o));
      break;
    default:  // stale: the order already moved past the ack
      break;
  }
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvFill& ev) {
  Order& o = d.order;
  if (!ev.last_qty.value.is_positive() || ev.last_px.value.mantissa() < 0) {
    return refuse(
        RefusalReason::kInvalidFill, o, "fill",
        "last_qty " + ev.last_qty.value.to_string() + " last_px " + ev.last_px.value.to_string());
  }
  // quantity - cum >= 0 by invariant, so this comparison cannot overflow.
  if (ev.last_qty.value > o.request.quantity.value - o.cum_qty.value) {
    return refuse(RefusalReason::kOverFill, o, "fill",
                  "cum " + o.cum_qty.value.to_string() + " + last " +
                      ev.last_qty.value.to_string() + " exceeds quantity " +
                      o.request.quantity.value.to_string());
  }
  record_broker_order_id(d, ev.broker_order_id);
  mark_acknowledged(d);
  // Cannot overflow: sum(qty_i) <= quantity < 2^63 and every price < 2^63.
  add_quantities(d, Qty{o.cum_qty.value + ev.last_qty.value},
                 o.cum_notional + notional_of(ev.last_qty, ev.last_px));
  d.reason = "fill " + ev.last_qty.value.to_string() + "@" + ev.last_px.value.to_string();
  if (!ev.exec_id.empty()) d.reason += " exec " + ev.exec_id;
  state_after_fill(d);
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvReject& ev) {
  Order& o = d.order;
  switch (o.state) {
    case OrderState::kPendingNew:
    case OrderState::kUnknownAtBroker:
      set_state(d, OrderState::kRejected);
      o.reject_reason = ev.reason;
      d.reason = "reject: " + ev.reason;
      return std::nullopt;
    case OrderState::kRejected:
      return std::nullopt;  // duplicate
    default:
      return refuse(RefusalReason::kUnexpectedEvent, o, "reject");
  }
}

OptRefusal on(Draft& d, const EvCancelRequested& ev) {
  Order& o = d.order;
  switch (o.state) {
    case OrderState::kPendingNew:
    case OrderState::kNew:
    case OrderState::kPartiallyFilled:
    case OrderState::kUnknownAtBroker:
      set_before_pending(d, o.state);
      set_state(d, OrderState::kPendingCancel);
      o.cancel_id = ev.cancel_id;
      d.reason = "cancel_requested: " + ev.cancel_id;
      return std::nullopt;
    case OrderState::kPendingCancel:
    case OrderState::kPendingReplace:
      return refuse(RefusalReason::kCancelInFlight, o, "cancel_requested");
    default:
      return refuse(RefusalReason::kNotCancelable, o, "cancel_requested");
  }
}

OptRefusal on(Draft& d, const EvCanceled& ev) {
  Order& o = d.order;
  if (o.state == OrderState::kCanceled) return std::nullopt;  // duplicate
  if (is_terminal(o.state)) return refuse(RefusalReason::kUnexpectedEvent, o, "canceled");
  set_state(d, OrderState::kCanceled);
  d.reason = ev.reason.empty() ? "canceled" : "canceled: " + ev.reason;
  return std::nullopt;
}

// Shared by EvCancelRejected and EvReplaceRejected: leave `pending` for the state before it.
OptRefusal back_from_pending(Draft& d, OrderState pending, std::string_view event,
                             const std::string& why) {
  Order& o = d.order;
  if (is_terminal(o.state)) return std::nullopt;  // too late: the order finished meanwhile
  if (o.state != pending) return refuse(RefusalReason::kUnexpectedEvent, o, event);
  if (o.state_before_pending == OrderState::kUnknownAtBroker) {
    set_state(d, OrderState::kUnknownAtBroker);
    set_before_pending(d, live_state(o));
  } else {
    // Live before the request: re-derive, as fills or an ack may have arrived meanwhile.
    set_state(d, live_state(o));
  }
  d.reason = std::string(event);
  if (!why.empty()) d.reason.append(": ").append(why);
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvCancelRejected& ev) {
  return back_from_pending(d, OrderState::kPendingCancel, "cancel_rejected", ev.reason);
}

OptRefusal on(Draft& d, const EvReplaceRequested& ev) {
  Order& o = d.order;
  if (o.state != OrderState::kNew && o.state != OrderState::kPartiallyFilled) {
    return refuse(RefusalReason::kNotReplaceable, o, "replace_requested");
  }
  set_before_pending(d, o.state);
  set_state(d, OrderState::kPendingReplace);
  d.reason = "replace_requested: " + ev.replace_id;
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvReplaced&) {
  Order& o = d.order;
  if (is_terminal(o.state)) return std::nullopt;
  if (o.state != OrderState::kPendingReplace) {
    return refuse(RefusalReason::kUnexpectedEvent, o, "replaced");
  }
  set_state(d, OrderState::kReplaced);
  d.reason = "replaced";
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvReplaceRejected& ev) {
  return back_from_pending(d, OrderState::kPendingReplace, "replace_rejected", ev.reason);
}

OptRefusal on(Draft& d, const EvExpired&) {
  Order& o = d.order;
  if (o.state == OrderState::kExpired) return std::nullopt;  // duplicate
  if (is_terminal(o.state)) return refuse(RefusalReason::kUnexpectedEvent, o, "expired");
  set_state(d, OrderState::kExpired);
  d.reason = "expired";
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvTimeout&) {
  Order& o = d.order;
  switch (o.state) {
    case OrderState::kPendingNew:
    case OrderState::kPendingCancel:
    case OrderState::kPendingReplace:
      set_before_pending(d, o.state);
      set_state(d, OrderState::kUnknownAtBroker);
      d.reason = "timeout";
      return std::nullopt;
    default:  // a late timer: the answer came first
      return std::nullopt;
  }
}

OptRefusal on(Draft& d, const EvStatus& ev) {
  Order& o = d.order;
  const Decimal broker_cum = ev.cum_qty.value;
  if (broker_cum.mantissa() < 0 || ev.avg_price.value.mantissa() < 0) {
    return refuse(
        RefusalReason::kInvalidFill, o, "status",
        "cum_qty " + broker_cum.to_string() + " avg_price " + ev.avg_price.value.to_string());
  }
  if (broker_cum > o.request.quantity.value) {
    return refuse(RefusalReason::kOverFill, o, "status",
                  "broker cum " + broker_cum.to_string() + " exceeds quantity " +
                      o.request.quantity.value.to_string());
  }
  if (ev.broker_state == OrderState::kFilled && broker_cum != o.request.quantity.value) {
    return refuse(RefusalReason::kInvalidFill, o, "status",
                  "filled with cum " + broker_cum.to_string() + " of " +
                      o.request.quantity.value.to_string());
  }
  if (ev.broker_state == OrderState::kUnknownAtBroker) {
    return refuse(RefusalReason::kUnexpectedEvent, o, "status", "broker state unknown_at_broker");
  }

  record_broker_order_id(d, ev.broker_order_id);
  mark_acknowledged(d);
  d.reason = "status: " + std::string(to_string(ev.broker_state));
  // The broker's CumQty is never turned into fills here: a larger one means fills we never
  // received (the resolution rules flag the order fills_missing, order.h).

  const bool adopt = o.state == OrderState::kPendingNew ||
                     o.state == OrderState::kUnknownAtBroker ||
                     (is_terminal(ev.broker_state) && !is_terminal(o.state));
  if (!adopt) return std::nullopt;
  switch (ev.broker_state) {
    case OrderState::kPendingNew:
      set_state(d, o.cum_qty.value.is_zero() ? OrderState::kPendingNew : live_state(o));
      break;
    case OrderState::kNew:
    case OrderState::kPartiallyFilled:
      set_state(d, live_state(o));
      break;
    case OrderState::kFilled:
      // Filled at the broker with fills we lack: live here until they arrive (or an operator
      // reconciles), never Filled without them. A pending cancel or replace keeps waiting.
      if (live_state(o) == OrderState::kFilled) {
        set_state(d, OrderState::kFilled);
      } else if (o.state == OrderState::kPendingNew || o.state == OrderState::kUnknownAtBroker) {
        set_state(d, live_state(o));
      }
      break;
    case OrderState::kPendingCancel:
    case OrderState::kPendingReplace:
      if (live_state(o) == OrderState::kFilled) {
        set_state(d, OrderState::kFilled);
      } else {
        set_before_pending(d, live_state(o));
        set_state(d, ev.broker_state);
      }
      break;
    case OrderState::kRejected:
      if (o.reject_reason.empty()) o.reject_reason = "rejected per broker status";
      set_state(d, ev.broker_state);
      break;
    case OrderState::kCanceled:
    case OrderState::kReplaced:
    case OrderState::kExpired:
    case OrderState::kUnknownAtBroker:  // refused above
      set_state(d, ev.broker_state);
      break;
  }
  return std::nullopt;
}

void bound_history(std::vector<Transition>& history) {
  // Keep the first entry (creation) and the most recent ones.
  if (history.size() > kMaxHistory) {
    history.erase(history.begin() + 1, history.begin() + 1 + (history.size() - kMaxHistory));
  }
}

}  // namespace

std::string_view to_string(RefusalReason r) {
  switch (r) {
    case RefusalReason::kOverFill:
      return "over_fill";
    case RefusalReason::kInvalidFill:
      return "invalid_fill";
    case RefusalReason::kUnexpectedEvent:
      return "unexpected_event";
    case RefusalReason::kNotCancelable:
      return "not_cancelable";
    case RefusalReason::kCancelInFlight:
      return "cancel_in_flight";
    case RefusalReason::kNotReplaceable:
      return "not_replaceable";
  }
  return "invalid";
}

bool is_broker_anomaly(RefusalReason r) {
  switch (r) {
    case RefusalReason::kOverFill:
    case RefusalReason::kInvalidFill:
    case RefusalReason::kUnexpectedEvent:
      return true;
    case RefusalReason::kNotCancelable:
    case RefusalReason::kCancelInFlight:
    case RefusalReason::kNotReplaceable:
      return false;
  }
  return true;
}

OrderState live_state(const Order& order) {
  if (order.cum_qty == order.request.quantity) return OrderState::kFilled;
  if (order.cum_qty.value.is_positive()) return OrderState::kPartiallyFilled;
  return order.acknowledged ? OrderState::kNew : OrderState::kPendingNew;
}

tl::expected<ApplyResult, Refusal> apply(const Order& order, const OrderEvent& event,
                                         TimestampUs now_us) {
  Draft d{order, false, false, {}, {}};
  OptRefusal refusal = std::visit([&d](const auto& ev) { return on(d, ev); }, event);
  if (refusal) return tl::unexpected(std::move(*refusal));

  Order& o = d.order;
  const Qty leaves = is_terminal(o.state) ? Qty{} : Qty{o.request.quantity.value - o.cum_qty.value};
  if (leaves != o.leaves_qty) {
    o.leaves_qty = leaves;
    d.touched = true;
  }
  const bool state_changed = o.state != order.state;
  if (state_changed || d.fill_applied) {
    o.history.push_back(Transition{now_us, o.state, std::move(d.reason)});
    bound_history(o.history);
  }
  if (d.touched) o.updated_us = now_us;
  check_invariants(o);
  return ApplyResult{std::move(o), state_changed, std::move(d.anomaly)};
}

void check_invariants(const Order& o) {
  const Decimal qty = o.request.quantity.value;
  const Decimal cum = o.cum_qty.value;
  const char* broken = nullptr;
  if (cum.mantissa() < 0) {
    broken = "cum_qty < 0";
  } else if (cum > qty) {
    broken = "cum_qty > quantity";
  } else if (is_terminal(o.state) ? !o.leaves_qty.value.is_zero()
                                  : o.leaves_qty.value != qty - cum) {
    broken = "leaves_qty != quantity - cum_qty (live) or 0 (terminal)";
  } else if (o.state == OrderState::kFilled && cum != qty) {
    broken = "filled with cum_qty != quantity";
  } else if (o.history.empty()) {
    broken = "history empty";
  } else if (o.history.back().state != o.state) {
    broken = "last history state != state";
  } else if (o.history.size() > kMaxHistory) {
    broken = "history longer than kMaxHistory";
  } else if (o.cum_notional < 0) {
    broken = "cum_notional < 0";
  } else if (o.cum_notional >
             static_cast<Notional>(cum.mantissa()) * std::numeric_limits<std::int64_t>::max()) {
    broken = "cum_notional beyond cum_qty * max price";  // checked first: average_price aborts
  } else if (o.avg_price != average_price(o.cum_notional, o.cum_qty)) {
    broken = "avg_price != cum_notional / cum_qty";
  }
  if (broken == nullptr) return;
  std::fprintf(stderr,
               "brokergw: order invariant broken: %s\n"
               "  client_order_id=%s state=%s state_before_pending=%s quantity=%s cum_qty=%s "
               "leaves_qty=%s cum_notional=%s avg_price=%s history=%zu last_history_state=%s\n",
               broken, o.request.client_order_id.c_str(), std::string(to_string(o.state)).c_str(),
               std::string(to_string(o.state_before_pending)).c_str(), qty.to_string().c_str(),
               cum.to_string().c_str(), o.leaves_qty.value.to_string().c_str(),
               notional_to_string(o.cum_notional).c_str(), o.avg_price.value.to_string().c_str(),
               o.history.size(),
               o.history.empty() ? "-" : std::string(to_string(o.history.back().state)).c_str());
  std::abort();
}

}  // namespace brokergw::core
