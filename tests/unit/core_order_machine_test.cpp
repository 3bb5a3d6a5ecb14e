// Unit tests for gateway/core/order_machine.h: every state against every event (the table below
// is meant to be reviewed line by line against the header's rules), then scenarios.
#include "gateway/core/order_machine.h"

#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace brokergw::core {
namespace {

constexpr TimestampUs kT0 = 1'700'000'000'000'000;
constexpr TimestampUs kNow = kT0 + 999'000;

Qty q(std::string_view s) { return Qty{*Decimal::parse(s)}; }
Price px(std::string_view s) { return Price{*Decimal::parse(s)}; }

NewOrderRequest request(std::string_view quantity = "100") {
  NewOrderRequest r;
  r.client_order_id = "CL-1";
  r.account = "ACC-1";
  r.broker = "broker-a";
  r.symbol = "AAPL";
  r.side = Side::kBuy;
  r.quantity = q(quantity);
  r.order_type = OrderType::kLimit;
  r.limit_price = px("101");
  return r;
}

EvFill trade(std::string_view qty, std::string_view price, std::string exec_id = "E",
             std::string broker_order_id = "B-1") {
  return EvFill{std::move(exec_id), std::move(broker_order_id), q(qty), px(price)};
}

// Applies an event that must be accepted; a refusal is a test failure and returns `o` as is.
Order must(const Order& o, const OrderEvent& ev, TimestampUs at = kT0) {
  auto r = apply(o, ev, at);
  if (!r) {
    ADD_FAILURE() << event_name(ev) << " refused: " << r.error().detail;
    return o;
  }
  return std::move(r->order);
}

// ---- Every state against every event -------------------------------------------------------

// Columns, in variant index order.
enum Col {
  kSend,
  kAck,
  kFill,
  kReject,
  kCxlReq,
  kCanceled,
  kCxlRej,
  kRplReq,
  kReplaced,
  kRplRej,
  kExpired,
  kTimeout,
  kStatus,
  kBust,
  kCorrect,
  kRestated,
};

// The event used in each column. Orders have quantity 100; the Fill adds 10 @ 101; the Status
// reports partially_filled with cum 40 @ 101.
OrderEvent column_event(int col) {
  switch (col) {
    case kSend:
      return EvSendAttempt{};
    case kAck:
      return EvAck{"B-1"};
    case kFill:
      return trade("10", "101", "E-T");
    case kReject:
      return EvReject{"unknown symbol"};
    case kCxlReq:
      return EvCancelRequested{"C-T"};
    case kCanceled:
      return EvCanceled{"client request"};
    case kCxlRej:
      return EvCancelRejected{"too late"};
    case kRplReq:
      return EvReplaceRequested{"R-T"};
    case kReplaced:
      return EvReplaced{};
    case kRplRej:
      return EvReplaceRejected{"not allowed"};
    case kExpired:
      return EvExpired{};
    case kTimeout:
      return EvTimeout{};
    case kStatus:
      return EvStatus{OrderState::kPartiallyFilled, "B-1", q("40"), px("101")};
    case kBust:
      return EvBust{"E-B", q("10"), px("100")};
    case kCorrect:
      return EvCorrect{"E-C", q("10"), px("100"), q("5"), px("100")};
    default:
      return EvRestated{"corporate action"};
  }
}

// Drives a fresh order (quantity 100) into `s` through legal events only.
//   PendingNew: created. New: ack B-1. PartiallyFilled: ack, fill 30 @ 100. Filled: ack,
//   fill 100 @ 100. PendingCancel/PendingReplace: ack, request (state_before_pending = New).
//   Canceled/Replaced: the pending one, then confirmed. Rejected: rejected while pending new
//   (never acknowledged). Expired: ack, expired. UnknownAtBroker: pending new timed out.
Order order_in(OrderState s) {
  Order o = make_order(request(), kT0 - 1000);
  const auto acked = [&] { o = must(o, EvAck{"B-1"}, kT0 - 900); };
  switch (s) {
    case OrderState::kPendingNew:
      break;
    case OrderState::kNew:
      acked();
      break;
    case OrderState::kPartiallyFilled:
      acked();
      o = must(o, trade("30", "100"));
      break;
    case OrderState::kFilled:
      acked();
      o = must(o, trade("100", "100"));
      break;
    case OrderState::kPendingCancel:
      acked();
      o = must(o, EvCancelRequested{"C-1"});
      break;
    case OrderState::kCanceled:
      acked();
      o = must(must(o, EvCancelRequested{"C-1"}), EvCanceled{""});
      break;
    case OrderState::kPendingReplace:
      acked();
      o = must(o, EvReplaceRequested{"R-1"});
      break;
    case OrderState::kReplaced:
      acked();
      o = must(must(o, EvReplaceRequested{"R-1"}), EvReplaced{});
      break;
    case OrderState::kRejected:
      o = must(o, EvReject{"bad"});
      break;
    case OrderState::kExpired:
      acked();
      o = must(o, EvExpired{});
      break;
    case OrderState::kUnknownAtBroker:
      o = must(o, EvTimeout{});
      break;
  }
  EXPECT_EQ(o.state, s) << "helper could not reach " << to_string(s);
  return o;
}

// Expected outcome of one cell.
struct Outcome {
  enum Kind { kTo, kSame, kRefused } kind;
  OrderState state = OrderState::kPendingNew;       // kTo: the resulting state
  RefusalReason reason = RefusalReason::kOverFill;  // kRefused: the exact reason
  const char* anomaly = "";                         // kTo: ApplyResult::anomaly
};
// Applied, and the order changed (possibly without a state change), ending in `s`.
constexpr Outcome To(OrderState s, const char* anomaly = "") {
  return Outcome{Outcome::kTo, s, RefusalReason::kOverFill, anomaly};
}
// Applied as a no-op: the order comes back identical.
constexpr Outcome Same{Outcome::kSame};
constexpr Outcome Refused(RefusalReason r) {
  return Outcome{Outcome::kRefused, OrderState::kPendingNew, r, ""};
}

constexpr OrderState PendingNew = OrderState::kPendingNew;
constexpr OrderState New = OrderState::kNew;
constexpr OrderState PartFilled = OrderState::kPartiallyFilled;
constexpr OrderState PendCancel = OrderState::kPendingCancel;
constexpr OrderState Canceled = OrderState::kCanceled;
constexpr OrderState PendReplace = OrderState::kPendingReplace;
constexpr OrderState Replaced = OrderState::kReplaced;
constexpr OrderState Rejected = OrderState::kRejected;
constexpr OrderState Expired = OrderState::kExpired;
constexpr OrderState Unknown = OrderState::kUnknownAtBroker;
constexpr Outcome Unexpected = Refused(RefusalReason::kUnexpectedEvent);
constexpr Outcome OverFill = Refused(RefusalReason::kOverFill);
constexpr Outcome NotCancelable = Refused(RefusalReason::kNotCancelable);
constexpr Outcome InFlight = Refused(RefusalReason::kCancelInFlight);
constexpr Outcome NotReplaceable = Refused(RefusalReason::kNotReplaceable);
constexpr Outcome Invalid = Refused(RefusalReason::kInvalidFill);

// Rows in OrderState order, columns in event order (see Col). Read a row left to right against
// the rules in order_machine.h.
// clang-format off
constexpr std::array<std::array<Outcome, kOrderEventCount>, kOrderStateCount> kTable = {{
//          Send            Ack              Fill(10)                           Reject           CxlReq              Canceled         CxlRej          RplReq              Replaced        RplRej           Expired        Timeout       Status(PF,40)  Bust(10)        Correct(10->5)  Restated
/*PendNew*/ {{To(PendingNew), To(New),        To(PartFilled),                    To(Rejected),    To(PendCancel),     To(Canceled),    Unexpected,     NotReplaceable,     Unexpected,     Unexpected,      To(Expired),   To(Unknown),  To(New),       Invalid,        Invalid,        Same}},
/*New    */ {{Unexpected,     Same,           To(PartFilled),                    Unexpected,      To(PendCancel),     To(Canceled),    Unexpected,     To(PendReplace),    Unexpected,     Unexpected,      To(Expired),   Same,         Same,          Invalid,        Invalid,        Same}},
/*PartFil*/ {{Unexpected,     Same,           To(PartFilled),                    Unexpected,      To(PendCancel),     To(Canceled),    Unexpected,     To(PendReplace),    Unexpected,     Unexpected,      To(Expired),   Same,         Same,          To(PartFilled), To(PartFilled), Same}},
/*Filled */ {{Unexpected,     Same,           OverFill,                          Unexpected,      NotCancelable,      Unexpected,      Same,           NotReplaceable,     Same,           Same,            Unexpected,    Same,         Same,          To(PartFilled), To(PartFilled), Same}},
/*PendCxl*/ {{Unexpected,     Same,           To(PendCancel),                    Unexpected,      InFlight,           To(Canceled),    To(New),        NotReplaceable,     Unexpected,     Unexpected,      To(Expired),   To(Unknown),  Same,          Invalid,        Invalid,        Same}},
/*Canceled*/{{Unexpected,     Same,           To(Canceled, "fill_after_canceled"), Unexpected,    NotCancelable,      Same,            Same,           NotReplaceable,     Same,           Same,            Unexpected,    Same,         Same,          Invalid,        Invalid,        Same}},
/*PendRpl*/ {{Unexpected,     Same,           To(PendReplace),                   Unexpected,      InFlight,           To(Canceled),    Unexpected,     NotReplaceable,     To(Replaced),   To(New),         To(Expired),   To(Unknown),  Same,          Invalid,        Invalid,        Same}},
/*Replaced*/{{Unexpected,     Same,           To(Replaced, "fill_after_replaced"), Unexpected,    NotCancelable,      Unexpected,      Same,           NotReplaceable,     Same,           Same,            Unexpected,    Same,         Same,          Invalid,        Invalid,        Same}},
/*Rejected*/{{Unexpected,     To(Rejected),   To(Rejected, "fill_after_rejected"), Same,          NotCancelable,      Unexpected,      Same,           NotReplaceable,     Same,           Same,            Unexpected,    Same,         To(Rejected),  Invalid,        Invalid,        Same}},
/*Expired*/ {{Unexpected,     Same,           To(Expired, "fill_after_expired"), Unexpected,      NotCancelable,      Unexpected,      Same,           NotReplaceable,     Same,           Same,            Same,          Same,         Same,          Invalid,        Invalid,        Same}},
/*Unknown*/ {{To(Unknown),    To(New),        To(PartFilled),                    To(Rejected),    To(PendCancel),     To(Canceled),    Unexpected,     NotReplaceable,     Unexpected,     Unexpected,      To(Expired),   Same,         To(New),       Invalid,        Invalid,        Same}},
}};
// clang-format on
// Notes on cells that are not obvious from the rule names:
//  * Rejected x Ack is To(Rejected), not Same: the late ack records broker_order_id and
//    acknowledged on an order that never had them.
//  * No cell ends in Filled (the column fill is 10 of 100); completing fills, in live and in
//    pending states, are covered by the scenarios below.
//  * Status never books the broker's CumQty (40 here) as fills: it only moves the state where
//    the rules adopt it (PendingNew, Unknown -> New: acknowledged with no fills of ours) and
//    records what a never-acknowledged order lacked (Rejected).
//  * Bust and Correct need a booked fill of at least 10: only PartiallyFilled (30) and Filled
//    (100) have one; a Filled order busted or corrected to less is live again.

class EveryStateEveryEvent : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(EveryStateEveryEvent, MatchesTable) {
  const auto [row, col] = GetParam();
  const auto from = static_cast<OrderState>(row);
  const Outcome want = kTable[row][col];
  const Order before = order_in(from);
  const Order copy = before;
  const OrderEvent ev = column_event(col);
  ASSERT_EQ(ev.index(), static_cast<std::size_t>(col));

  const auto r = apply(before, ev, kNow);
  EXPECT_EQ(before, copy);  // apply never touches its input
  switch (want.kind) {
    case Outcome::kRefused:
      ASSERT_FALSE(r.has_value()) << "applied, ended in " << to_string(r->order.state);
      EXPECT_EQ(r.error().reason, want.reason) << to_string(r.error().reason);
      // The detail names the event and the state, for the operator.
      EXPECT_NE(r.error().detail.find(event_name(ev)), std::string::npos) << r.error().detail;
      EXPECT_NE(r.error().detail.find(to_string(from)), std::string::npos) << r.error().detail;
      break;
    case Outcome::kSame:
      ASSERT_TRUE(r.has_value()) << to_string(r.error().reason) << ": " << r.error().detail;
      EXPECT_EQ(r->order, before) << "expected a no-op, got state " << to_string(r->order.state);
      EXPECT_FALSE(r->state_changed);
      EXPECT_EQ(r->anomaly, "");
      break;
    case Outcome::kTo:
      ASSERT_TRUE(r.has_value()) << to_string(r.error().reason) << ": " << r.error().detail;
      EXPECT_EQ(r->order.state, want.state) << to_string(r->order.state);
      EXPECT_EQ(r->state_changed, want.state != from);
      EXPECT_EQ(r->anomaly, want.anomaly);
      EXPECT_NE(r->order, before) << "expected a change";
      EXPECT_EQ(r->order.updated_us, kNow);
      if (r->state_changed || r->order.cum_qty != before.cum_qty) {
        ASSERT_EQ(r->order.history.size(), before.history.size() + 1);
        EXPECT_EQ(r->order.history.back().at_us, kNow);
        EXPECT_EQ(r->order.history.back().state, want.state);
      } else {
        EXPECT_EQ(r->order.history, before.history);
      }
      break;
  }
}

std::string cell_name(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
  const auto [row, col] = info.param;
  std::string name = std::string(to_string(static_cast<OrderState>(row))) + "_x_" +
                     std::string(event_name(column_event(col)));
  return name;
}

INSTANTIATE_TEST_SUITE_P(Core, EveryStateEveryEvent,
                         ::testing::Combine(::testing::Range(0, kOrderStateCount),
                                            ::testing::Range(0, kOrderEventCount)),
                         cell_name);

// ---- Scenarios -------------------------------------------------------------------------------

std::vector<std::string> reasons(const Order& o) {
  std::vector<std::string> out;
  for (const auto& t : o.history) out.push_back(t.reason);
  return out;
}

TEST(OrderScenario, AckPartialFillsFilledWithExactAveragePrice) {
  Order o = make_order(request("100"), kT0);
  o = must(o, EvSendAttempt{}, kT0 + 1);
  EXPECT_EQ(o.send_attempts, 1U);
  o = must(o, EvAck{"B-7"}, kT0 + 2);
  EXPECT_EQ(o.state, OrderState::kNew);
  EXPECT_EQ(o.broker_order_id, "B-7");

  o = must(o, trade("30", "100.10", "E1", "B-7"), kT0 + 3);
  EXPECT_EQ(o.state, OrderState::kPartiallyFilled);
  EXPECT_EQ(o.cum_qty, q("30"));
  EXPECT_EQ(o.leaves_qty, q("70"));
  EXPECT_EQ(o.avg_price, px("100.1"));

  o = must(o, trade("50", "100.20", "E2", "B-7"), kT0 + 4);
  EXPECT_EQ(o.state, OrderState::kPartiallyFilled);
  EXPECT_EQ(o.leaves_qty, q("20"));
  EXPECT_EQ(o.avg_price, px("100.1625"));  // (3003 + 5010) / 80

  const auto r = apply(o, trade("20", "100.35", "E3", "B-7"), kT0 + 5);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->state_changed);
  o = r->order;
  EXPECT_EQ(o.state, OrderState::kFilled);
  EXPECT_EQ(o.cum_qty, q("100"));
  EXPECT_EQ(o.leaves_qty, q("0"));
  EXPECT_EQ(notional_to_string(o.cum_notional), "100200000000000000000");  // 10020 at scale 16
  EXPECT_EQ(o.avg_price, px("100.2"));
  EXPECT_EQ(o.updated_us, kT0 + 5);
  EXPECT_EQ(reasons(o),
            (std::vector<std::string>{"created", "ack", "fill 30@100.1 exec E1",
                                      "fill 50@100.2 exec E2", "fill 20@100.35 exec E3"}));
}

TEST(OrderScenario, AveragePriceRoundsHalfUp) {
  Order o = must(make_order(request("3"), kT0), EvAck{"B-1"});
  o = must(o, trade("1", "1"));
  o = must(o, trade("2", "2"));
  EXPECT_EQ(o.avg_price, px("1.66666667"));
  EXPECT_EQ(o.state, OrderState::kFilled);

  Order tiny = must(make_order(request("2"), kT0), EvAck{"B-1"});
  tiny = must(tiny, trade("1", "0.00000001"));
  tiny = must(tiny, trade("1", "0"));           // a zero price is a valid fill
  EXPECT_EQ(tiny.avg_price, px("0.00000001"));  // 0.000000005 rounds up
}

TEST(OrderScenario, CancelHappyPath) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("40", "10"));
  o = must(o, EvCancelRequested{"C-9"});
  EXPECT_EQ(o.state, OrderState::kPendingCancel);
  EXPECT_EQ(o.state_before_pending, OrderState::kPartiallyFilled);
  EXPECT_EQ(o.cancel_id, "C-9");
  EXPECT_EQ(o.leaves_qty, q("60"));  // still working until the broker confirms
  o = must(o, EvCanceled{"client request"});
  EXPECT_EQ(o.state, OrderState::kCanceled);
  EXPECT_EQ(o.leaves_qty, q("0"));
  EXPECT_EQ(o.cum_qty, q("40"));
  EXPECT_EQ(o.history.back().reason, "canceled: client request");
  // A duplicate cancel confirmation is a no-op; a new cancel request is the client's error.
  EXPECT_EQ(must(o, EvCanceled{"dup"}), o);
  EXPECT_EQ(apply(o, EvCancelRequested{"C-10"}, kNow).error().reason,
            RefusalReason::kNotCancelable);
}

TEST(OrderScenario, CancelRejectedReturnsToPartiallyFilled) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("40", "10"));
  o = must(o, EvCancelRequested{"C-1"});
  const auto r = apply(o, EvCancelRejected{"order not found"}, kNow);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->state_changed);
  EXPECT_EQ(r->order.state, OrderState::kPartiallyFilled);
  EXPECT_EQ(r->order.leaves_qty, q("60"));
  EXPECT_EQ(r->order.history.back().reason, "cancel_rejected: order not found");
}

TEST(OrderScenario, FillDuringPendingCancelThenCancelRejected) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, EvCancelRequested{"C-1"});
  EXPECT_EQ(o.state_before_pending, OrderState::kNew);
  o = must(o, trade("10", "10"));
  EXPECT_EQ(o.state, OrderState::kPendingCancel);
  EXPECT_EQ(o.state_before_pending, OrderState::kPartiallyFilled);
  EXPECT_EQ(o.leaves_qty, q("90"));
  o = must(o, EvCancelRejected{"no"});
  EXPECT_EQ(o.state, OrderState::kPartiallyFilled);
}

TEST(OrderScenario, CancelBeforeAckThenAckThenCancelRejected) {
  Order o = must(make_order(request(), kT0), EvCancelRequested{"C-1"});
  EXPECT_EQ(o.state_before_pending, OrderState::kPendingNew);
  o = must(o, EvAck{"B-1"});
  EXPECT_EQ(o.state, OrderState::kPendingCancel);
  EXPECT_EQ(o.state_before_pending, OrderState::kNew);
  o = must(o, EvCancelRejected{""});
  EXPECT_EQ(o.state, OrderState::kNew);
  EXPECT_EQ(o.history.back().reason, "cancel_rejected");
}

TEST(OrderScenario, TooLateToCancel) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("40", "10"));
  o = must(o, EvCancelRequested{"C-1"});
  o = must(o, trade("60", "11"));  // the rest fills while the cancel is on the wire
  EXPECT_EQ(o.state, OrderState::kFilled);
  EXPECT_EQ(o.leaves_qty, q("0"));
  EXPECT_EQ(o.avg_price, px("10.6"));

  const auto r = apply(o, EvCancelRejected{"too late to cancel"}, kNow);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->order, o);  // a no-op, history included
  EXPECT_FALSE(r->state_changed);
  EXPECT_EQ(apply(o, EvCanceled{""}, kNow).error().reason, RefusalReason::kUnexpectedEvent);
}

TEST(OrderScenario, OverFillIsRefusedAndNothingApplied) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("90", "10"));
  const Order before = o;
  const auto r = apply(o, trade("20", "10", "E-over"), kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, RefusalReason::kOverFill);
  EXPECT_TRUE(is_broker_anomaly(r.error().reason));
  EXPECT_NE(r.error().detail.find("exceeds quantity 100"), std::string::npos) << r.error().detail;
  EXPECT_EQ(o, before);
  // The exact remainder is still accepted.
  o = must(o, trade("10", "10"));
  EXPECT_EQ(o.state, OrderState::kFilled);
  // A status claiming more than the order is an over-fill too.
  EXPECT_EQ(apply(o, EvStatus{OrderState::kFilled, "B-1", q("100.00000001"), px("10")}, kNow)
                .error()
                .reason,
            RefusalReason::kOverFill);
}

TEST(OrderScenario, InvalidFillsAreRefused) {
  const Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  EXPECT_EQ(apply(o, trade("0", "10"), kNow).error().reason, RefusalReason::kInvalidFill);
  EXPECT_EQ(
      apply(o, EvFill{"E", "B-1", Qty{Decimal::from_mantissa(-1)}, px("10")}, kNow).error().reason,
      RefusalReason::kInvalidFill);
  EXPECT_EQ(
      apply(o, EvFill{"E", "B-1", q("1"), Price{Decimal::from_mantissa(-1)}}, kNow).error().reason,
      RefusalReason::kInvalidFill);
  // Invalid is checked before over-fill: a zero fill on a filled order is invalid.
  const Order filled = must(o, trade("100", "1"));
  EXPECT_EQ(apply(filled, trade("0", "1"), kNow).error().reason, RefusalReason::kInvalidFill);
}

TEST(OrderScenario, FillBeforeAckAndLateAckDoesNotMoveBack) {
  Order o = make_order(request(), kT0);
  o = must(o, trade("30", "10", "E1", "B-from-fill"));
  EXPECT_EQ(o.state, OrderState::kPartiallyFilled);
  EXPECT_TRUE(o.acknowledged);
  EXPECT_EQ(o.broker_order_id, "B-from-fill");
  const auto r = apply(o, EvAck{"B-from-ack"}, kNow);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->order, o);  // stale ack: no change, and the first broker id wins
  EXPECT_EQ(r->order.state, OrderState::kPartiallyFilled);

  Order done = must(make_order(request(), kT0), trade("100", "10"));
  EXPECT_EQ(done.state, OrderState::kFilled);
  EXPECT_EQ(must(done, EvAck{"B-1"}), done);
}

TEST(OrderScenario, FillAfterCanceledIsAppliedWithAnomaly) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("10", "10"));
  o = must(must(o, EvCancelRequested{"C-1"}), EvCanceled{""});
  const auto r = apply(o, trade("5", "12", "E-late"), kNow);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->anomaly, "fill_after_canceled");
  EXPECT_FALSE(r->state_changed);
  EXPECT_EQ(r->order.state, OrderState::kCanceled);
  EXPECT_EQ(r->order.cum_qty, q("15"));
  EXPECT_EQ(r->order.leaves_qty, q("0"));
  EXPECT_EQ(r->order.avg_price, px("10.66666667"));
  EXPECT_EQ(r->order.history.back(),
            (Transition{kNow, OrderState::kCanceled, "fill 5@12 exec E-late"}));
  // Fills are still bounded by the order quantity after a cancel.
  EXPECT_EQ(apply(r->order, trade("86", "1"), kNow).error().reason, RefusalReason::kOverFill);
}

TEST(OrderScenario, TimeoutUnknownThenStatusAdopted) {
  Order o = must(make_order(request(), kT0), EvSendAttempt{});
  o = must(o, EvTimeout{});
  EXPECT_EQ(o.state, OrderState::kUnknownAtBroker);
  EXPECT_EQ(o.state_before_pending, OrderState::kPendingNew);
  EXPECT_EQ(o.leaves_qty, q("100"));  // unknown is not failed: still working
  o = must(o, EvSendAttempt{});       // idempotent resend under the same ClOrdID
  EXPECT_EQ(o.send_attempts, 2U);
  EXPECT_EQ(must(o, EvTimeout{}), o);  // a second timer changes nothing

  // The broker says partially filled 25: the order is live and acknowledged, but 25 is not
  // booked from the total (fills_missing is the resolution rules' flag, not a fill).
  const auto r = apply(o, EvStatus{OrderState::kPartiallyFilled, "B-9", q("25"), px("50.5")}, kNow);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->state_changed);
  EXPECT_EQ(r->anomaly, "");
  EXPECT_EQ(r->order.state, OrderState::kNew);
  EXPECT_EQ(r->order.cum_qty, q("0"));
  EXPECT_EQ(r->order.leaves_qty, q("100"));
  EXPECT_EQ(r->order.avg_price, px("0"));
  EXPECT_TRUE(r->order.acknowledged);
  EXPECT_EQ(r->order.broker_order_id, "B-9");
  EXPECT_EQ(r->order.history.back().reason, "status: partially_filled");
}

TEST(OrderScenario, UnknownResolvedByStatusInEveryDirection) {
  const Order unknown = must(make_order(request(), kT0), EvTimeout{});
  EXPECT_EQ(must(unknown, EvStatus{OrderState::kNew, "B-1", q("0"), px("0")}).state,
            OrderState::kNew);
  const Order rejected = must(unknown, EvStatus{OrderState::kRejected, "", q("0"), px("0")});
  EXPECT_EQ(rejected.state, OrderState::kRejected);
  EXPECT_EQ(rejected.reject_reason, "rejected per broker status");
  EXPECT_EQ(rejected.leaves_qty, q("0"));
  // Filled at the broker, no fills here: live (New) until the fills arrive, never Filled.
  const Order filled = must(unknown, EvStatus{OrderState::kFilled, "B-1", q("100"), px("3")});
  EXPECT_EQ(filled.state, OrderState::kNew);
  EXPECT_EQ(filled.cum_qty, q("0"));
  const Order ours_filled = must(must(filled, trade("100", "3")),
                                 EvStatus{OrderState::kFilled, "B-1", q("100"), px("3")});
  EXPECT_EQ(ours_filled.state, OrderState::kFilled);
  // Broker still pending-new: we stay pending-new but know the broker has it.
  const Order pending = must(unknown, EvStatus{OrderState::kPendingNew, "", q("0"), px("0")});
  EXPECT_EQ(pending.state, OrderState::kPendingNew);
  EXPECT_TRUE(pending.acknowledged);
  // A pending cancel at the broker is adopted with the live state to come back to.
  const Order cxl = must(unknown, EvStatus{OrderState::kPendingCancel, "B-1", q("5"), px("3")});
  EXPECT_EQ(cxl.state, OrderState::kPendingCancel);
  EXPECT_EQ(cxl.state_before_pending, OrderState::kNew);
  EXPECT_EQ(cxl.cum_qty, q("0"));
}

TEST(OrderScenario, CancelTimeoutThenCanceled) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("10", "1"));
  o = must(must(o, EvCancelRequested{"C-1"}), EvTimeout{});
  EXPECT_EQ(o.state, OrderState::kUnknownAtBroker);
  EXPECT_EQ(o.state_before_pending, OrderState::kPendingCancel);
  EXPECT_EQ(o.leaves_qty, q("90"));
  o = must(o, EvCanceled{""});
  EXPECT_EQ(o.state, OrderState::kCanceled);
  EXPECT_EQ(o.cum_qty, q("10"));
}

TEST(OrderScenario, CancelRequestedWhileUnknownThenRejectedReturnsToUnknown) {
  Order o = must(make_order(request(), kT0), EvTimeout{});
  o = must(o, EvCancelRequested{"C-1"});
  EXPECT_EQ(o.state, OrderState::kPendingCancel);
  EXPECT_EQ(o.state_before_pending, OrderState::kUnknownAtBroker);
  o = must(o, EvCancelRejected{"unknown order"});
  EXPECT_EQ(o.state, OrderState::kUnknownAtBroker);
  EXPECT_EQ(o.state_before_pending, OrderState::kPendingNew);  // live_state: never acked
}

TEST(OrderScenario, StatusNeverLowersCum) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("40", "10"));
  const auto r = apply(o, EvStatus{OrderState::kPartiallyFilled, "B-1", q("20"), px("99")}, kNow);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->order, o);
  // Even when the broker's state is adopted (ours unknown), our fills stand.
  o = must(must(o, EvCancelRequested{"C-1"}), EvTimeout{});
  ASSERT_EQ(o.state, OrderState::kUnknownAtBroker);
  const Order resolved = must(o, EvStatus{OrderState::kNew, "B-1", q("0"), px("0")});
  EXPECT_EQ(resolved.state, OrderState::kPartiallyFilled);  // never back to New
  EXPECT_EQ(resolved.cum_qty, q("40"));
  EXPECT_EQ(resolved.avg_price, px("10"));
  // A terminal broker state is adopted, still without lowering cum.
  const Order canceled = must(o, EvStatus{OrderState::kCanceled, "B-1", q("30"), px("9")});
  EXPECT_EQ(canceled.state, OrderState::kCanceled);
  EXPECT_EQ(canceled.cum_qty, q("40"));
}

TEST(OrderScenario, StatusNeverBooksTheBrokersTotal) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  // A larger broker total is not a fill: the order is unchanged (the rules flag it).
  EXPECT_EQ(must(o, EvStatus{OrderState::kPartiallyFilled, "B-1", q("30"), px("2")}), o);
  // Ours pending cancel, broker says filled while we have no fills: still pending here.
  o = must(o, EvCancelRequested{"C-1"});
  const Order pc = must(o, EvStatus{OrderState::kFilled, "B-1", q("100"), px("2")});
  EXPECT_EQ(pc.state, OrderState::kPendingCancel);
  EXPECT_EQ(pc.cum_qty, q("0"));
  // With our own fills complete the broker's Filled is adopted.
  const Order filled =
      must(must(o, trade("100", "2")), EvStatus{OrderState::kFilled, "B-1", q("100"), px("2")});
  EXPECT_EQ(filled.state, OrderState::kFilled);
  EXPECT_EQ(filled.leaves_qty, q("0"));
}

TEST(OrderScenario, BustTakesBackExactlyTheBookedFill) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("30", "100.10", "E1"));
  o = must(o, trade("70", "100.20", "E2"));
  ASSERT_EQ(o.state, OrderState::kFilled);
  const Order busted = must(o, EvBust{"E2", q("70"), px("100.20")});
  EXPECT_EQ(busted.state, OrderState::kPartiallyFilled);  // live again: 70 to fill
  EXPECT_EQ(busted.cum_qty, q("30"));
  EXPECT_EQ(busted.leaves_qty, q("70"));
  EXPECT_EQ(busted.avg_price, px("100.1"));
  EXPECT_TRUE(busted.cum_notional == notional_of(q("30"), px("100.10")));
  EXPECT_EQ(busted.history.back().reason, "bust 70@100.2 exec E2");
  const Order none = must(busted, EvBust{"E1", q("30"), px("100.10")});
  EXPECT_EQ(none.state, OrderState::kNew);
  EXPECT_EQ(none.cum_qty, q("0"));
  EXPECT_EQ(none.avg_price, px("0"));
  EXPECT_EQ(apply(none, EvBust{"E1", q("30"), px("100.10")}, kNow).error().reason,
            RefusalReason::kInvalidFill);
  // A bust on a canceled order keeps it canceled (leaves stay 0).
  Order canceled = must(must(busted, EvCancelRequested{"C-1"}), EvCanceled{""});
  const Order cb = must(canceled, EvBust{"E1", q("30"), px("100.10")});
  EXPECT_EQ(cb.state, OrderState::kCanceled);
  EXPECT_EQ(cb.cum_qty, q("0"));
  EXPECT_EQ(cb.leaves_qty, q("0"));
}

TEST(OrderScenario, CorrectionReplacesTheBookedAmountsExactly) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("40", "10", "E1"));
  o = must(o, trade("60", "11", "E2"));
  ASSERT_EQ(o.state, OrderState::kFilled);
  // Price corrected: still filled, average exact: (40*10 + 60*10.5) / 100 = 10.3.
  const Order px_fix = must(o, EvCorrect{"E2", q("60"), px("11"), q("60"), px("10.5")});
  EXPECT_EQ(px_fix.state, OrderState::kFilled);
  EXPECT_EQ(px_fix.avg_price, px("10.3"));
  // Quantity corrected down: live again with 10 to fill.
  const Order less = must(o, EvCorrect{"E2", q("60"), px("11"), q("50"), px("11")});
  EXPECT_EQ(less.state, OrderState::kPartiallyFilled);
  EXPECT_EQ(less.cum_qty, q("90"));
  EXPECT_EQ(less.leaves_qty, q("10"));
  // Up beyond the order quantity: refused, nothing changes.
  EXPECT_EQ(apply(less, EvCorrect{"E1", q("40"), px("10"), q("51"), px("10")}, kNow).error().reason,
            RefusalReason::kOverFill);
  const Order up = must(less, EvCorrect{"E1", q("40"), px("10"), q("50"), px("10")});
  EXPECT_EQ(up.state, OrderState::kFilled);
  // The same amounts: nothing to do.
  EXPECT_EQ(must(up, EvCorrect{"E1", q("50"), px("10"), q("50"), px("10")}), up);
}

TEST(OrderScenario, MalformedStatusIsRefused) {
  const Order o = must(make_order(request(), kT0), EvTimeout{});
  EXPECT_EQ(apply(o, EvStatus{OrderState::kFilled, "B-1", q("40"), px("1")}, kNow).error().reason,
            RefusalReason::kInvalidFill);
  EXPECT_EQ(
      apply(o, EvStatus{OrderState::kNew, "B-1", Qty{Decimal::from_mantissa(-1)}, px("1")}, kNow)
          .error()
          .reason,
      RefusalReason::kInvalidFill);
  EXPECT_EQ(
      apply(o, EvStatus{OrderState::kNew, "B-1", q("1"), Price{Decimal::from_mantissa(-1)}}, kNow)
          .error()
          .reason,
      RefusalReason::kInvalidFill);
  EXPECT_EQ(
      apply(o, EvStatus{OrderState::kUnknownAtBroker, "B-1", q("0"), px("0")}, kNow).error().reason,
      RefusalReason::kUnexpectedEvent);
}

TEST(OrderScenario, ReplaceHappyPathAndRejection) {
  Order o = must(make_order(request(), kT0), EvAck{"B-1"});
  o = must(o, trade("10", "1"));
  o = must(o, EvReplaceRequested{"R-1"});
  EXPECT_EQ(o.state, OrderState::kPendingReplace);
  EXPECT_EQ(o.state_before_pending, OrderState::kPartiallyFilled);
  const Order rejected = must(o, EvReplaceRejected{"price out of band"});
  EXPECT_EQ(rejected.state, OrderState::kPartiallyFilled);
  EXPECT_EQ(rejected.history.back().reason, "replace_rejected: price out of band");
  const Order replaced = must(o, EvReplaced{});
  EXPECT_EQ(replaced.state, OrderState::kReplaced);
  EXPECT_EQ(replaced.leaves_qty, q("0"));
  EXPECT_EQ(replaced.cum_qty, q("10"));
  // Fills complete during a pending replace: filled, and the replace answer is then stale.
  const Order done = must(o, trade("90", "1"));
  EXPECT_EQ(done.state, OrderState::kFilled);
  EXPECT_EQ(must(done, EvReplaceRejected{""}), done);
  EXPECT_EQ(must(done, EvReplaced{}), done);
}

TEST(OrderScenario, NoOpKeepsUpdatedTimeAndHistory) {
  const Order o = must(make_order(request(), kT0), EvAck{"B-1"}, kT0 + 5);
  EXPECT_EQ(o.updated_us, kT0 + 5);
  const auto r = apply(o, EvTimeout{}, kT0 + 50);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->order.updated_us, kT0 + 5);
  // A change without a state change or fill updates the time but adds no history.
  const Order sent = must(make_order(request(), kT0), EvSendAttempt{}, kT0 + 7);
  EXPECT_EQ(sent.updated_us, kT0 + 7);
  EXPECT_EQ(sent.history.size(), 1U);
}

TEST(OrderHistory, BoundedKeepingFirstAndMostRecent) {
  Order o = must(make_order(request("1000"), kT0), EvAck{"B-1"}, kT0 + 1);
  constexpr int kFills = 400;
  for (int i = 0; i < kFills; ++i) {
    o = must(o, trade("1", "2", "E" + std::to_string(i)), kT0 + 10 + i);
    ASSERT_LE(o.history.size(), kMaxHistory);
  }
  ASSERT_EQ(o.history.size(), kMaxHistory);
  EXPECT_EQ(o.history.front(), (Transition{kT0, OrderState::kPendingNew, "created"}));
  EXPECT_EQ(o.history.back().reason, "fill 1@2 exec E399");
  // The rest are the most recent fills, in order.
  for (std::size_t i = 1; i < o.history.size(); ++i) {
    const int fill_index = kFills - static_cast<int>(kMaxHistory - i);
    ASSERT_EQ(o.history[i].reason, "fill 1@2 exec E" + std::to_string(fill_index)) << i;
    ASSERT_EQ(o.history[i].at_us, kT0 + 10 + fill_index);
  }
  EXPECT_EQ(o.cum_qty, q("400"));
}

TEST(RefusalReasons, NamesAndBlame) {
  struct Case {
    RefusalReason reason;
    const char* name;
    bool broker;
  };
  const Case cases[] = {
      {RefusalReason::kOverFill, "over_fill", true},
      {RefusalReason::kInvalidFill, "invalid_fill", true},
      {RefusalReason::kUnexpectedEvent, "unexpected_event", true},
      {RefusalReason::kNotCancelable, "not_cancelable", false},
      {RefusalReason::kCancelInFlight, "cancel_in_flight", false},
      {RefusalReason::kNotReplaceable, "not_replaceable", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(to_string(c.reason), c.name);
    EXPECT_EQ(is_broker_anomaly(c.reason), c.broker) << c.name;
  }
}

TEST(LiveState, DerivedFromQuantitiesAndAck) {
  Order o = make_order(request(), kT0);
  EXPECT_EQ(live_state(o), OrderState::kPendingNew);
  o.acknowledged = true;
  EXPECT_EQ(live_state(o), OrderState::kNew);
  o.cum_qty = q("0.00000001");
  EXPECT_EQ(live_state(o), OrderState::kPartiallyFilled);
  o.cum_qty = q("100");
  EXPECT_EQ(live_state(o), OrderState::kFilled);
}

// ---- Invariants stop the process -------------------------------------------------------------

Order healthy() { return must(must(make_order(request(), kT0), EvAck{"B-1"}), trade("40", "10")); }

TEST(InvariantsDeathTest, HealthyOrderPasses) {
  check_invariants(healthy());
  check_invariants(make_order(request(), kT0));
}

TEST(InvariantsDeathTest, CumBeyondQuantity) {
  Order o = healthy();
  o.cum_qty = q("101");
  EXPECT_DEATH(check_invariants(o), "cum_qty > quantity");
}

TEST(InvariantsDeathTest, NegativeCum) {
  Order o = healthy();
  o.cum_qty = Qty{Decimal::from_mantissa(-1)};
  EXPECT_DEATH(check_invariants(o), "cum_qty < 0");
}

TEST(InvariantsDeathTest, LeavesOutOfStep) {
  Order o = healthy();
  o.leaves_qty = q("61");
  EXPECT_DEATH(check_invariants(o), "leaves_qty");
  Order done = must(healthy(), EvCanceled{""});
  done.leaves_qty = q("60");  // terminal orders have nothing left
  EXPECT_DEATH(check_invariants(done), "leaves_qty");
}

TEST(InvariantsDeathTest, HistoryEmptyOrOutOfStep) {
  Order o = healthy();
  o.history.clear();
  EXPECT_DEATH(check_invariants(o), "history empty");
  Order p = healthy();
  p.history.back().state = OrderState::kNew;
  EXPECT_DEATH(check_invariants(p), "last history state");
}

TEST(InvariantsDeathTest, AveragePriceOutOfStep) {
  Order o = healthy();
  o.avg_price = px("10.00000001");
  EXPECT_DEATH(check_invariants(o), "avg_price");
}

TEST(InvariantsDeathTest, FilledWithLeaves) {
  Order o = healthy();
  o.state = OrderState::kFilled;
  o.leaves_qty = q("0");
  o.history.back().state = OrderState::kFilled;
  EXPECT_DEATH(check_invariants(o), "filled with cum_qty != quantity");
}

}  // namespace
}  // namespace brokergw::core
