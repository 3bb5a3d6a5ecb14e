// The order state machine's handlers for a broker taking back or changing a fill it reported
// (busts and corrections) and for restatements; the rules are in order_machine.h.
#include <limits>
#include <string>

#include "gateway/core/order_draft.h"

namespace brokergw::core::draft {
namespace {

std::string amounts(Qty q, Price p) { return q.value.to_string() + "@" + p.value.to_string(); }

// The state after quantities went down (a bust, or a correction to less): a Filled order is
// live again; pending states keep waiting with their state_before_pending re-derived; other
// terminal states keep their state (leaves stay 0).
void state_after_reduction(Draft& d) {
  Order& o = d.order;
  switch (o.state) {
    case OrderState::kFilled:
    case OrderState::kPendingNew:
    case OrderState::kNew:
    case OrderState::kPartiallyFilled:
      set_state(d, live_state(o));
      return;
    case OrderState::kPendingCancel:
    case OrderState::kPendingReplace:
    case OrderState::kUnknownAtBroker:
      set_before_pending(d, live_state(o));
      return;
    case OrderState::kCanceled:
    case OrderState::kReplaced:
    case OrderState::kRejected:
    case OrderState::kExpired:
      return;
  }
}

// Quantities after taking amounts back must still describe fills: no notional without
// quantity, and no average price beyond what a Price can hold.
bool describes_fills(Decimal cum, Notional notional) {
  if (notional < 0) return false;
  if (cum.is_zero()) return notional == 0;
  return notional <=
         static_cast<Notional>(cum.mantissa()) * std::numeric_limits<std::int64_t>::max();
}

}  // namespace

OptRefusal on(Draft& d, const EvBust& ev) {
  Order& o = d.order;
  if (!ev.last_qty.value.is_positive() || ev.last_px.value.mantissa() < 0) {
    return refuse(RefusalReason::kInvalidFill, o, "bust",
                  "busted fill " + amounts(ev.last_qty, ev.last_px));
  }
  const Notional taken = notional_of(ev.last_qty, ev.last_px);
  if (ev.last_qty.value > o.cum_qty.value || taken > o.cum_notional ||
      !describes_fills(o.cum_qty.value - ev.last_qty.value, o.cum_notional - taken)) {
    return refuse(RefusalReason::kInvalidFill, o, "bust",
                  "busted fill " + amounts(ev.last_qty, ev.last_px) +
                      " is not within the booked fills (cum " + o.cum_qty.value.to_string() + ")");
  }
  add_quantities(d, Qty{o.cum_qty.value - ev.last_qty.value}, o.cum_notional - taken);
  d.reason = "bust " + amounts(ev.last_qty, ev.last_px) + " exec " + ev.exec_ref_id;
  state_after_reduction(d);
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvCorrect& ev) {
  Order& o = d.order;
  if (!ev.old_qty.value.is_positive() || ev.old_px.value.mantissa() < 0 ||
      !ev.new_qty.value.is_positive() || ev.new_px.value.mantissa() < 0) {
    return refuse(RefusalReason::kInvalidFill, o, "correction",
                  amounts(ev.old_qty, ev.old_px) + " -> " + amounts(ev.new_qty, ev.new_px));
  }
  const Notional old_notional = notional_of(ev.old_qty, ev.old_px);
  if (ev.old_qty.value > o.cum_qty.value || old_notional > o.cum_notional) {
    return refuse(RefusalReason::kInvalidFill, o, "correction",
                  "corrected fill " + amounts(ev.old_qty, ev.old_px) + " exceeds cum " +
                      o.cum_qty.value.to_string());
  }
  const Decimal base = o.cum_qty.value - ev.old_qty.value;
  // quantity - base >= 0 by invariant, so this comparison cannot overflow.
  if (ev.new_qty.value > o.request.quantity.value - base) {
    return refuse(RefusalReason::kOverFill, o, "correction",
                  "cum " + base.to_string() + " + corrected " + ev.new_qty.value.to_string() +
                      " exceeds quantity " + o.request.quantity.value.to_string());
  }
  const Notional after_notional =
      o.cum_notional - old_notional + notional_of(ev.new_qty, ev.new_px);
  if (!describes_fills(base + ev.new_qty.value, after_notional) ||
      !describes_fills(base, o.cum_notional - old_notional)) {
    return refuse(RefusalReason::kInvalidFill, o, "correction",
                  "corrected fill " + amounts(ev.old_qty, ev.old_px) +
                      " is not within the booked fills (cum " + o.cum_qty.value.to_string() + ")");
  }
  if (ev.old_qty == ev.new_qty && ev.old_px == ev.new_px) {
    d.reason = "correction (no change)";
    return std::nullopt;
  }
  const bool more = ev.new_qty.value > ev.old_qty.value;
  add_quantities(d, Qty{base + ev.new_qty.value}, after_notional);
  d.reason = "correction " + amounts(ev.old_qty, ev.old_px) + " -> " +
             amounts(ev.new_qty, ev.new_px) + " exec " + ev.exec_ref_id;
  if (more) {
    // Like a fill, except that a terminal order's state is kept without a fill anomaly when it
    // is Filled (cannot happen: more would over-fill) or otherwise terminal.
    if (is_terminal(o.state)) return std::nullopt;
    state_after_fill(d);
  } else {
    state_after_reduction(d);
  }
  return std::nullopt;
}

OptRefusal on(Draft& d, const EvRestated& ev) {
  d.reason = ev.reason.empty() ? "restated" : "restated: " + ev.reason;
  return std::nullopt;
}

}  // namespace brokergw::core::draft
