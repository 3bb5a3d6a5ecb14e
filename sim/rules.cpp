#include "sim/rules.h"

#include <array>
#include <utility>

namespace brokergw::sim {
namespace {

constexpr std::array<std::pair<std::string_view, char>, 4> kSideNames{{
    {"buy", kSideBuy},
    {"sell", kSideSell},
    {"sell_short", kSideSellShort},
    {"sell_short_exempt", kSideSellShortExempt},
}};

constexpr std::array<std::pair<std::string_view, ActionKind>, 4> kActionNames{{
    {"fill", ActionKind::kFill},
    {"reject", ActionKind::kReject},
    {"ack", ActionKind::kAck},
    {"silent", ActionKind::kSilent},
}};

constexpr std::array<std::pair<std::string_view, DuplicateReports>, 4> kDuplicateNames{{
    {"none", DuplicateReports::kNone},
    {"plain", DuplicateReports::kPlain},
    {"possdup", DuplicateReports::kPossDup},
    {"both", DuplicateReports::kBoth},
}};

constexpr std::array<std::pair<std::string_view, DisconnectMode>, 3> kDisconnectNames{{
    {"none", DisconnectMode::kNone},
    {"before_placing", DisconnectMode::kBeforePlacing},
    {"after_placing", DisconnectMode::kAfterPlacing},
}};

constexpr std::array<std::pair<std::string_view, FieldOrder>, 3> kFieldOrderNames{{
    {"tag", FieldOrder::kTag},
    {"reversed", FieldOrder::kReversed},
    {"extra_first", FieldOrder::kExtraFirst},
}};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, Enum>, N>& names,
                         Enum value) {
  for (const auto& [n, v] : names) {
    if (v == value) return n;
  }
  return "?";
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<std::string_view, Enum>, N>& names,
                             std::string_view name) {
  for (const auto& [n, v] : names) {
    if (n == name) return v;
  }
  return std::nullopt;
}

Plan reject_plan(const Action& action, std::string text, int ord_rej_reason) {
  Step step;
  step.kind = StepKind::kReject;
  step.at_ms = action.ack_delay_ms;
  step.text = std::move(text);
  step.ord_rej_reason = ord_rej_reason;
  step.skip_seq_after = action.skip_seq_after;
  return Plan{{std::move(step)}, {}};
}

Step ack_step(const Action& action) {
  Step step;
  step.kind = StepKind::kAck;
  step.at_ms = action.ack_delay_ms;
  step.skip_seq_after = action.skip_seq_after;
  return step;
}

constexpr int kOrdRejReasonOther = 99;

// FIX 4.4's standard header (with the NoHops group) and trailer.
constexpr std::array kHeaderTrailerTags{8,   9,   35,  49,  56,  115, 128, 90,  91, 50, 142,
                                        57,  143, 116, 144, 129, 145, 34,  43,  97, 52, 122,
                                        212, 213, 347, 369, 627, 628, 629, 630, 93, 89, 10};

// Every tag sim/fix_app.cpp's ExecutionReport builder writes.
constexpr std::array<std::pair<int, std::string_view>, 26> kReportTags{{
    {1, "Account"},
    {6, "AvgPx"},
    {11, "ClOrdID"},
    {14, "CumQty"},
    {17, "ExecID"},
    {19, "ExecRefID"},
    {31, "LastPx"},
    {32, "LastQty"},
    {37, "OrderID"},
    {38, "OrderQty"},
    {39, "OrdStatus"},
    {40, "OrdType"},
    {41, "OrigClOrdID"},
    {44, "Price"},
    {54, "Side"},
    {55, "Symbol"},
    {58, "Text"},
    {60, "TransactTime"},
    {103, "OrdRejReason"},
    {150, "ExecType"},
    {151, "LeavesQty"},
    {378, "ExecRestatementReason"},
    {584, "MassStatusReqID"},
    {790, "OrdStatusReqID"},
    {911, "TotNumReports"},
    {912, "LastRptRequested"},
}};

}  // namespace

std::optional<std::string> extra_tag_refusal(int tag) {
  if (tag < 1) return "tag numbers start at 1";
  for (int t : kHeaderTrailerTags) {
    if (t == tag) return "tag " + std::to_string(tag) + " is a standard header or trailer field";
  }
  for (const auto& [t, name] : kReportTags) {
    if (t == tag) {
      return std::string(name) + "(" + std::to_string(tag) + ") is written by the simulator itself";
    }
  }
  return std::nullopt;
}

std::optional<char> side_from_name(std::string_view name) {
  for (const auto& [n, code] : kSideNames) {
    if (n == name) return code;
  }
  return std::nullopt;
}

std::string_view action_name(ActionKind kind) { return name_of(kActionNames, kind); }

std::optional<ActionKind> action_from_name(std::string_view name) {
  return value_of(kActionNames, name);
}

std::string_view duplicate_reports_name(DuplicateReports mode) {
  return name_of(kDuplicateNames, mode);
}

std::optional<DuplicateReports> duplicate_reports_from_name(std::string_view name) {
  return value_of(kDuplicateNames, name);
}

std::string_view field_order_name(FieldOrder order) { return name_of(kFieldOrderNames, order); }

std::optional<FieldOrder> field_order_from_name(std::string_view name) {
  return value_of(kFieldOrderNames, name);
}

std::string_view disconnect_mode_name(DisconnectMode mode) {
  return name_of(kDisconnectNames, mode);
}

std::optional<DisconnectMode> disconnect_mode_from_name(std::string_view name) {
  return value_of(kDisconnectNames, name);
}

bool matches(const Match& match, const OrderFacts& order) {
  if (match.symbol && *match.symbol != order.symbol) return false;
  if (match.account && *match.account != order.account) return false;
  if (match.side && *match.side != order.side) return false;
  if (match.min_qty && order.qty < *match.min_qty) return false;
  if (match.max_qty && order.qty > *match.max_qty) return false;
  return true;
}

std::optional<std::size_t> find_rule(const std::vector<Rule>& rules, const OrderFacts& order) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (matches(rules[i].match, order)) return i;
  }
  return std::nullopt;
}

const Action& default_action() {
  static const Action kDefault{};
  return kDefault;
}

std::vector<Fixed> split_quantity(Fixed qty, int parts) {
  std::vector<Fixed> out;
  if (!qty.is_positive() || parts < 1) return out;
  const std::int64_t m = qty.mantissa();
  std::int64_t unit = 1;  // granularity in mantissa units: 10^(kScale - fraction digits)
  for (int i = qty.fraction_digits(); i < Fixed::kScale; ++i) unit *= 10;
  while (unit > 1 && m / unit < parts) unit /= 10;
  const std::int64_t units = m / unit;  // exact: unit divides m by construction
  const std::int64_t n = units < parts ? units : parts;
  const std::int64_t base = units / n;
  const std::int64_t extra = units % n;  // the first `extra` parts get one unit more
  out.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    out.push_back(Fixed::from_mantissa((base + (i < extra ? 1 : 0)) * unit));
  }
  return out;
}

Plan plan_order(const Action& action, const OrderFacts& order) {
  Plan plan;
  switch (action.kind) {
    case ActionKind::kSilent:
      return plan;
    case ActionKind::kReject:
      return reject_plan(action, action.reject_text, action.ord_rej_reason);
    case ActionKind::kAck:
      plan.steps.push_back(ack_step(action));
      return plan;
    case ActionKind::kFill:
      break;
  }

  const Fixed base_price =
      action.fill_price ? *action.fill_price : order.limit_price.value_or(kDefaultMarketPrice);
  const std::vector<Fixed> parts = split_quantity(order.qty, action.fills);
  plan.steps.push_back(ack_step(action));
  std::int64_t at_ms = action.ack_delay_ms;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto offset = checked_mul(action.price_step, static_cast<std::int64_t>(i));
    const auto price = offset ? checked_add(base_price, *offset) : std::nullopt;
    if (!price || !price->is_positive()) {
      return reject_plan(action,
                         "simulator rule: fill " + std::to_string(i + 1) + " of " +
                             std::to_string(parts.size()) + " would have a price <= 0 (price " +
                             base_price.to_string() + ", price_step " +
                             action.price_step.to_string() + ")",
                         kOrdRejReasonOther);
    }
    at_ms += action.fill_interval_ms;
    plan.steps.push_back(Step{StepKind::kFill, at_ms, parts[i], *price, {}, 0, false});
  }
  if (action.out_of_order) {
    // Reports leave as: last fill, ack, then the remaining fills from last to first. Step 0 is
    // the ack, steps 1..n the fills in their natural order.
    const std::size_t n = plan.steps.size() - 1;
    plan.send_order.push_back(n);
    plan.send_order.push_back(0);
    for (std::size_t i = n - 1; i >= 1; --i) plan.send_order.push_back(i);
  }
  return plan;
}

}  // namespace brokergw::sim
