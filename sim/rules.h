// The simulator's decision logic: which rule an order matches, what that rule does, and the
// plan of timed steps (ack, fills, reject) that carries it out. Pure: no QuickFIX types, no
// clocks, no I/O; every function is a function of its arguments, so any thread may call it.
//
// Rule actions are data. A rule's Action becomes a Plan, a list of Steps with offsets from the
// order's arrival; the engine (sim/engine.h) runs the steps and never looks at the rule again.
// New fault modes (disconnect after receive, skipped sequence numbers, resent or duplicated
// reports, out-of-order reports) are new ActionKinds that plan new StepKinds; nothing else
// changes shape.
//
// Invariants of plan_order(): the fill quantities of a plan sum exactly to the order quantity;
// every fill price is positive; step offsets never decrease.
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

struct Action {
  ActionKind kind = ActionKind::kFill;
  int fills = 1;                    // kFill: number of parts, 1..kMaxFills
  std::optional<Fixed> fill_price;  // kFill: first fill's price; default: limit price or 100
  Fixed price_step;                 // kFill: added to the price for each subsequent fill
  std::string reject_text = "rejected by simulator rule";  // kReject: Text(58)
  int ord_rej_reason = 0;             // kReject: OrdRejReason(103), 0 = broker option
  std::int64_t ack_delay_ms = 0;      // kFill, kAck, kReject: delay before the first answer
  std::int64_t fill_interval_ms = 0;  // kFill: delay before each fill (after the ack)
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
  std::int64_t at_ms = 0;  // offset from the order's arrival
  Fixed last_qty;          // kFill
  Fixed last_px;           // kFill
  std::string text;        // kReject
  int ord_rej_reason = 0;  // kReject
};

// The steps that carry out an action for one order; empty for kSilent.
struct Plan {
  std::vector<Step> steps;
};

// Builds the plan for an order. When the action cannot be carried out for this order (a
// price_step that drives a fill price to zero or below, or arithmetic overflow) the plan is a
// single reject step whose text says why, so a bad rule is visible to the tester.
Plan plan_order(const Action& action, const OrderFacts& order);

}  // namespace brokergw::sim
