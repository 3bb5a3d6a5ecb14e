// Wire names for the order enums, make_order and event names; see order.h.
#include "gateway/core/order.h"

#include <array>

namespace brokergw::core {
namespace {

// One table per enum, indexed by the enumerator's value, serves both directions so that
// to_string and from_string can never disagree.
constexpr std::array<std::string_view, 3> kSideNames = {"buy", "sell", "sell_short"};
constexpr std::array<std::string_view, 2> kOrderTypeNames = {"market", "limit"};
constexpr std::array<std::string_view, 4> kTimeInForceNames = {"day", "gtc", "ioc", "fok"};
constexpr std::array<std::string_view, kOrderStateCount> kOrderStateNames = {
    "pending_new",     "new",      "partially_filled", "filled",  "pending_cancel",    "canceled",
    "pending_replace", "replaced", "rejected",         "expired", "unknown_at_broker",
};
constexpr std::array<std::string_view, kOrderEventCount> kEventNames = {
    "send_attempt",
    "ack",
    "fill",
    "reject",
    "cancel_requested",
    "canceled",
    "cancel_rejected",
    "replace_requested",
    "replaced",
    "replace_rejected",
    "expired",
    "timeout",
    "status",
    "bust",
    "correction",
    "restated",
};
static_assert(std::variant_size_v<OrderEvent> == kOrderEventCount);
static_assert(static_cast<int>(OrderState::kUnknownAtBroker) + 1 == kOrderStateCount);
static_assert(static_cast<int>(Side::kSellShort) + 1 == kSideNames.size());
static_assert(static_cast<int>(OrderType::kLimit) + 1 == kOrderTypeNames.size());
static_assert(static_cast<int>(TimeInForce::kFok) + 1 == kTimeInForceNames.size());

template <typename E, std::size_t N>
std::string_view name_of(E v, const std::array<std::string_view, N>& names) {
  const auto i = static_cast<std::size_t>(v);
  return i < N ? names[i] : std::string_view{"invalid"};
}

template <typename E, std::size_t N>
std::optional<E> value_of(std::string_view s, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

bool is_terminal(OrderState s) {
  switch (s) {
    case OrderState::kFilled:
    case OrderState::kCanceled:
    case OrderState::kReplaced:
    case OrderState::kRejected:
    case OrderState::kExpired:
      return true;
    case OrderState::kPendingNew:
    case OrderState::kNew:
    case OrderState::kPartiallyFilled:
    case OrderState::kPendingCancel:
    case OrderState::kPendingReplace:
    case OrderState::kUnknownAtBroker:
      return false;
  }
  return false;
}

std::string_view to_string(Side v) { return name_of(v, kSideNames); }
std::string_view to_string(OrderType v) { return name_of(v, kOrderTypeNames); }
std::string_view to_string(TimeInForce v) { return name_of(v, kTimeInForceNames); }
std::string_view to_string(OrderState v) { return name_of(v, kOrderStateNames); }

std::optional<Side> side_from_string(std::string_view s) { return value_of<Side>(s, kSideNames); }
std::optional<OrderType> order_type_from_string(std::string_view s) {
  return value_of<OrderType>(s, kOrderTypeNames);
}
std::optional<TimeInForce> time_in_force_from_string(std::string_view s) {
  return value_of<TimeInForce>(s, kTimeInForceNames);
}
std::optional<OrderState> order_state_from_string(std::string_view s) {
  return value_of<OrderState>(s, kOrderStateNames);
}

Order make_order(const NewOrderRequest& request, TimestampUs now_us) {
  Order order;
  order.request = request;
  order.state = OrderState::kPendingNew;
  order.state_before_pending = OrderState::kPendingNew;
  order.leaves_qty = request.quantity;
  order.created_us = now_us;
  order.updated_us = now_us;
  order.history.push_back(Transition{now_us, OrderState::kPendingNew, "created"});
  return order;
}

std::string_view event_name(const OrderEvent& ev) {
  // A variant left valueless by an exception has index() == variant_npos.
  return ev.index() < kEventNames.size() ? kEventNames[ev.index()] : std::string_view{"invalid"};
}

}  // namespace brokergw::core
