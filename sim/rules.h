// The simulator's decision logic: which rule an order matches, what that rule does, and the
// plan of timed steps (ack, fills, reject) that carries it out. Pure: no QuickFIX types, no
// clocks, no I/O; every function is a function of its arguments, so any thread may call it.
//
// Rule actions are data. A rule's Action becomes a Plan, a list of Steps with offsets from the
// order's arrival; the engine (sim/engine.h) runs the steps and never looks at the rule again.
// Fault modes are per-rule options of the Action, orthogonal to its kind: duplicated reports,
// out-of-order fills (a Plan's send_order), a disconnect on receipt, skipped sequence numbers
// after the first answer (a Step's skip_seq_after). A broker's FIX dialect is one more option:
// extra tags appended to every ExecutionReport of the rule's orders (extra_tags).
//
// Invariants of plan_order(): the fill quantities of a plan sum exactly to the order quantity;
// every fill price is positive; step offsets never decrease; send_order is empty or a
// permutation of the step indexes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/decimal.h"

namespace brokergw::sim {

// FIX 4.4 Side(54) codes the simulator names in its config.
inline constexpr char kSideBuy = '1';
inline constexpr char kSideSell = '2';
inline constexpr char kSideSellShort = '5';
inline constexpr char kSideSellShortExempt = '6';

// "buy", "sell", "sell_short", "sell_short_exempt" -> FIX code; nullopt for anything else.
std::optional<char> side_from_name(std::string_view name);

enum class ActionKind {
  kFill,    // ack, then fill completely in `fills` parts
  kReject,  // reject (ExecType=8) with a text and OrdRejReason
  kAck,     // ack only; the order stays open until canceled
  kSilent,  // no answer at all; the order exists (status requests see it as pending new)
};
std::string_view action_name(ActionKind kind);
std::optional<ActionKind> action_from_name(std::string_view name);

// Every present criterion must hold; an empty Match matches every order.
struct Match {
  std::optional<std::string> symbol;   // exact
  std::optional<std::string> account;  // exact
  std::optional<char> side;            // FIX Side(54) code
  std::optional<Fixed> min_qty;        // inclusive
  std::optional<Fixed> max_qty;        // inclusive
};

inline constexpr int kMaxFills = 1000;
inline constexpr std::int64_t kMaxDelayMs = 3'600'000;

// duplicate_reports: every execution report of the order is sent again right after the
// original, with the same ExecID and content, as a new FIX message (new MsgSeqNum).
enum class DuplicateReports {
  kNone,
  kPlain,    // one identical copy, no PossDupFlag
  kPossDup,  // one copy with PossDupFlag(43)=Y and OrigSendingTime(122)
  kBoth,     // two copies: the plain one, then the PossDup one
};
std::string_view duplicate_reports_name(DuplicateReports mode);
std::optional<DuplicateReports> duplicate_reports_from_name(std::string_view name);

// disconnect: what the simulator does with the NewOrderSingle on which it drops the session.
enum class DisconnectMode {
  kNone,
  kBeforePlacing,  // the order is forgotten, as if it never arrived (its ClOrdID stays free)
  kAfterPlacing,   // the order is placed and its plan runs while the gateway is away
};
std::string_view disconnect_mode_name(DisconnectMode mode);
std::optional<DisconnectMode> disconnect_mode_from_name(std::string_view name);

// extra_tags: one field appended to every ExecutionReport of a rule's orders, as a broker's
// dialect adds them: user-defined tags (5000-9999), a broker's own (>= 10000), or standard
// tags the gateway's dictionary does not list for ExecutionReport. One plain field each; no
// repeating groups.
struct ExtraTag {
  int tag = 0;        // > 0, never one extra_tag_refusal() refuses
  std::string value;  // not empty, no SOH
  friend bool operator==(const ExtraTag&, const ExtraTag&) = default;
};

// field_order: the order of an ExecutionReport's body fields on the wire (the header always
// comes first, in QuickFIX's order: 8, 9, 35, then the rest). QuickFIX writes body fields in
// ascending tag order unless the message is built with its own message_order.
enum class FieldOrder {
  kTag,         // ascending tag order, as QuickFIX writes them
  kReversed,    // descending tag order
  kExtraFirst,  // the rule's extra_tags first, in their configured order, then the rest by tag
};
std::string_view field_order_name(FieldOrder order);
std::optional<FieldOrder> field_order_from_name(std::string_view name);

// Why `tag` cannot be an extra tag, or nullopt when it can be one. Refused: tags below 1, the
// FIX 4.4 standard header and trailer (a header tag in the body makes the message malformed,
// which is not a dialect), and the tags the simulator writes into ExecutionReports itself
// (an extra value would silently replace the simulator's own).
std::optional<std::string> extra_tag_refusal(int tag);

struct Action {
  ActionKind kind = ActionKind::kFill;
  int fills = 1;                    // kFill: number of parts, 1..kMaxFills
  std::optional<Fixed> fill_price;  // kFill: first fill's price; default: limit price or 100
  Fixed price_step;                 // kFill: added to the price for each subsequent fill
  std::string reject_text = "rejected by simulator rule";  // kReject: Text(58)
  int ord_rej_reason = 0;             // kReject: OrdRejReason(103), 0 = broker option
  std::int64_t ack_delay_ms = 0;      // kFill, kAck, kReject: delay before the first answer
  std::int64_t fill_interval_ms = 0;  // kFill: delay before each fill (after the ack)

  // Fault modes (docs/SIMULATOR.md, "Fault modes").
  DuplicateReports duplicate_reports = DuplicateReports::kNone;  // any kind
  bool out_of_order = false;  // kFill: last fill first, the ack after it, then the others
  DisconnectMode disconnect = DisconnectMode::kNone;  // any kind
  bool disconnect_every = false;  // disconnect on every matching order, not only the first
  bool skip_seq_after = false;    // kFill, kAck, kReject: skip sequence numbers after the ack
                                  // (the reject for kReject)
  bool answer_status = true;      // false: OrderStatusRequests for the order get no answer

  // Dialect: appended to every ExecutionReport of the order (acks, fills, rejects, cancels,
  // status answers, and their duplicate copies), any kind.
  std::vector<ExtraTag> extra_tags;
  FieldOrder field_order = FieldOrder::kTag;  // of every ExecutionReport of the order
};

struct Rule {
  std::string name;  // for logs; "rules[<index>]" when the config gives none
  Match match;
  Action action;
};

// What the rules look at in a NewOrderSingle.
struct OrderFacts {
  std::string_view symbol;
  std::string_view account;
  char side = kSideBuy;
  Fixed qty;                         // > 0
  std::optional<Fixed> limit_price;  // Price(44) when the order carries one
};

bool matches(const Match& match, const OrderFacts& order);

// Index of the first rule whose Match holds, or nullopt when none does (then default_action()
// applies: fill in one part).
std::optional<std::size_t> find_rule(const std::vector<Rule>& rules, const OrderFacts& order);
const Action& default_action();

// Default fill price for market orders without a configured fill_price.
inline constexpr Fixed kDefaultMarketPrice = Fixed::from_units(100);

// Splits qty into `parts` positive quantities that sum exactly to qty, largest first, at the
// coarsest granularity that allows it: the quantity's own precision when it has at least
// `parts` units of it (100 in 3 -> 34, 33, 33; 1.5 in 2 -> 0.8, 0.7), otherwise ten times
// finer until it does (1 in 3 -> 0.4, 0.3, 0.3). If even 10^-8 units are too few, returns
// one part per 10^-8 unit. Preconditions: qty > 0, parts >= 1.
std::vector<Fixed> split_quantity(Fixed qty, int parts);

enum class StepKind {
  kAck,     // ExecType=0 New
  kFill,    // ExecType=F Trade, LastQty/LastPx from the step
  kReject,  // ExecType=8 Rejected, Text/OrdRejReason from the step
};

struct Step {
  StepKind kind = StepKind::kAck;
  std::int64_t at_ms = 0;       // offset from the order's arrival
  Fixed last_qty;               // kFill
  Fixed last_px;                // kFill
  std::string text;             // kReject
  int ord_rej_reason = 0;       // kReject
  bool skip_seq_after = false;  // skip outbound sequence numbers after this step's report
};

// The steps that carry out an action for one order; empty for kSilent.
struct Plan {
  std::vector<Step> steps;
  // Empty: each step's report leaves when the step runs. Otherwise (out_of_order) a
  // permutation of step indexes: when the first step is due, all steps run at once in step
  // order (so every report carries the CumQty, AvgPx and OrdStatus of its own position), and
  // the reports leave in this order, the k-th one at steps[k].at_ms.
  std::vector<std::size_t> send_order;
};

// Builds the plan for an order. When the action cannot be carried out for this order (a
// price_step that drives a fill price to zero or below, or arithmetic overflow) the plan is a
// single reject step whose text says why, so a bad rule is visible to the tester.
Plan plan_order(const Action& action, const OrderFacts& order);

}  // namespace brokergw::sim
