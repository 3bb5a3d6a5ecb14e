// The order domain: identifiers, enums, the Order record and the events that change it.
// Pure data; no I/O, no clocks, no FIX or storage types. Safe to copy between threads.
//
// Invariants on Order (checked by core::check_invariants, which stays on in production):
//   cum_qty <= quantity, leaves_qty == quantity - cum_qty while the order is live and
//   zero once it is terminal, history is non-empty and its last entry's state == state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/core/decimal.h"

namespace brokergw::core {

// Microseconds since the Unix epoch, always passed in (the core never reads a clock).
using TimestampUs = std::int64_t;

enum class Side { kBuy, kSell, kSellShort };
enum class OrderType { kMarket, kLimit };
enum class TimeInForce { kDay, kGtc, kIoc, kFok };

enum class OrderState {
  kPendingNew,  // stored, not yet acknowledged by the broker
  kNew,         // acknowledged, nothing filled
  kPartiallyFilled,
  kFilled,           // terminal
  kPendingCancel,    // cancel sent, no answer yet
  kCanceled,         // terminal
  kPendingReplace,   // replace sent, no answer yet
  kReplaced,         // terminal for this ClOrdID (the replacement lives under its own id)
  kRejected,         // terminal
  kExpired,          // terminal
  kUnknownAtBroker,  // a request timed out; the broker may or may not have acted on it
};
inline constexpr int kOrderStateCount = 11;

bool is_terminal(OrderState s);

// Wire names used by the internal API, events, logs and the store ("pending_new", ...).
std::string_view to_string(Side v);
std::string_view to_string(OrderType v);
std::string_view to_string(TimeInForce v);
std::string_view to_string(OrderState v);
std::optional<Side> side_from_string(std::string_view s);
std::optional<OrderType> order_type_from_string(std::string_view s);
std::optional<TimeInForce> time_in_force_from_string(std::string_view s);
std::optional<OrderState> order_state_from_string(std::string_view s);

// What the client asked for. Two requests are "identical" (idempotent replay) when these
// fields are equal after parsing, so "100" and "100.0" are the same quantity.
struct NewOrderRequest {
  std::string client_order_id;  // FIX ClOrdID (11); the idempotency key
  std::string account;
  std::string broker;
  std::string symbol;
  Side side = Side::kBuy;
  Qty quantity;
  OrderType order_type = OrderType::kMarket;
  std::optional<Price> limit_price;  // present iff order_type == kLimit
  TimeInForce time_in_force = TimeInForce::kDay;

  friend bool operator==(const NewOrderRequest&, const NewOrderRequest&) = default;
};

struct Transition {
  TimestampUs at_us = 0;
  OrderState state = OrderState::kPendingNew;
  std::string reason;  // short machine-friendly cause: "ack", "fill", "reject: <text>", ...

  friend bool operator==(const Transition&, const Transition&) = default;
};

struct Order {
  NewOrderRequest request;
  OrderState state = OrderState::kPendingNew;
  // The state to return to when a pending cancel/replace is refused or an unknown resolves.
  OrderState state_before_pending = OrderState::kPendingNew;
  Qty cum_qty;
  Qty leaves_qty;
  Notional cum_notional = 0;
  Price avg_price;
  std::string broker_order_id;  // FIX OrderID (37) once acknowledged
  std::string cancel_id;        // client_cancel_id of the cancel in flight or done
  std::string reject_reason;
  std::uint32_t send_attempts = 0;  // NewOrderSingle dispatches (durably marked before send)
  bool acknowledged = false;        // the broker has shown it knows the order
  // The broker's own total: the highest CumQty(14) its reports have stated (set back by a
  // bust or correction, which restate it). Ahead of cum_qty means fills we never received
  // (fills_missing): the gateway never makes them up; an operator reconciles.
  Qty broker_cum_qty;
  // The broker could not confirm the order's state when asked (it refuses status requests),
  // so reports lost on the way (a GapFill-only resend) would go unseen. Cleared by the next
  // report that states the order's totals.
  bool unverified = false;
  TimestampUs created_us = 0;
  TimestampUs updated_us = 0;
  std::vector<Transition> history;  // first entry and the most recent ones, bounded by apply()

  // Field-by-field; used by tests and by store round-trip checks.
  friend bool operator==(const Order&, const Order&) = default;
};

// Builds the pending-new order for an accepted request.
Order make_order(const NewOrderRequest& request, TimestampUs now_us);

// The broker has stated a larger filled quantity than the fills we received.
inline bool fills_missing(const Order& o) { return o.broker_cum_qty > o.cum_qty; }

// ---- Events ---------------------------------------------------------------------------------

struct EvSendAttempt {};  // we are about to send (or resend) the NewOrderSingle
struct EvAck {            // broker accepted the order (ExecType=New)
  std::string broker_order_id;
};
struct EvFill {  // ExecType=Trade (F); one execution
  std::string exec_id;
  std::string broker_order_id;
  Qty last_qty;
  Price last_px;
};
struct EvReject {  // broker refused the order (ExecType=Rejected, session Reject, BMR)
  std::string reason;
};
struct EvCancelRequested {
  std::string cancel_id;
};
struct EvCanceled {  // broker canceled the order (ExecType=Canceled), on request or not
  std::string reason;
};
struct EvCancelRejected {  // OrderCancelReject (35=9)
  std::string reason;
};
struct EvReplaceRequested {
  std::string replace_id;
};
struct EvReplaced {};
struct EvReplaceRejected {
  std::string reason;
};
struct EvExpired {};
struct EvTimeout {};  // no answer within the configured time: the outcome is unknown
struct EvStatus {     // an answer to a status query (35=H); its state adopted as the truth
  OrderState broker_state = OrderState::kNew;
  std::string broker_order_id;
  Qty cum_qty;
  Price avg_price;
};
// A fill the broker withdrew (FIX ExecType=H Trade Cancel, 4.2 ExecTransType=1): ExecRefID
// names it; last_qty/last_px are the amounts that fill added to the order (the gateway's own
// record of it, not the report's, so a bust takes back exactly what was booked).
struct EvBust {
  std::string exec_ref_id;
  Qty last_qty;
  Price last_px;
};
// A fill the broker corrected (ExecType=G Trade Correct, 4.2 ExecTransType=2): the booked
// amounts (old_*) are replaced by the corrected ones (new_*).
struct EvCorrect {
  std::string exec_ref_id;
  Qty old_qty;
  Price old_px;
  Qty new_qty;
  Price new_px;
};
// The broker restated the order (ExecType=D Restated), e.g. after a corporate action: journaled
// with its reason, nothing applied (the totals it states are checked like any report's).
struct EvRestated {
  std::string reason;
};

// The index of each alternative is stable and used in tests and the store.
using OrderEvent =
    std::variant<EvSendAttempt, EvAck, EvFill, EvReject, EvCancelRequested, EvCanceled,
                 EvCancelRejected, EvReplaceRequested, EvReplaced, EvReplaceRejected, EvExpired,
                 EvTimeout, EvStatus, EvBust, EvCorrect, EvRestated>;
inline constexpr int kOrderEventCount = 16;
std::string_view event_name(const OrderEvent& ev);

}  // namespace brokergw::core
