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

Plan reject_plan(const Action& action, std::string text, int ord_rej_reason) {
  Step step;
  step.kind = StepKind::kReject;
  step.at_ms = action.ack_delay_ms;
  step.text = std::move(text);
  step.ord_rej_reason = ord_rej_reason;
  return Plan{{std::move(step)}};
}

constexpr int kOrdRejReasonOther = 99;

}  // namespace

std::optional<char> side_from_name(std::string_view name) {
  for (const auto& [n, code] : kSideNames) {
    if (n == name) return code;
  }
  return std::nullopt;
}

std::string_view action_name(ActionKind kind) {
  for (const auto& [n, k] : kActionNames) {
    if (k == kind) return n;
  }
  return "?";
}

std::optional<ActionKind> action_from_name(std::string_view name) {
  for (const auto& [n, k] : kActionNames) {
    if (n == name) return k;
  }
  return std::nullopt;
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
      plan.steps.push_back(Step{StepKind::kAck, action.ack_delay_ms, {}, {}, {}, 0});
      return plan;
    case ActionKind::kFill:
      break;
  }

  const Fixed base_price =
      action.fill_price ? *action.fill_price : order.limit_price.value_or(kDefaultMarketPrice);
  const std::vector<Fixed> parts = split_quantity(order.qty, action.fills);
  plan.steps.push_back(Step{StepKind::kAck, action.ack_delay_ms, {}, {}, {}, 0});
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
    plan.steps.push_back(Step{StepKind::kFill, at_ms, parts[i], *price, {}, 0});
  }
  return plan;
}

}  // namespace brokergw::sim
