// The order state machine: apply(order, event, now) -> new order or a precise refusal.
// Pure: no I/O, no clock, no randomness; callable from any thread.
//
// Rules (the unit tests check every state against every event):
//  * live_state(o) = Filled if cum == qty, else PartiallyFilled if cum > 0,
//    else New if acknowledged, else PendingNew.
//  * EvSendAttempt: PendingNew, UnknownAtBroker -> send_attempts + 1, state unchanged;
//    otherwise kUnexpectedEvent.
//  * EvAck: records broker_order_id (first one wins) and acknowledged = true.
//    PendingNew -> New; UnknownAtBroker -> live_state; pending states keep their state but
//    their state_before_pending becomes live_state; anything else: no state change (stale).
//  * EvFill: last_qty > 0 and last_px >= 0 else kInvalidFill; cum + last_qty > quantity ->
//    kOverFill (nothing applied). Otherwise cum/notional/avg/leaves updated, acknowledged,
//    broker_order_id recorded when we have none yet (a fill can overtake the ack).
//    PendingNew, New, PartiallyFilled, UnknownAtBroker -> live_state. PendingCancel and
//    PendingReplace -> Filled when complete, else unchanged with state_before_pending =
//    PartiallyFilled. Terminal states other than Filled: quantities applied (fills are the
//    truth), state kept, ApplyResult::anomaly = "fill_after_<state>". Filled cannot take a
//    fill (it would be an over-fill).
//  * EvReject: PendingNew, UnknownAtBroker -> Rejected with reject_reason. Rejected -> no
//    change. Anything else -> kUnexpectedEvent.
//  * EvCancelRequested: PendingNew, New, PartiallyFilled, UnknownAtBroker -> PendingCancel
//    (state_before_pending = current, cancel_id set). PendingCancel -> kCancelInFlight.
//    PendingReplace -> kCancelInFlight. Terminal -> kNotCancelable.
//  * EvCanceled: non-terminal -> Canceled (leaves 0). Canceled -> no change. Other terminal
//    -> kUnexpectedEvent.
//  * EvCancelRejected: PendingCancel -> back to state_before_pending (re-derived with
//    live_state when it was live). Terminal -> no change (the classic "too late to cancel").
//    Otherwise kUnexpectedEvent. Returning to UnknownAtBroker (the cancel was requested while
//    unknown) sets its state_before_pending to live_state, the best we still know.
//  * EvReplaceRequested: New, PartiallyFilled -> PendingReplace. Otherwise kNotReplaceable.
//  * EvReplaced: PendingReplace -> Replaced (leaves 0). Terminal -> no change. Otherwise
//    kUnexpectedEvent.
//  * EvReplaceRejected: like EvCancelRejected, for PendingReplace.
//  * EvExpired: non-terminal -> Expired (leaves 0). Expired -> no change. Other terminal ->
//    kUnexpectedEvent.
//  * EvTimeout: PendingNew, PendingCancel, PendingReplace -> UnknownAtBroker
//    (state_before_pending = the pending state). Anything else: no change (a late timer).
//  * EvStatus: broker cum_qty > quantity -> kOverFill; negative cum_qty or avg_price, or
//    broker_state Filled with cum_qty != quantity -> kInvalidFill; broker_state
//    UnknownAtBroker -> kUnexpectedEvent (a status answer cannot be "unknown"). Otherwise
//    acknowledged, broker_order_id recorded when we have none. The broker's cum_qty is never
//    made into fills (a larger one is flagged fills_missing by the resolution rules). Broker
//    state adopted when ours is PendingNew or UnknownAtBroker, or when the broker's is
//    terminal and ours is not: PendingNew/New/PartiallyFilled become live_state (PendingNew
//    stays when cum is 0); Filled becomes Filled only when our fills complete the order, else
//    live_state from PendingNew/UnknownAtBroker and no change from any other state; an
//    adopted pending state records live_state as state_before_pending (or becomes Filled when
//    complete); Canceled, Expired, Replaced, Rejected are adopted as they are.
//  * EvBust: last_qty > 0 and last_px >= 0, and the fill within cum (qty and notional), else
//    kInvalidFill. cum/notional/avg go down by the fill; Filled and live states become
//    live_state, pending states and UnknownAtBroker keep their state with state_before_pending
//    re-derived, other terminal states are kept.
//  * EvCorrect: the old and new amounts valid and the old within cum, else kInvalidFill;
//    cum - old + new > quantity -> kOverFill. Identical amounts: no change. Otherwise the old
//    amounts are replaced by the new ones; more quantity moves a live state as a fill does
//    (terminal states are kept), less as a bust does.
//  * EvRestated: no change (journaled by the caller).
//  * Every state change, and every applied fill, appends one history Transition (one per
//    event). History keeps its first entry and the most recent ones, kMaxHistory in all.
//  * leaves_qty = quantity - cum_qty while non-terminal, 0 when terminal.
//  * updated_us = now_us when the event changed the order; a no-op returns it identical.
//  * A refusal changes nothing: the caller keeps its order.
#pragma once

#include <cstddef>
#include <string>

#include <tl/expected.hpp>

#include "gateway/core/order.h"

namespace brokergw::core {

enum class RefusalReason {
  kOverFill,         // broker anomaly: a fill beyond the order quantity
  kInvalidFill,      // broker anomaly: non-positive quantity or negative price
  kUnexpectedEvent,  // broker anomaly: event makes no sense in this state
  kNotCancelable,    // client: order is terminal
  kCancelInFlight,   // client: a cancel or replace is already pending
  kNotReplaceable,   // client: order not in a replaceable state
};
std::string_view to_string(RefusalReason r);
// True for refusals caused by broker input (flag them for an operator); false for client ones.
bool is_broker_anomaly(RefusalReason r);

struct Refusal {
  RefusalReason reason;
  std::string detail;  // human-readable, names the state and the event
};

inline constexpr std::size_t kMaxHistory = 256;

struct ApplyResult {
  Order order;
  bool state_changed = false;
  std::string anomaly;  // non-empty when applied but worth an operator's attention
};

tl::expected<ApplyResult, Refusal> apply(const Order& order, const OrderEvent& event,
                                         TimestampUs now_us);

// Aborts the process (after printing the order) if an invariant is broken: those of order.h,
// plus cum_qty >= 0, Filled implies cum_qty == quantity, cum_notional >= 0, avg_price ==
// average_price(cum_notional, cum_qty) and history.size() <= kMaxHistory. Stays on in release
// builds: a corrupt order must stop the gateway, not reach a ledger.
void check_invariants(const Order& order);

OrderState live_state(const Order& order);

}  // namespace brokergw::core
