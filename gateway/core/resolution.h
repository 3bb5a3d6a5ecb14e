// The resolution rules: every decision about when an order goes to the broker, what a broker
// report means for it, what a due schedule entry does and what a restart does. Pure: no I/O,
// no clock, no randomness (time and the random draw are passed in); callable from any thread.
// The service (gateway/service) only carries out what these functions return, inside one
// store transaction per decision (docs/RECOVERY.md describes each path and its bound).
//
// Vocabulary:
//  * A Wait is the order's one durable schedule entry. Every non-terminal order that waits
//    for the broker has one: sent and unacknowledged, pending after a status answer, pending
//    cancel or replace (Step::kDeadline), unknown at broker (kQuery / kResend: the next
//    resolution attempt), or out of attempts (kAttention, never due: an operator must look).
//  * Wait::attempt counts the resolution attempts already made for the order. It is carried
//    through every step of one resolution (a PendingNew status answer, a duplicate-ClOrdID
//    reject, an unsupported status request, a change of strategy) and only restarts at 0 when
//    the order is settled (acknowledged and live, or terminal). So every resolution ends:
//    settled, or kAttention after policy.backoff.max_attempts attempts.
//
// Invariants (checked by the table and property tests in tests/unit/core_resolution_test.cpp):
//  * no decision for a terminal order sends anything;
//  * kNewOrder is sent at most once per order (send_attempts 0 -> 1); every later send of the
//    same ClOrdID is kResendNewOrder (PossResend), so the broker holds one order per ClOrdID;
//  * a decision that leaves the order waiting for the broker leaves it a Wait; a decision that
//    leaves it settled clears the Wait;
//  * the event type never contradicts the resulting state (EventType docs below).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/backoff.h"
#include "gateway/core/order_machine.h"

namespace brokergw::core {

// ---- Inputs ----------------------------------------------------------------------------------

// How a broker's silence is resolved (policy, per broker).
enum class Strategy : std::uint8_t { kStatusQuery, kResend };
inline constexpr int kStrategyCount = 2;
std::string_view to_string(Strategy s);  // "status_query", "resend"
std::optional<Strategy> strategy_from_string(std::string_view s);

// What the broker declares it supports (its dialect), plus what it has shown at run time.
struct Capabilities {
  bool status_query = true;  // answers an order status request by our ClOrdID
};

struct ResolutionPolicy {
  Strategy strategy = Strategy::kStatusQuery;
  BackoffPolicy backoff;
  std::uint64_t ack_timeout_ms = 30000;  // an answer is due within this
  std::uint64_t stale_order_age_ms = 0;  // 0: never stale
  bool query_on_reconnect = true;        // ask for every sent open order after logon
};

struct BrokerRules {
  ResolutionPolicy policy;
  Capabilities caps;
};

// What one durable schedule entry is for.
enum class Step : std::uint8_t {
  kDeadline,   // an answer is due: silence then makes the order unknown_at_broker
  kQuery,      // the next resolution attempt asks for the order's status
  kResend,     // the next resolution attempt resends (NewOrderSingle PossResend, or the cancel)
  kAttention,  // out of attempts: never due; lists the order for an operator
};
inline constexpr int kStepCount = 4;
// Store names: "timeout", "status_query", "resend", "attention" (the first three are the
// names the schedule used before steps had an enum, so an older store reads unchanged).
std::string_view to_string(Step s);
std::optional<Step> step_from_string(std::string_view s);

inline constexpr TimestampUs kNeverDue = std::numeric_limits<TimestampUs>::max();

struct Wait {
  Step step = Step::kDeadline;
  TimestampUs due_us = 0;
  std::uint32_t attempt = 0;  // resolution attempts already made (see above)
  // kDeadline only: the deadline itself, when the entry was put off because the reader was
  // behind (then due_us is the next look); 0 means due_us is the deadline.
  TimestampUs deadline_us = 0;
  TimestampUs deadline() const { return deadline_us ? deadline_us : due_us; }
  friend bool operator==(const Wait&, const Wait&) = default;
};

// What a broker report is, as the adapter normalized it.
enum class ReportKind : std::uint8_t {
  kAck,
  kFill,
  kReject,
  kDuplicateClOrdId,  // a NewOrderSingle refused because the broker already has this ClOrdID
  kCanceled,
  kCancelRejected,
  kReplaced,
  kReplaceRejected,
  kExpired,
  kStatus,             // an answer to a status request (EvStatus), adopted as the truth
  kStatusUnknown,      // an answer to a status request: the broker does not know the order
  kStatusUnsupported,  // the broker refused the status request (e.g. FIX 35=j, 380=3)
  kInformational,      // a report that carries nothing to apply (e.g. ExecType PendingNew)
  kUnhandled,   // a report the gateway does not apply (none from FIX today; kept for adapters)
  kBust,        // a fill withdrawn (FIX ExecType=H, 4.2 ExecTransType=1), EvBust
  kCorrection,  // a fill corrected (ExecType=G, 4.2 ExecTransType=2), EvCorrect
  kRestated,    // the order restated (ExecType=D), EvRestated
  kCancelRejectedUnknownOrder,  // a cancel refused because the broker does not know the order
                                // (FIX CxlRejReason=1)
  kConflictingDuplicate,        // a known ExecID whose content differs from the stored report's
  kUnparseable,                 // a message the adapter could not read (kept raw, never applied)
};
inline constexpr int kReportKindCount = 20;

// What a report states beyond its event, for the consistency checks of triage_report.
enum class ExecRef : std::uint8_t {
  kNone,           // the report refers to no earlier fill
  kKnown,          // its ExecRefID names a fill the gateway booked (EvBust/EvCorrect hold it)
  kUnknown,        // its ExecRefID names no fill the gateway booked (or one past retention)
  kAlreadyBusted,  // it names a fill that was busted before
};
struct ReportFacts {
  std::optional<Qty> cum_qty;  // the broker's CumQty(14) on the report, when it has one
  ExecRef exec_ref = ExecRef::kNone;
};
std::string_view to_string(ReportKind k);
// An answer to a status request (kStatus, kStatusUnknown, kStatusUnsupported): never
// de-duplicated by ExecID, never itself the reason to ask again.
bool is_status_answer(ReportKind k);

// ---- Outputs ---------------------------------------------------------------------------------

// What goes to the broker after the decision is committed.
enum class Send : std::uint8_t {
  kNothing,
  kNewOrder,        // the first NewOrderSingle
  kResendNewOrder,  // the same ClOrdID again with PossResend=Y
  kCancel,          // the pending cancel (first send or resend: a cancel is idempotent by id)
  kStatusQuery,     // ask for the order's status by our ClOrdID
};
inline constexpr int kSendCount = 5;
std::string_view to_string(Send s);

enum class ScheduleOp : std::uint8_t { kKeep, kClear, kSet };

// The event a decision journals (docs/EVENTS.md lists them; a test checks the list).
enum class EventType : std::uint8_t {
  kNone,
  kNew,                // order.new: the broker acknowledged the order
  kFill,               // order.fill: a fill was applied (may carry an anomaly reason)
  kRejected,           // order.rejected: the order is now rejected (only then)
  kCancelRequested,    // order.cancel_requested
  kCanceled,           // order.canceled: the order is now canceled
  kCancelRejected,     // order.cancel_rejected: the cancel was refused, the order is live
  kReplaceRequested,   // order.replace_requested
  kReplaced,           // order.replaced
  kReplaceRejected,    // order.replace_rejected
  kExpired,            // order.expired
  kStatus,             // order.status: a status answer was adopted (only for status answers)
  kUnknown,            // order.unknown: the order went unknown_at_broker
  kResolution,         // order.resolution: a resolution step (reason says which)
  kAttentionRequired,  // order.attention_required: out of attempts; an operator must check
  kAnomaly,            // order.anomaly: a report that cannot be applied (reason enum)
  kReportIgnored,      // order.report_ignored: a late or redundant report, order unchanged
  kUnknownReport,      // order.unknown_report: a report for no order of this broker
  kFillBusted,         // order.fill_busted: a fill was withdrawn by the broker (applied)
  kFillCorrected,      // order.fill_corrected: a fill's quantity or price was corrected
  kRestated,           // order.restated: the broker restated the order (nothing applied)
  kFillsMissing,       // order.fills_missing: the broker's CumQty is ahead of our fills
  kUnverified,         // order.unverified: the broker could not confirm the order's state
};
inline constexpr int kEventTypeCount = 23;
std::string_view to_string(EventType t);  // "order.new", ...; "" for kNone
std::optional<EventType> event_type_from_string(std::string_view s);

// Why a report could not be applied, or what in an applied one needs an operator's eye.
enum class AnomalyReason : std::uint8_t {
  kNone,
  kOverFill,           // a fill or status beyond the order quantity (refused)
  kInvalidFill,        // non-positive quantity, negative price (refused)
  kUnexpectedEvent,    // the report makes no sense in the order's state (refused)
  kFillAfterTerminal,  // a fill on a canceled/expired/rejected/replaced order (applied)
  kBrokerLostOrder,    // the broker says it does not know an order it had acknowledged
  kUnhandledReport,    // a report the gateway does not apply
  kExecIdConflict,     // an ExecID seen before for this order, with other content
  kUnknownExecRef,     // a bust or correction of a fill the gateway never booked
  kUnparseable,        // a message the gateway could not read (kept raw in the event)
  kUnknownOrder,       // a report for a ClOrdID this broker has no order of (order.unknown_report)
};
inline constexpr int kAnomalyReasonCount = 11;
std::string_view to_string(AnomalyReason r);

// Why the decision was taken; logged and journaled as the event's "reason_code".
enum class Reason : std::uint8_t {
  kNone,
  // dispatch
  kFirstSend,           // the first NewOrderSingle goes out now
  kResend,              // a resolution resend goes out now
  kCancelSend,          // the cancel goes out now
  kStatusQuerySend,     // a status request goes out now
  kAlreadySent,         // the order went out before: never a second first send
  kNotSentYet,          // the order has not gone out yet: nothing to cancel or ask at the broker
  kNotPending,          // the order no longer waits for this (answered meanwhile)
  kTerminal,            // the order is final: nothing is ever sent for it
  kCanceledBeforeSent,  // canceled before it left the gateway: the broker never hears of it
  kStale,               // too old to send blindly: ask the broker first
  kStaleRejected,       // too old, never sent, and the broker cannot be asked: rejected
  // reports
  kApplied,            // the report was applied
  kStatusAdopted,      // a status answer was adopted and settled the order
  kStatusPending,      // a status answer says the broker still has the order pending
  kStatusCancelLost,   // a status answer shows the order live: the pending cancel goes again
  kNotAtBrokerResend,  // the broker does not have the sent order: the same ClOrdID goes again
  kNotAtBrokerReject,  // the broker never had it and it was never sent (or the cancel is moot)
  kDuplicateClOrdId,   // the broker already has this ClOrdID: ask (or adopt as acknowledged)
  kStatusUnsupported,  // the broker refused the status request: the next attempt resends
  kLateReport,         // a report that changes nothing for an order in this state
  kRefused,            // the core refused the report (anomaly)
  kBrokerLostOrder,    // the broker no longer knows an acknowledged order (anomaly)
  kInformational,      // an informational report, journaled, nothing to apply
  kUnhandled,          // a report the gateway does not apply: an operator must look
  // schedule
  kSilence,            // no answer by the deadline: unknown_at_broker
  kReaderBehind,       // the deadline passed but the gateway has not read everything the
                       // broker sent before it: wait for the reader, do not blame the broker
  kSessionDown,        // the session is down: the attempt waits (not counted)
  kBudget,             // the broker's resolution budget is spent: the attempt waits
  kAttempt,            // a resolution attempt goes out now
  kAttemptsExhausted,  // out of attempts: attention_required
  kNoLongerWaiting,    // the order was settled meanwhile: the entry goes
  kRearmDeadline,      // an entry that does not fit the order's state becomes its deadline
  // restart
  kInFlightAtRestart,  // sent before the restart with no answer: unknown, resolved by asking
  kRequeue,            // never sent: queued again
  kScheduleContinues,  // the durable schedule simply continues
  kAttention,          // still waiting for an operator
  // reports (continued)
  kFillsMissing,           // the broker's CumQty is ahead of the fills we received
  kUnverified,             // the broker refused to confirm a live order's state
  kCancelUnknownAtBroker,  // a cancel refused as "unknown order": ask what the broker has
  kExecIdConflict,         // a known ExecID with other content: both kept, nothing applied
  kUnknownExecRef,         // a bust or correction of no booked fill: nothing applied
  kUnparseable,            // a message that could not be read: kept raw, nothing applied
};
inline constexpr int kReasonCount = 43;
std::string_view to_string(Reason r);

struct Decision {
  Reason reason = Reason::kNone;
  std::optional<Order> order;  // the order to write (compare-and-set) when it changed
  Send send = Send::kNothing;  // what goes to the broker once the decision is durable
  ScheduleOp schedule = ScheduleOp::kKeep;
  Wait wait;  // the order's new schedule entry when schedule == kSet
  EventType event = EventType::kNone;
  AnomalyReason anomaly = AnomalyReason::kNone;
  std::string detail;        // human text for the event and the log (never an action or a type)
  bool alert = false;        // an operator must be told (metric + error log)
  bool probe = false;        // ask the adapter to prove it has read everything (kReaderBehind)
  bool uses_budget = false;  // the send is a status query or resend: it spends budget
  // A second event journaled after `event` in the same transaction (kFillsMissing only).
  EventType also = EventType::kNone;
  std::string also_detail;
};

// ---- The decisions ---------------------------------------------------------------------------

// A lane item is about to go out: `requested` is what was queued (kNewOrder, kResendNewOrder,
// kCancel or kStatusQuery); `o` is the order re-read in the send transaction, `wait` its entry.
//  * terminal: nothing (kTerminal).
//  * kNewOrder: sent before -> nothing (kAlreadySent). PendingCancel never sent -> Canceled
//    locally, event kCanceled, wait cleared. Not PendingNew -> nothing. Stale (policy age) ->
//    EvTimeout (unknown), event kUnknown, wait kQuery now with attempt 0 when the broker can
//    be asked, else EvReject (kStaleRejected, event kRejected, wait cleared). Otherwise
//    EvSendAttempt, send kNewOrder, wait kDeadline at now + ack_timeout, attempt carried.
//  * kResendNewOrder: UnknownAtBroker whose pending part is the new order -> EvSendAttempt,
//    send kResendNewOrder, wait kept; pending part a cancel -> send kCancel; else nothing.
//  * kCancel: PendingCancel never sent -> Canceled locally (kCanceledBeforeSent: the broker
//    cannot have it), event kCanceled. Otherwise never sent -> nothing (kNotSentYet). No
//    cancel id -> nothing. PendingCancel -> send kCancel, wait kDeadline at
//    now + ack_timeout (attempt carried). UnknownAtBroker with a pending cancel -> send
//    kCancel, wait kept (the scheduler set the next attempt). Else nothing.
//  * kStatusQuery: never sent and not unknown -> nothing (kNotSentYet). Otherwise send
//    kStatusQuery, wait kept (a stale, never-sent unknown order is asked before anything).
Decision decide_dispatch(const Order& o, Send requested, const std::optional<Wait>& wait,
                         const BrokerRules& rules, TimestampUs now);

// A broker report for a known order of this broker. `event` is the report's core event
// (EvStatus for the status kinds, unused for kStatusUnsupported); `facts` what else it states.
//  * kStatusUnknown: terminal -> ignored (kLateReport). Never sent -> UnknownAtBroker: rejected
//    (kNotAtBrokerReject); otherwise ignored. Sent and not acknowledged, pending part the new
//    order (PendingNew or UnknownAtBroker) -> unknown now, wait kResend now, attempt carried
//    (kNotAtBrokerResend; event kUnknown or kResolution). UnknownAtBroker with a pending cancel
//    and never acknowledged -> rejected (the broker never had it; nothing to cancel).
//    Acknowledged -> anomaly kBrokerLostOrder, alert, unchanged.
//  * kStatusUnsupported: terminal -> ignored. A kQuery wait becomes kResend (same due time and
//    attempt) when the pending part can be resent, else unchanged; event kResolution.
//  * kDuplicateClOrdId: PendingNew/UnknownAtBroker whose pending part is the new order -> the
//    broker has it: wait kQuery now, attempt carried, event kResolution; when the broker cannot
//    be asked, kAttention (event kAttentionRequired, alert): it has the order but cannot say
//    in what state, and a resend only repeats the answer; any later report still settles it.
//    A PendingNew order (not yet unknown) first becomes unknown (event kUnknown when asked).
//    A PendingNew order the broker already acknowledged, and every other state, -> ignored
//    (a late answer to a resend).
//  * kStatus: apply(EvStatus). Refused -> anomaly. Applied: settled -> wait cleared
//    (kStatusAdopted); still pending (PendingNew/Cancel/Replace) after being unknown -> wait
//    kDeadline at now + ack_timeout, attempt carried (kStatusPending); UnknownAtBroker with a
//    pending cancel answered live -> the cancel is requested again (PendingCancel), send
//    kCancel, wait kDeadline, attempt + 1 (kStatusCancelLost). Event kStatus.
//  * kInformational -> ignored (kInformational): journaled, nothing changes.
//  * kUnhandled -> anomaly kUnhandledReport, alert, unchanged (kUnhandled): never dropped.
//  * kConflictingDuplicate -> anomaly kExecIdConflict, alert, unchanged (the event shows both
//    versions). kUnparseable -> anomaly kUnparseable, alert, unchanged.
//  * kBust, kCorrection: exec_ref kUnknown or kAlreadyBusted -> anomaly kUnknownExecRef, alert,
//    unchanged; otherwise as below with the events kFillBusted / kFillCorrected. kRestated ->
//    event kRestated, unchanged (the totals check still runs).
//  * kCancelRejectedUnknownOrder: PendingCancel, sent -> unknown (EvTimeout), event kUnknown,
//    the resolution step now with the attempt carried (kCancelUnknownAtBroker): the broker is
//    asked what it has instead of the order going back to live. UnknownAtBroker with a pending
//    cancel -> event kResolution, unchanged, wait kept. Otherwise as kCancelRejected.
//  * every other kind: apply(event). Refused -> anomaly with the refusal's reason, unchanged.
//    Applied without any change -> ignored (kLateReport). Otherwise the event of the kind
//    (a fill applied to a terminal order carries kFillAfterTerminal); the wait is cleared when
//    the order is settled, kept while it still waits for the same answer, and set to a fresh
//    deadline (attempt carried) when it left UnknownAtBroker for a pending state.
//  * Totals, after any decision that is not an anomaly: broker_cum_qty becomes the larger of
//    itself and facts.cum_qty (a bust or correction sets it to facts.cum_qty, else to the new
//    cum). When it is ahead of cum_qty and grew, `also` is kFillsMissing with an alert, and a
//    status request goes out when the broker can be asked (for a sent, non-terminal order,
//    not for status answers, never in place of another send). Nothing is ever booked from it. Any
//    report stating a CumQty clears `unverified`. kStatusUnsupported for an acknowledged order that
//    waits for nothing sets `unverified`: event kUnverified (kUnverified).
Decision triage_report(const Order& o, ReportKind kind, const OrderEvent& event,
                       const std::optional<Wait>& wait, const BrokerRules& rules, TimestampUs now,
                       const ReportFacts& facts = {});

// What the scheduler knows when an entry falls due.
struct DueContext {
  bool session_up = true;
  // The gateway has read and applied everything the broker sent up to this time (our clock).
  TimestampUs inbound_read_up_to_us = 0;
  bool budget_available = true;     // a status query or resend may go out now
  TimestampUs budget_retry_us = 0;  // when to look again if not (absolute)
  std::uint64_t draw = 0;           // uniform random, for backoff jitter
};

//  * settled (terminal, or live and acknowledged with nothing pending) -> wait cleared
//    (kNoLongerWaiting).
//  * kAttention -> kept (never due in practice).
//  * a pending order never sent (it waits for its lane or session, not for the broker) ->
//    the deadline again at now + ack_timeout (kNotSentYet for kDeadline, else
//    kRearmDeadline).
//  * kDeadline: UnknownAtBroker -> wait for the resolution step now (attempt kept). Session up and
//  the reader not
//    yet past the deadline (wait.deadline()) -> looked at again at now + clamp(lag, 100 ms,
//    ack_timeout) keeping the deadline, probe (kReaderBehind). Otherwise EvTimeout: unknown, event
//    kUnknown, resolution step now with the attempt kept (kSilence).
//  * kQuery/kResend on a pending (not unknown) order -> its deadline (kRearmDeadline).
//  * kQuery/kResend on UnknownAtBroker: attempt >= max_attempts -> kAttention (never due),
//    event kAttentionRequired, alert. Session down -> the same step at now + backoff base,
//    attempt not counted (kSessionDown). Budget spent -> the same step at budget_retry_us
//    (kBudget). Otherwise attempt + 1 goes out: kStatusQuery (kQuery, broker can be asked) or
//    the resend (kResendNewOrder for a pending new order, kCancel for a pending cancel; a
//    pending replace is only ever asked); the next step at now + retry_delay(attempt + 1)
//    with attempt + 1 (kAttempt). A never-sent (stale) order is only ever asked.
Decision decide_due(const Order& o, const Wait& wait, const BrokerRules& rules,
                    const DueContext& ctx, TimestampUs now);

// The gateway (re)starts with this non-terminal order and its entry.
//  * UnknownAtBroker: with an entry -> kept (kScheduleContinues); kAttention or none ->
//    kAttention, unchanged (an operator was told; nothing is guessed).
//  * never sent (PendingNew, or PendingCancel before its order went out) -> send kNewOrder
//    (queued again; decide_dispatch decides at send time), kRequeue.
//  * sent PendingNew, PendingCancel or PendingReplace -> EvTimeout: unknown, event kUnknown,
//    resolution step now with the attempt carried (kInFlightAtRestart). A cancel in flight is
//    asked about first when the broker can be asked: its answer may already be on its way.
//  * live (New, PartiallyFilled) -> nothing (the logon status query covers it).
Decision decide_restart(const Order& o, const std::optional<Wait>& wait, const BrokerRules& rules,
                        TimestampUs now);

// After logon: ask for this open order's status? (sent, non-terminal, policy and capability).
bool query_after_logon(const Order& o, const BrokerRules& rules);

// Is this order waiting for the broker (so it must have a Wait)? UnknownAtBroker, or a pending
// state that was sent or that the broker has acknowledged.
bool awaits_broker(const Order& o);

}  // namespace brokergw::core
