// Unit tests for gateway/core/order.h: wire names of the enums, terminal states, make_order and
// event names.
#include "gateway/core/order.h"

#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace brokergw::core {
namespace {

TEST(OrderNames, SideWireNames) {
  EXPECT_EQ(to_string(Side::kBuy), "buy");
  EXPECT_EQ(to_string(Side::kSell), "sell");
  EXPECT_EQ(to_string(Side::kSellShort), "sell_short");
  for (Side v : {Side::kBuy, Side::kSell, Side::kSellShort}) {
    EXPECT_EQ(side_from_string(to_string(v)), v);
  }
}

TEST(OrderNames, OrderTypeWireNames) {
  EXPECT_EQ(to_string(OrderType::kMarket), "market");
  EXPECT_EQ(to_string(OrderType::kLimit), "limit");
  for (OrderType v : {OrderType::kMarket, OrderType::kLimit}) {
    EXPECT_EQ(order_type_from_string(to_string(v)), v);
  }
}

TEST(OrderNames, TimeInForceWireNames) {
  EXPECT_EQ(to_string(TimeInForce::kDay), "day");
  EXPECT_EQ(to_string(TimeInForce::kGtc), "gtc");
  EXPECT_EQ(to_string(TimeInForce::kIoc), "ioc");
  EXPECT_EQ(to_string(TimeInForce::kFok), "fok");
  for (TimeInForce v :
       {TimeInForce::kDay, TimeInForce::kGtc, TimeInForce::kIoc, TimeInForce::kFok}) {
    EXPECT_EQ(time_in_force_from_string(to_string(v)), v);
  }
}

TEST(OrderNames, OrderStateWireNames) {
  const std::pair<OrderState, const char*> names[] = {
      {OrderState::kPendingNew, "pending_new"},
      {OrderState::kNew, "new"},
      {OrderState::kPartiallyFilled, "partially_filled"},
      {OrderState::kFilled, "filled"},
      {OrderState::kPendingCancel, "pending_cancel"},
      {OrderState::kCanceled, "canceled"},
      {OrderState::kPendingReplace, "pending_replace"},
      {OrderState::kReplaced, "replaced"},
      {OrderState::kRejected, "rejected"},
      {OrderState::kExpired, "expired"},
      {OrderState::kUnknownAtBroker, "unknown_at_broker"},
  };
  ASSERT_EQ(std::size(names), static_cast<std::size_t>(kOrderStateCount));
  std::set<std::string> seen;
  for (const auto& [state, name] : names) {
    EXPECT_EQ(to_string(state), name);
    EXPECT_EQ(order_state_from_string(name), state);
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), std::size(names));  // names are distinct
}

TEST(OrderNames, UnknownNamesAreRefused) {
  // Wire names are exact: no case folding, no dashes, no FIX codes, no padding.
  for (const char* bad : {"", "BUY", "Buy", "short", "sell-short", "1", " buy", "buy "}) {
    EXPECT_FALSE(side_from_string(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "MARKET", "stop", "2", "lmt"}) {
    EXPECT_FALSE(order_type_from_string(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "GTC", "gtd", "0", "good_till_cancel"}) {
    EXPECT_FALSE(time_in_force_from_string(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "PENDING_NEW", "pending-new", "pendingnew", "A", "unknown", "done"}) {
    EXPECT_FALSE(order_state_from_string(bad).has_value()) << bad;
  }
  // An enumerator value outside the enum (a corrupt record) still prints something.
  EXPECT_EQ(to_string(static_cast<OrderState>(99)), "invalid");
}

TEST(OrderState, TerminalStates) {
  for (int i = 0; i < kOrderStateCount; ++i) {
    const auto s = static_cast<OrderState>(i);
    const bool expected = s == OrderState::kFilled || s == OrderState::kCanceled ||
                          s == OrderState::kReplaced || s == OrderState::kRejected ||
                          s == OrderState::kExpired;
    EXPECT_EQ(is_terminal(s), expected) << to_string(s);
  }
}

NewOrderRequest sample_request() {
  NewOrderRequest r;
  r.client_order_id = "CL-1";
  r.account = "ACC-7";
  r.broker = "broker-a";
  r.symbol = "AAPL";
  r.side = Side::kSellShort;
  r.quantity = Qty{*Decimal::parse("150.5")};
  r.order_type = OrderType::kLimit;
  r.limit_price = Price{*Decimal::parse("187.25")};
  r.time_in_force = TimeInForce::kGtc;
  return r;
}

TEST(MakeOrder, BuildsPendingNewOrder) {
  const NewOrderRequest req = sample_request();
  const Order o = make_order(req, 1'000);
  EXPECT_EQ(o.request, req);
  EXPECT_EQ(o.state, OrderState::kPendingNew);
  EXPECT_EQ(o.state_before_pending, OrderState::kPendingNew);
  EXPECT_EQ(o.cum_qty, Qty{});
  EXPECT_EQ(o.leaves_qty, req.quantity);
  EXPECT_TRUE(o.cum_notional == 0);
  EXPECT_EQ(o.avg_price, Price{});
  EXPECT_TRUE(o.broker_order_id.empty());
  EXPECT_TRUE(o.cancel_id.empty());
  EXPECT_TRUE(o.reject_reason.empty());
  EXPECT_EQ(o.send_attempts, 0U);
  EXPECT_FALSE(o.acknowledged);
  EXPECT_EQ(o.created_us, 1'000);
  EXPECT_EQ(o.updated_us, 1'000);
  ASSERT_EQ(o.history.size(), 1U);
  EXPECT_EQ(o.history[0], (Transition{1'000, OrderState::kPendingNew, "created"}));
}

TEST(MakeOrder, IdempotentRequestsCompareByParsedValue) {
  NewOrderRequest a = sample_request();
  NewOrderRequest b = sample_request();
  b.quantity = Qty{*Decimal::parse("150.50000")};
  EXPECT_EQ(a, b);
  b.symbol = "MSFT";
  EXPECT_NE(a, b);
  EXPECT_EQ(make_order(a, 5), make_order(a, 5));
  EXPECT_NE(make_order(a, 5), make_order(a, 6));
}

TEST(EventNames, EveryAlternativeHasItsName) {
  const std::pair<OrderEvent, const char*> events[] = {
      {EvSendAttempt{}, "send_attempt"},
      {EvAck{}, "ack"},
      {EvFill{}, "fill"},
      {EvReject{}, "reject"},
      {EvCancelRequested{}, "cancel_requested"},
      {EvCanceled{}, "canceled"},
      {EvCancelRejected{}, "cancel_rejected"},
      {EvReplaceRequested{}, "replace_requested"},
      {EvReplaced{}, "replaced"},
      {EvReplaceRejected{}, "replace_rejected"},
      {EvExpired{}, "expired"},
      {EvTimeout{}, "timeout"},
      {EvStatus{}, "status"},
      {EvBust{}, "bust"},
      {EvCorrect{}, "correction"},
      {EvRestated{}, "restated"},
  };
  static_assert(std::variant_size_v<OrderEvent> == kOrderEventCount);
  ASSERT_EQ(std::size(events), static_cast<std::size_t>(kOrderEventCount));
  for (std::size_t i = 0; i < std::size(events); ++i) {
    // The variant index is stable (the store keeps it): the table is in index order.
    EXPECT_EQ(events[i].first.index(), i);
    EXPECT_EQ(event_name(events[i].first), events[i].second);
  }
}

}  // namespace
}  // namespace brokergw::core
