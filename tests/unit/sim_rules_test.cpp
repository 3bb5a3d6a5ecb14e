// Unit tests for the simulator's pure part: decimals, rule matching, fill splitting, price steps,
// the engine's order book and its fault modes, and the config, control-channel and journal
// formats. No sockets, no QuickFIX, no clock: time is passed to the engine explicitly.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "sim/config.h"
#include "sim/control.h"
#include "sim/decimal.h"
#include "sim/engine.h"
#include "sim/journal.h"
#include "sim/rules.h"
#include "tests/unit/sim_test_support.h"

namespace brokergw::sim {
namespace {

using namespace simtest;  // NOLINT(google-build-using-namespace): shared test helpers

std::vector<std::string> strings(const std::vector<Fixed>& values) {
  std::vector<std::string> out;
  for (Fixed v : values) out.push_back(v.to_string());
  return out;
}

Fixed sum(const std::vector<Fixed>& values) {
  std::int64_t m = 0;
  for (Fixed v : values) m += v.mantissa();
  return Fixed::from_mantissa(m);
}

// ---- Fixed ----

TEST(SimDecimal, ParsesAndFormatsExactly) {
  EXPECT_EQ(D("100").to_string(), "100");
  EXPECT_EQ(D("187.25").to_string(), "187.25");
  EXPECT_EQ(D("007.10").to_string(), "7.1");
  EXPECT_EQ(D("0.00000001").mantissa(), 1);
  EXPECT_EQ(D("-0.5").to_string(), "-0.5");
  EXPECT_EQ(D("0").to_string(), "0");
  EXPECT_EQ(D("0.1").mantissa(), 10'000'000);  // exactly, unlike a double
}

TEST(SimDecimal, RejectsMalformedText) {
  for (const char* bad : {"", "1.", ".5", "1e3", "+1", " 1", "1 ", "1.000000001", "1,5", "abc",
                          "--1", "99999999999999999999", "92233720368.54775808"}) {
    EXPECT_FALSE(Fixed::parse(bad, true)) << bad;
  }
  EXPECT_FALSE(Fixed::parse("-1"));
  EXPECT_TRUE(Fixed::parse("92233720368.54775807"));
}

TEST(SimDecimal, CountsFractionDigits) {
  EXPECT_EQ(D("100").fraction_digits(), 0);
  EXPECT_EQ(D("1.5").fraction_digits(), 1);
  EXPECT_EQ(D("0.00000001").fraction_digits(), 8);
  EXPECT_EQ(D("-2.25").fraction_digits(), 2);
}

TEST(SimDecimal, CheckedArithmeticReportsOverflow) {
  const Fixed max = Fixed::from_mantissa(INT64_MAX);
  EXPECT_FALSE(checked_add(max, D("0.00000001")));
  EXPECT_FALSE(checked_sub(Fixed::from_mantissa(INT64_MIN), D("0.00000001")));
  EXPECT_FALSE(checked_mul(max, 2));
  EXPECT_EQ(checked_mul(D("0.01"), 3)->to_string(), "0.03");
}

TEST(SimDecimal, AveragePriceRoundsHalfUp) {
  // 1 @ 1 + 2 @ 2 = 5 / 3 = 1.666666666... -> 1.66666667
  const Notional n = notional_of(D("1"), D("1")) + notional_of(D("2"), D("2"));
  EXPECT_EQ(average_price(n, D("3")).to_string(), "1.66666667");
  // 0.5 @ 0.00000001 -> 0.000000005 / 0.5 ... exact 0.00000001
  EXPECT_EQ(average_price(notional_of(D("0.5"), D("0.00000001")), D("0.5")).to_string(),
            "0.00000001");
  EXPECT_EQ(average_price(0, Fixed{}).to_string(), "0");
}

// ---- rules: names and matching ----

TEST(SimRules, NamesSidesAndActions) {
  EXPECT_EQ(side_from_name("buy"), '1');
  EXPECT_EQ(side_from_name("sell"), '2');
  EXPECT_EQ(side_from_name("sell_short"), '5');
  EXPECT_EQ(side_from_name("sell_short_exempt"), '6');
  EXPECT_FALSE(side_from_name("Buy"));
  for (ActionKind k :
       {ActionKind::kFill, ActionKind::kReject, ActionKind::kAck, ActionKind::kSilent}) {
    EXPECT_EQ(action_from_name(action_name(k)), k);
  }
  EXPECT_FALSE(action_from_name("partial"));
}

OrderFacts facts(std::string_view symbol, std::string_view qty, char side = kSideBuy,
                 std::string_view account = "ACC1") {
  return OrderFacts{symbol, account, side, D(qty), std::nullopt};
}

TEST(SimRules, EmptyMatchMatchesEverything) { EXPECT_TRUE(matches(Match{}, facts("AAPL", "1"))); }

TEST(SimRules, EveryCriterionMustHold) {
  Match m;
  m.symbol = "AAPL";
  m.account = "ACC1";
  m.side = kSideSell;
  m.min_qty = D("10");
  m.max_qty = D("20");
  EXPECT_TRUE(matches(m, facts("AAPL", "10", kSideSell)));  // bounds are inclusive
  EXPECT_TRUE(matches(m, facts("AAPL", "20", kSideSell)));
  EXPECT_FALSE(matches(m, facts("AAPL", "9.99999999", kSideSell)));
  EXPECT_FALSE(matches(m, facts("AAPL", "20.00000001", kSideSell)));
  EXPECT_FALSE(matches(m, facts("MSFT", "15", kSideSell)));
  EXPECT_FALSE(matches(m, facts("AAPL", "15", kSideBuy)));
  EXPECT_FALSE(matches(m, facts("AAPL", "15", kSideSell, "ACC2")));
  EXPECT_FALSE(matches(m, facts("aapl", "15", kSideSell)));  // exact, case-sensitive
}

TEST(SimRules, FirstMatchingRuleWins) {
  std::vector<Rule> rules(3);
  rules[0].match.symbol = "ZZZZ";
  rules[1].match.min_qty = D("100");
  rules[2].match = Match{};
  EXPECT_EQ(find_rule(rules, facts("ZZZZ", "500")), 0u);
  EXPECT_EQ(find_rule(rules, facts("AAPL", "500")), 1u);
  EXPECT_EQ(find_rule(rules, facts("AAPL", "5")), 2u);
  rules.pop_back();
  EXPECT_FALSE(find_rule(rules, facts("AAPL", "5")));
  EXPECT_EQ(default_action().kind, ActionKind::kFill);
  EXPECT_EQ(default_action().fills, 1);
}

// ---- fill splitting ----

TEST(SimRules, SplitsAtTheQuantitysOwnPrecision) {
  EXPECT_EQ(strings(split_quantity(D("100"), 3)), (std::vector<std::string>{"34", "33", "33"}));
  EXPECT_EQ(strings(split_quantity(D("1.5"), 2)), (std::vector<std::string>{"0.8", "0.7"}));
  EXPECT_EQ(strings(split_quantity(D("10"), 1)), (std::vector<std::string>{"10"}));
  EXPECT_EQ(strings(split_quantity(D("4"), 4)), (std::vector<std::string>{"1", "1", "1", "1"}));
}

TEST(SimRules, SplitsFinerWhenTheQuantityHasTooFewUnits) {
  EXPECT_EQ(strings(split_quantity(D("1"), 3)), (std::vector<std::string>{"0.4", "0.3", "0.3"}));
  EXPECT_EQ(strings(split_quantity(D("2"), 5)),
            (std::vector<std::string>{"0.4", "0.4", "0.4", "0.4", "0.4"}));
  // Fewer 10^-8 units than parts: one part per unit.
  EXPECT_EQ(strings(split_quantity(D("0.00000002"), 5)),
            (std::vector<std::string>{"0.00000001", "0.00000001"}));
}

TEST(SimRules, SplitPartsAlwaysSumExactlyAndArePositive) {
  for (const char* qty : {"1", "7", "100", "0.3", "12.345", "999999.99999999", "0.00000007", "3333",
                          "92233720368.54775807"}) {
    for (int parts : {1, 2, 3, 7, 10, 99, 1000}) {
      const auto split = split_quantity(D(qty), parts);
      ASSERT_FALSE(split.empty()) << qty << " / " << parts;
      EXPECT_LE(split.size(), static_cast<std::size_t>(parts));
      EXPECT_EQ(sum(split), D(qty)) << qty << " / " << parts;
      for (std::size_t i = 0; i < split.size(); ++i) {
        EXPECT_TRUE(split[i].is_positive());
        if (i > 0) EXPECT_LE(split[i], split[i - 1]);  // largest first
      }
    }
  }
}

TEST(SimRules, SplitOfNothingIsEmpty) {
  EXPECT_TRUE(split_quantity(Fixed{}, 3).empty());
  EXPECT_TRUE(split_quantity(D("1"), 0).empty());
}

// ---- plans ----

TEST(SimRules, DefaultPlanAcksThenFillsOnceAtTheLimitPrice) {
  OrderFacts order = facts("AAPL", "10");
  order.limit_price = D("187.25");
  const Plan plan = plan_order(default_action(), order);
  ASSERT_EQ(plan.steps.size(), 2u);
  EXPECT_EQ(plan.steps[0].kind, StepKind::kAck);
  EXPECT_EQ(plan.steps[1].kind, StepKind::kFill);
  EXPECT_EQ(plan.steps[1].last_qty, D("10"));
  EXPECT_EQ(plan.steps[1].last_px, D("187.25"));
}

TEST(SimRules, MarketOrdersFillAtOneHundredByDefault) {
  const Plan plan = plan_order(default_action(), facts("AAPL", "10"));
  ASSERT_EQ(plan.steps.size(), 2u);
  EXPECT_EQ(plan.steps[1].last_px.to_string(), "100");
}

TEST(SimRules, PriceStepMovesEachSubsequentFill) {
  Action action;
  action.fills = 3;
  action.fill_price = D("50.5");
  action.price_step = D("-0.25");
  action.ack_delay_ms = 100;
  action.fill_interval_ms = 40;
  OrderFacts order = facts("AAPL", "30");
  order.limit_price = D("99");  // ignored: fill_price wins
  const Plan plan = plan_order(action, order);
  ASSERT_EQ(plan.steps.size(), 4u);
  EXPECT_EQ(plan.steps[0].at_ms, 100);
  std::vector<std::string> prices;
  std::vector<std::int64_t> times;
  for (std::size_t i = 1; i < plan.steps.size(); ++i) {
    prices.push_back(plan.steps[i].last_px.to_string());
    times.push_back(plan.steps[i].at_ms);
    EXPECT_EQ(plan.steps[i].last_qty, D("10"));
  }
  EXPECT_EQ(prices, (std::vector<std::string>{"50.5", "50.25", "50"}));
  EXPECT_EQ(times, (std::vector<std::int64_t>{140, 180, 220}));
}

TEST(SimRules, PriceStepThatReachesZeroBecomesAVisibleReject) {
  Action action;
  action.fills = 3;
  action.fill_price = D("1");
  action.price_step = D("-0.5");  // 1, 0.5, 0 -> third fill invalid
  const Plan plan = plan_order(action, facts("AAPL", "3"));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].kind, StepKind::kReject);
  EXPECT_EQ(plan.steps[0].ord_rej_reason, 99);
  EXPECT_NE(plan.steps[0].text.find("fill 3 of 3"), std::string::npos) << plan.steps[0].text;
}

TEST(SimRules, RejectAckAndSilentPlans) {
  Action reject;
  reject.kind = ActionKind::kReject;
  reject.reject_text = "unknown symbol";
  reject.ord_rej_reason = 1;
  reject.ack_delay_ms = 25;
  Plan plan = plan_order(reject, facts("ZZZZ", "1"));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].kind, StepKind::kReject);
  EXPECT_EQ(plan.steps[0].at_ms, 25);
  EXPECT_EQ(plan.steps[0].text, "unknown symbol");
  EXPECT_EQ(plan.steps[0].ord_rej_reason, 1);

  Action ack;
  ack.kind = ActionKind::kAck;
  plan = plan_order(ack, facts("AAPL", "1"));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].kind, StepKind::kAck);

  Action silent;
  silent.kind = ActionKind::kSilent;
  EXPECT_TRUE(plan_order(silent, facts("AAPL", "1")).steps.empty());
}

TEST(SimRules, FaultModeNamesRoundTrip) {
  for (DuplicateReports d : {DuplicateReports::kNone, DuplicateReports::kPlain,
                             DuplicateReports::kPossDup, DuplicateReports::kBoth}) {
    EXPECT_EQ(duplicate_reports_from_name(duplicate_reports_name(d)), d);
  }
  EXPECT_EQ(duplicate_reports_from_name("possdup"), DuplicateReports::kPossDup);
  EXPECT_FALSE(duplicate_reports_from_name("PossDup"));
  for (DisconnectMode m :
       {DisconnectMode::kNone, DisconnectMode::kBeforePlacing, DisconnectMode::kAfterPlacing}) {
    EXPECT_EQ(disconnect_mode_from_name(disconnect_mode_name(m)), m);
  }
  EXPECT_FALSE(disconnect_mode_from_name("after"));
}

TEST(SimRules, PlansAreSentInStepOrderUnlessOutOfOrder) {
  Action action;
  action.fills = 3;
  EXPECT_TRUE(plan_order(action, facts("AAPL", "30")).send_order.empty());
}

TEST(SimRules, OutOfOrderSendsTheLastFillFirstThenTheAckThenTheRestBackwards) {
  Action action;
  action.fills = 3;
  action.out_of_order = true;
  action.ack_delay_ms = 10;
  action.fill_interval_ms = 5;
  const Plan plan = plan_order(action, facts("AAPL", "30"));
  ASSERT_EQ(plan.steps.size(), 4u);  // the steps themselves keep their natural order
  EXPECT_EQ(plan.steps[0].kind, StepKind::kAck);
  EXPECT_EQ(plan.send_order, (std::vector<std::size_t>{3, 0, 2, 1}));
  std::vector<std::int64_t> times;
  for (const Step& step : plan.steps) times.push_back(step.at_ms);
  EXPECT_EQ(times, (std::vector<std::int64_t>{10, 15, 20, 25}));  // slots are unchanged

  action.fills = 1;
  EXPECT_EQ(plan_order(action, facts("AAPL", "30")).send_order, (std::vector<std::size_t>{1, 0}));
  action.fills = 2;
  EXPECT_EQ(plan_order(action, facts("AAPL", "30")).send_order,
            (std::vector<std::size_t>{2, 0, 1}));
}

TEST(SimRules, SkipSeqAfterMarksTheFirstAnswer) {
  Action fill;
  fill.fills = 2;
  fill.skip_seq_after = true;
  Plan plan = plan_order(fill, facts("AAPL", "2"));
  ASSERT_EQ(plan.steps.size(), 3u);
  EXPECT_TRUE(plan.steps[0].skip_seq_after);  // the ack
  EXPECT_FALSE(plan.steps[1].skip_seq_after);
  EXPECT_FALSE(plan.steps[2].skip_seq_after);

  Action reject;
  reject.kind = ActionKind::kReject;
  reject.skip_seq_after = true;
  plan = plan_order(reject, facts("AAPL", "2"));
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_TRUE(plan.steps[0].skip_seq_after);

  EXPECT_FALSE(plan_order(default_action(), facts("AAPL", "2")).steps[0].skip_seq_after);
}

// ---- engine ----

TEST(SimEngine, DefaultRuleAcksAndFillsAtOnce) {
  Engine engine(EngineOptions{{}, 7, 100, PossResendDuplicatePolicy::kReject});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10", "187.25"), 0, out);
  ASSERT_EQ(out.size(), 2u);
  const ExecReportOut& ack = er(out, 0);
  EXPECT_EQ(ack.exec_type, '0');
  EXPECT_EQ(ack.ord_status, '0');
  EXPECT_EQ(ack.order_id, "SIM-7-1");
  EXPECT_EQ(ack.cl_ord_id, "C1");
  EXPECT_EQ(ack.leaves_qty, D("10"));
  EXPECT_EQ(ack.cum_qty, D("0"));
  EXPECT_EQ(ack.avg_px, D("0"));
  EXPECT_FALSE(ack.last_qty);
  const ExecReportOut& fill = er(out, 1);
  EXPECT_EQ(fill.exec_type, 'F');
  EXPECT_EQ(fill.ord_status, '2');
  EXPECT_EQ(fill.order_id, "SIM-7-1");
  EXPECT_EQ(fill.last_qty, D("10"));
  EXPECT_EQ(fill.last_px, D("187.25"));
  EXPECT_EQ(fill.cum_qty, D("10"));
  EXPECT_EQ(fill.leaves_qty, D("0"));
  EXPECT_EQ(fill.avg_px, D("187.25"));
  EXPECT_NE(ack.exec_id, fill.exec_id);
  EXPECT_EQ(ack.exec_id.rfind("SIMX-7-", 0), 0u);
  EXPECT_FALSE(engine.next_due());
}

TEST(SimEngine, DuplicateClOrdIdIsRejectedAndCounted) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  out.clear();
  engine.handle(new_order("C1"), 1, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, '8');
  EXPECT_EQ(er(out, 0).ord_status, '8');
  EXPECT_EQ(er(out, 0).ord_rej_reason, 6);
  EXPECT_EQ(er(out, 0).text, "duplicate ClOrdID");
  EXPECT_EQ(er(out, 0).order_id, "NONE");
  EXPECT_EQ(engine.counters().duplicate_cl_ord_ids, 1u);
  EXPECT_EQ(engine.counters().new_orders, 1u);
  EXPECT_EQ(engine.order_count(), 1u);
}

TEST(SimEngine, PossResendOfAKnownClOrdIdIsRejectedAsADuplicateByDefault) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  out.clear();
  NewOrderIn resend = new_order("C1");
  resend.poss_resend = true;  // 97=Y
  engine.handle(resend, 1, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, '8');
  EXPECT_EQ(er(out, 0).ord_status, '8');
  EXPECT_EQ(er(out, 0).ord_rej_reason, 6);  // duplicate order
  EXPECT_EQ(er(out, 0).cl_ord_id, "C1");
  EXPECT_EQ(er(out, 0).order_id, "NONE");
  EXPECT_EQ(engine.counters().duplicate_cl_ord_ids, 1u);
  EXPECT_EQ(engine.order_count(), 1u);  // the order itself is untouched
}

TEST(SimEngine, PossResendOfAKnownOrderCanBeAnsweredWithItsStatus) {
  EngineOptions options;
  options.poss_resend_duplicate = PossResendDuplicatePolicy::kStatus;
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  out.clear();
  NewOrderIn resend = new_order("C1");
  resend.poss_resend = true;
  engine.handle(resend, 1, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, 'I');
  EXPECT_EQ(er(out, 0).ord_status, '2');
  EXPECT_EQ(engine.counters().duplicate_cl_ord_ids, 1u);
  out.clear();
  engine.handle(new_order("C1"), 2, out);  // without PossResend: still a reject
  EXPECT_EQ(er(out, 0).exec_type, '8');
}

TEST(SimEngine, PartialFillsAreSpacedAndAddUp) {
  Action action;
  action.fills = 3;
  action.fill_price = D("100");
  action.price_step = D("0.01");
  action.ack_delay_ms = 10;
  action.fill_interval_ms = 100;
  Engine engine(EngineOptions{{rule_for("AAPL", action)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "30"), 1000, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.next_due(), 1010);
  engine.run_due(1010, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, '0');
  engine.run_due(1109, out);
  EXPECT_EQ(out.size(), 1u);  // not yet
  engine.run_due(1110, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(er(out, 1).ord_status, '1');
  EXPECT_EQ(er(out, 1).last_qty, D("10"));
  EXPECT_EQ(er(out, 1).leaves_qty, D("20"));
  engine.run_due(5000, out);  // both remaining fills are due
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(er(out, 2).last_px, D("100.01"));
  EXPECT_EQ(er(out, 2).cum_qty, D("20"));
  EXPECT_EQ(er(out, 2).avg_px, D("100.005"));
  EXPECT_EQ(er(out, 3).ord_status, '2');
  EXPECT_EQ(er(out, 3).last_px, D("100.02"));
  EXPECT_EQ(er(out, 3).cum_qty, D("30"));
  EXPECT_EQ(er(out, 3).leaves_qty, D("0"));
  EXPECT_EQ(er(out, 3).avg_px, D("100.01"));
  EXPECT_EQ(engine.counters().fills, 3u);
}

TEST(SimEngine, CancelStopsScheduledFills) {
  Action action;
  action.fills = 2;
  action.fill_interval_ms = 50;
  Engine engine(EngineOptions{{rule_for("AAPL", action)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  engine.run_due(50, out);
  ASSERT_EQ(out.size(), 2u);  // ack + first fill
  out.clear();
  engine.handle(cancel("X1", "C1"), 60, out);
  ASSERT_EQ(out.size(), 1u);
  const ExecReportOut& canceled = er(out, 0);
  EXPECT_EQ(canceled.exec_type, '4');
  EXPECT_EQ(canceled.ord_status, '4');
  EXPECT_EQ(canceled.cl_ord_id, "X1");
  EXPECT_EQ(canceled.orig_cl_ord_id, "C1");
  EXPECT_EQ(canceled.cum_qty, D("5"));
  EXPECT_EQ(canceled.leaves_qty, D("0"));
  out.clear();
  engine.run_due(10'000, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.counters().steps_skipped, 1u);
  EXPECT_FALSE(engine.next_due());
}

TEST(SimEngine, CancelBeforeADelayedAckSuppressesTheAck) {
  Action action;
  action.ack_delay_ms = 500;
  Engine engine(EngineOptions{{rule_for("AAPL", action)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  engine.handle(cancel("X1", "C1"), 10, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, '4');
  engine.run_due(1000, out);
  EXPECT_EQ(out.size(), 1u);
}

TEST(SimEngine, CancelRejects) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  engine.handle(cancel("X1", "NOPE"), 0, out);
  ASSERT_EQ(out.size(), 1u);
  auto reject = std::get<CancelRejectOut>(out[0]);
  EXPECT_EQ(reject.order_id, "NONE");
  EXPECT_EQ(reject.ord_status, '8');
  EXPECT_EQ(reject.cxl_rej_reason, 1);
  EXPECT_EQ(reject.cl_ord_id, "X1");
  EXPECT_EQ(reject.orig_cl_ord_id, "NOPE");

  out.clear();
  engine.handle(new_order("C1"), 0, out);  // default rule: filled at once
  out.clear();
  engine.handle(cancel("X2", "C1"), 1, out);
  reject = std::get<CancelRejectOut>(out.at(0));
  EXPECT_EQ(reject.cxl_rej_reason, 0);  // too late
  EXPECT_EQ(reject.ord_status, '2');
  EXPECT_EQ(reject.order_id, "SIM-1-1");

  out.clear();
  engine.handle(new_order("C2"), 2, out);
  out.clear();
  engine.handle(cancel("X2", "C2"), 3, out);  // cancel ClOrdID reused for another order
  reject = std::get<CancelRejectOut>(out.at(0));
  EXPECT_EQ(reject.cxl_rej_reason, 6);
  EXPECT_EQ(reject.text, "duplicate ClOrdID");
  out.clear();
  engine.handle(cancel("C2", "C2"), 4, out);  // the order's own ClOrdID
  EXPECT_EQ(std::get<CancelRejectOut>(out.at(0)).cxl_rej_reason, 6);
  EXPECT_EQ(engine.counters().cancel_rejects, 4u);
  EXPECT_EQ(engine.counters().cancel_resends, 0u);
}

TEST(SimEngine, AckOnlyOrdersStayOpenUntilCanceled) {
  Action ack;
  ack.kind = ActionKind::kAck;
  Engine engine(EngineOptions{{rule_for("HOLD", ack)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "HOLD"), 0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).ord_status, '0');
  engine.handle(status("C1"), 5, out);
  EXPECT_EQ(er(out, 1).exec_type, 'I');
  EXPECT_EQ(er(out, 1).ord_status, '0');
  EXPECT_EQ(er(out, 1).ord_status_req_id, "Q1");
  engine.handle(cancel("X1", "C1"), 10, out);
  EXPECT_EQ(er(out, 2).exec_type, '4');
  engine.handle(status("X1"), 15, out);  // the cancel's ClOrdID finds the order too
  EXPECT_EQ(er(out, 3).ord_status, '4');
}

TEST(SimEngine, SilentOrdersGetNoAnswerButExist) {
  Action silent;
  silent.kind = ActionKind::kSilent;
  Engine engine(EngineOptions{{rule_for("SLNT", silent)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "SLNT"), 0, out);
  engine.run_due(1'000'000, out);
  EXPECT_TRUE(out.empty());
  engine.handle(status("C1"), 1, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, 'I');
  EXPECT_EQ(er(out, 0).ord_status, 'A');  // pending new
  EXPECT_EQ(er(out, 0).order_id, "SIM-1-1");
  EXPECT_EQ(er(out, 0).cum_qty, D("0"));
  EXPECT_EQ(er(out, 0).leaves_qty, D("10"));
  EXPECT_EQ(engine.counters().acks, 0u);  // held as pending new: never acknowledged
}

TEST(SimEngine, StatusOfAnUnknownOrder) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  engine.handle(status("NOPE"), 0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, 'I');
  EXPECT_EQ(er(out, 0).ord_status, '8');
  EXPECT_EQ(er(out, 0).ord_rej_reason, 5);
  EXPECT_EQ(er(out, 0).order_id, "NONE");
  EXPECT_EQ(er(out, 0).cl_ord_id, "NOPE");
}

TEST(SimEngine, RuleRejectAfterDelay) {
  Action reject;
  reject.kind = ActionKind::kReject;
  reject.reject_text = "no shorting";
  reject.ack_delay_ms = 20;
  Engine engine(EngineOptions{{rule_for("AAPL", reject)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  EXPECT_TRUE(out.empty());
  engine.handle(status("C1"), 1, out);
  EXPECT_EQ(er(out, 0).ord_status, 'A');
  engine.run_due(20, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(er(out, 1).exec_type, '8');
  EXPECT_EQ(er(out, 1).text, "no shorting");
  EXPECT_EQ(er(out, 1).ord_rej_reason, 0);
  EXPECT_EQ(er(out, 1).leaves_qty, D("0"));
}

TEST(SimEngine, InvalidQuantityOrPriceIsRejected) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  NewOrderIn no_qty = new_order("C1");
  no_qty.order_qty.reset();
  engine.handle(no_qty, 0, out);
  engine.handle(new_order("C2", "AAPL", "0"), 0, out);
  engine.handle(new_order("C3", "AAPL", "1.123456789"), 0, out);
  engine.handle(new_order("C4", "AAPL", "1", "-5"), 0, out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(er(out, 0).ord_rej_reason, 13);
  EXPECT_EQ(er(out, 1).ord_rej_reason, 13);
  EXPECT_EQ(er(out, 2).ord_rej_reason, 13);
  EXPECT_EQ(er(out, 3).ord_rej_reason, 99);
  EXPECT_EQ(engine.counters().invalid_orders, 4u);
  EXPECT_EQ(engine.order_count(), 0u);
}

TEST(SimEngine, OrderTableIsBounded) {
  EngineOptions options;
  options.max_orders = 2;
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  engine.handle(new_order("C2"), 0, out);
  out.clear();
  engine.handle(new_order("C3"), 0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(er(out, 0).exec_type, '8');
  EXPECT_NE(er(out, 0).text.find("max_orders"), std::string::npos);
}

TEST(SimEngine, FractionalQuantitiesFillExactly) {
  Action action;
  action.fills = 3;
  Engine engine(EngineOptions{{rule_for("AAPL", action)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "1", "3.33"), 0, out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(er(out, 1).last_qty, D("0.4"));
  EXPECT_EQ(er(out, 2).last_qty, D("0.3"));
  EXPECT_EQ(er(out, 3).last_qty, D("0.3"));
  EXPECT_EQ(er(out, 3).cum_qty, D("1"));
  EXPECT_EQ(er(out, 3).avg_px, D("3.33"));
}

// ---- engine: fault modes ----

bool same_report(const ExecReportOut& a, const ExecReportOut& b) {
  return a.order_id == b.order_id && a.cl_ord_id == b.cl_ord_id && a.exec_id == b.exec_id &&
         a.exec_type == b.exec_type && a.ord_status == b.ord_status && a.last_qty == b.last_qty &&
         a.last_px == b.last_px && a.cum_qty == b.cum_qty && a.leaves_qty == b.leaves_qty &&
         a.avg_px == b.avg_px && a.text == b.text;
}

TEST(SimFaults, DuplicateReportsPlainRepeatsEveryReportOnceWithTheSameExecId) {
  Action action;
  action.fills = 2;
  action.duplicate_reports = DuplicateReports::kPlain;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  EXPECT_EQ(trace(out), "0 +p F +p F +p");
  const auto r = reports(out);
  for (std::size_t i = 0; i < r.size(); i += 2) {
    EXPECT_TRUE(same_report(*r[i], *r[i + 1])) << i;
    EXPECT_EQ(r[i]->copy, ReportCopy::kOriginal);
  }
  EXPECT_NE(r[0]->exec_id, r[2]->exec_id);
  EXPECT_NE(r[2]->exec_id, r[4]->exec_id);
  EXPECT_EQ(engine.counters().report_copies, 3u);
  EXPECT_EQ(engine.counters().fills, 2u);  // copies are not fills of their own
}

TEST(SimFaults, DuplicateReportsPossDupAndBoth) {
  Action action;
  action.duplicate_reports = DuplicateReports::kPossDup;
  Engine possdup = engine_with(action);
  std::vector<Outgoing> out;
  possdup.handle(new_order("C1"), 0, out);
  EXPECT_EQ(trace(out), "0 +d F +d");
  EXPECT_TRUE(same_report(er(out, 2), er(out, 3)));

  action.duplicate_reports = DuplicateReports::kBoth;
  Engine both = engine_with(action);
  out.clear();
  both.handle(new_order("C1"), 0, out);
  EXPECT_EQ(trace(out), "0 +p +d F +p +d");
  EXPECT_TRUE(same_report(er(out, 3), er(out, 5)));
  EXPECT_EQ(both.counters().report_copies, 4u);
}

TEST(SimFaults, DuplicateReportsCoverRejectsAndCancelsButNotStatusAnswers) {
  Action reject;
  reject.kind = ActionKind::kReject;
  reject.duplicate_reports = DuplicateReports::kPlain;
  Engine rejecting = engine_with(reject);
  std::vector<Outgoing> out;
  rejecting.handle(new_order("C1"), 0, out);
  EXPECT_EQ(trace(out), "8 +p");

  Action ack;
  ack.kind = ActionKind::kAck;
  ack.duplicate_reports = DuplicateReports::kPossDup;
  Engine resting = engine_with(ack);
  out.clear();
  resting.handle(new_order("C1"), 0, out);
  resting.handle(status("C1"), 1, out);
  resting.handle(cancel("X1", "C1"), 2, out);
  resting.handle(cancel("X2", "C1"), 3, out);  // too late: a cancel reject, not duplicated
  EXPECT_EQ(trace(out), "0 +d I 4 +d 9");
}

TEST(SimFaults, DuplicateReportsOnlyForTheMatchingRule) {
  Action action;
  action.duplicate_reports = DuplicateReports::kBoth;
  Engine engine = engine_with(action, "DUPE");
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL"), 0, out);
  EXPECT_EQ(trace(out), "0 F");
}

TEST(SimFaults, OutOfOrderFillsKeepTheirOwnCumulativeValues) {
  Action action;
  action.fills = 3;
  action.fill_price = D("10");
  action.price_step = D("1");
  action.out_of_order = true;
  action.ack_delay_ms = 100;
  action.fill_interval_ms = 50;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "30"), 0, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.next_due(), 100);
  engine.run_due(100, out);
  ASSERT_EQ(trace(out), "F");  // the last fill comes first, at the ack's time
  const ExecReportOut last = er(out, 0);
  EXPECT_EQ(last.last_qty, D("10"));
  EXPECT_EQ(last.last_px, D("12"));
  EXPECT_EQ(last.cum_qty, D("30"));
  EXPECT_EQ(last.leaves_qty, D("0"));
  EXPECT_EQ(last.ord_status, '2');
  EXPECT_EQ(last.avg_px, D("11"));
  EXPECT_EQ(engine.next_due(), 150);
  engine.run_due(150, out);
  ASSERT_EQ(trace(out), "F 0");
  const ExecReportOut ack = er(out, 1);
  EXPECT_EQ(ack.ord_status, '0');
  EXPECT_EQ(ack.cum_qty, D("0"));
  EXPECT_EQ(ack.leaves_qty, D("30"));
  engine.run_due(10'000, out);
  ASSERT_EQ(trace(out), "F 0 F F");
  const ExecReportOut second = er(out, 2);
  EXPECT_EQ(second.last_px, D("11"));
  EXPECT_EQ(second.cum_qty, D("20"));
  EXPECT_EQ(second.leaves_qty, D("10"));
  EXPECT_EQ(second.ord_status, '1');
  EXPECT_EQ(second.avg_px, D("10.5"));
  const ExecReportOut first = er(out, 3);
  EXPECT_EQ(first.last_px, D("10"));
  EXPECT_EQ(first.cum_qty, D("10"));
  EXPECT_EQ(first.avg_px, D("10"));
  // ExecIDs are unique per report and follow the natural order, so the reordering shows.
  EXPECT_EQ(ack.exec_id, "SIMX-1-1");
  EXPECT_EQ(first.exec_id, "SIMX-1-2");
  EXPECT_EQ(second.exec_id, "SIMX-1-3");
  EXPECT_EQ(last.exec_id, "SIMX-1-4");
  EXPECT_FALSE(engine.next_due());
  EXPECT_EQ(engine.counters().fills, 3u);
}

TEST(SimFaults, OutOfOrderBookIsFilledOnceTheFirstReportLeaves) {
  Action action;
  action.fills = 2;
  action.out_of_order = true;
  action.fill_interval_ms = 100;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  ASSERT_EQ(trace(out), "F");
  engine.handle(status("C1"), 1, out);
  EXPECT_EQ(er(out, 1).ord_status, '2');  // the broker executed everything already
  engine.handle(cancel("X1", "C1"), 2, out);
  const auto& reject = std::get<CancelRejectOut>(out.at(2));
  EXPECT_EQ(reject.cxl_rej_reason, 0);  // too late
  engine.run_due(1'000, out);
  EXPECT_EQ(trace(out), "F I 9 0 F");  // the held reports still leave
}

TEST(SimFaults, OutOfOrderCanceledBeforeTheFirstReportSendsNothing) {
  Action action;
  action.fills = 2;
  action.out_of_order = true;
  action.ack_delay_ms = 100;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  engine.handle(cancel("X1", "C1"), 50, out);
  engine.run_due(1'000, out);
  EXPECT_EQ(trace(out), "4");
  EXPECT_EQ(engine.counters().steps_skipped, 3u);
}

TEST(SimFaults, OutOfOrderWithDuplicates) {
  Action action;
  action.fills = 2;
  action.out_of_order = true;
  action.duplicate_reports = DuplicateReports::kPossDup;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  EXPECT_EQ(trace(out), "F +d 0 +d F +d");
  EXPECT_EQ(er(out, 0).exec_id, er(out, 1).exec_id);
  EXPECT_EQ(er(out, 0).cum_qty, D("10"));
  EXPECT_EQ(er(out, 4).cum_qty, D("5"));
}

TEST(SimFaults, DisconnectBeforePlacingForgetsTheOrderOnce) {
  Action action;
  action.disconnect = DisconnectMode::kBeforePlacing;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  EXPECT_EQ(trace(out), "X");
  EXPECT_EQ(engine.order_count(), 0u);
  EXPECT_FALSE(engine.next_due());
  engine.handle(status("C1"), 1, out);
  EXPECT_EQ(er(out, 1).ord_rej_reason, 5);  // unknown: it never arrived, as far as the book goes
  out.clear();
  // The gateway resends the same ClOrdID after reconnecting: placed normally, no disconnect.
  NewOrderIn resend = new_order("C1");
  resend.poss_resend = true;
  engine.handle(resend, 2, out);
  EXPECT_EQ(trace(out), "0 F");
  EXPECT_EQ(engine.counters().duplicate_cl_ord_ids, 0u);
  EXPECT_EQ(engine.counters().disconnects, 1u);
  EXPECT_EQ(engine.counters().forgotten_orders, 1u);
  EXPECT_EQ(engine.counters().new_orders, 1u);
}

TEST(SimFaults, DisconnectAfterPlacingRunsThePlanAfterTheDrop) {
  Action action;
  action.fills = 2;
  action.disconnect = DisconnectMode::kAfterPlacing;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  EXPECT_EQ(trace(out), "X 0 F F");  // the reports follow the drop: the session stores them
  EXPECT_NE(std::get<DisconnectOut>(out[0]).reason.find("C1"), std::string::npos);
  out.clear();
  engine.handle(new_order("C1"), 1, out);  // the ClOrdID was used up
  EXPECT_EQ(trace(out), "8");
  EXPECT_EQ(er(out, 0).ord_rej_reason, 6);
  out.clear();
  engine.handle(new_order("C2"), 2, out);  // only the first matching order disconnects
  EXPECT_EQ(trace(out), "0 F F");
  EXPECT_EQ(engine.counters().disconnects, 1u);
}

TEST(SimFaults, DisconnectEveryMatchingOrder) {
  Action action;
  action.kind = ActionKind::kAck;
  action.ack_delay_ms = 10;
  action.disconnect = DisconnectMode::kAfterPlacing;
  action.disconnect_every = true;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  engine.handle(new_order("C2"), 0, out);
  engine.handle(new_order("C3", "MSFT"), 0, out);  // no rule: no disconnect
  engine.run_due(10, out);
  EXPECT_EQ(trace(out), "X X 0 F 0 0");
  EXPECT_EQ(engine.counters().disconnects, 2u);
}

TEST(SimFaults, DisconnectFiresOncePerRule) {
  Action before;
  before.disconnect = DisconnectMode::kBeforePlacing;
  EngineOptions options;
  options.rules.push_back(rule_for("AAA", before));
  options.rules.push_back(rule_for("BBB", before));
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAA"), 0, out);
  engine.handle(new_order("C2", "BBB"), 0, out);
  engine.handle(new_order("C3", "AAA"), 0, out);
  EXPECT_EQ(trace(out), "X X 0 F");
}

TEST(SimFaults, DuplicateClOrdIdIsRejectedBeforeAnyDisconnect) {
  Action action;
  action.disconnect = DisconnectMode::kBeforePlacing;
  action.disconnect_every = true;
  Engine engine = engine_with(action, "DROP");
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL"), 0, out);
  out.clear();
  engine.handle(new_order("C1", "DROP"), 1, out);
  EXPECT_EQ(trace(out), "8");
  EXPECT_EQ(engine.counters().disconnects, 0u);
}

TEST(SimFaults, SkipSeqNumsAfterTheAckAndItsCopies) {
  Action action;
  action.fills = 2;
  action.skip_seq_after = true;
  action.duplicate_reports = DuplicateReports::kPlain;
  EngineOptions options;
  options.rules.push_back(rule_for("AAPL", action));
  options.skip_seq_nums = 7;
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  EXPECT_EQ(trace(out), "0 +p S7 F +p F +p");
  EXPECT_EQ(engine.counters().seq_skips, 1u);
}

TEST(SimFaults, SkipSeqNumsForRejectsAndOutOfOrderPlans) {
  Action reject;
  reject.kind = ActionKind::kReject;
  reject.skip_seq_after = true;
  Action shuffled;
  shuffled.fills = 2;
  shuffled.out_of_order = true;
  shuffled.skip_seq_after = true;
  EngineOptions options;
  options.rules.push_back(rule_for("REJ", reject));
  options.rules.push_back(rule_for("OOO", shuffled));
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "REJ"), 0, out);
  engine.handle(new_order("C2", "OOO"), 0, out);
  engine.handle(new_order("C3", "AAPL"), 0, out);  // unmatched: no skip by default
  EXPECT_EQ(trace(out), "8 S5 F 0 S5 F 0 F");
}

TEST(SimFaults, SkipSeqNumsForUnmatchedOrdersWhenGlobal) {
  EngineOptions options;
  options.skip_seq_nums = 3;
  options.skip_seq_after_unmatched = true;
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  EXPECT_EQ(trace(out), "0 S3 F");
}

TEST(SimFaults, LongAckDelayStillAcksThenFills) {
  Action action;
  action.fills = 2;
  action.ack_delay_ms = 5000;
  action.fill_interval_ms = 100;
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 1'000'000, out);
  EXPECT_TRUE(out.empty());
  engine.run_due(1'004'999, out);
  EXPECT_TRUE(out.empty());
  engine.handle(status("C1"), 1'004'999, out);
  EXPECT_EQ(er(out, 0).ord_status, 'A');  // pending new while the ack is delayed
  out.clear();
  engine.run_due(1'005'000, out);
  EXPECT_EQ(trace(out), "0");
  EXPECT_EQ(engine.next_due(), 1'005'100);
  engine.run_due(1'005'200, out);
  EXPECT_EQ(trace(out), "0 F F");
  EXPECT_EQ(er(out, 2).ord_status, '2');
}

TEST(SimStatus, StatusAnswerIsACompleteReportWithAFreshExecId) {
  Action action;
  action.fills = 2;
  action.fill_interval_ms = 100;
  action.fill_price = D("50");
  Engine engine = engine_with(action);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);  // ack
  engine.run_due(100, out);                              // first fill
  engine.handle(status("C1"), 150, out);
  engine.handle(status("C1"), 160, out);
  ASSERT_EQ(trace(out), "0 F I I");
  const ExecReportOut& s = er(out, 2);
  EXPECT_EQ(s.exec_type, 'I');
  EXPECT_EQ(s.ord_status, '1');
  EXPECT_EQ(s.order_id, "SIM-1-1");
  EXPECT_EQ(s.cl_ord_id, "C1");
  EXPECT_EQ(s.cum_qty, D("5"));
  EXPECT_EQ(s.leaves_qty, D("5"));
  EXPECT_EQ(s.avg_px, D("50"));
  EXPECT_EQ(s.ord_status_req_id, "Q1");
  EXPECT_FALSE(s.last_qty);  // a status is not a fill
  std::set<std::string> ids;
  for (const auto* r : reports(out)) ids.insert(r->exec_id);
  EXPECT_EQ(ids.size(), 4u);
}

TEST(SimStatus, AnswerStatusFalseLeavesStatusRequestsUnanswered) {
  Action deaf;
  deaf.kind = ActionKind::kSilent;
  deaf.answer_status = false;
  Engine engine = engine_with(deaf, "DEAF");
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "DEAF"), 0, out);
  engine.handle(status("C1"), 1, out);
  engine.handle(status("C1"), 2, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.counters().status_requests, 2u);
  EXPECT_EQ(engine.counters().status_unanswered, 2u);
  engine.handle(new_order("C2", "AAPL"), 3, out);  // other rules still answer
  engine.handle(status("C2"), 4, out);
  engine.handle(status("NOPE"), 5, out);  // and unknown orders are still reported unknown
  EXPECT_EQ(trace(out), "0 F I I");
  engine.handle(mass_status_all(), 6, out);  // mass status is not affected
  EXPECT_EQ(trace(out), "0 F I I I I");
}

// ---- engine: a cancel sent again ----

TEST(SimCancel, ACancelSentAgainForACanceledOrderIsTooLate) {
  Action ack;
  ack.kind = ActionKind::kAck;
  Engine engine(EngineOptions{{rule_for("HOLD", ack)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "HOLD"), 0, out);
  engine.handle(cancel("X1", "C1"), 1, out);
  ASSERT_EQ(trace(out), "0 4");
  out.clear();
  engine.handle(cancel("X1", "C1"), 2, out);  // the same cancel again (its answer was lost)
  ASSERT_EQ(trace(out), "9");
  const auto& reject = std::get<CancelRejectOut>(out[0]);
  EXPECT_EQ(reject.cxl_rej_reason, 0);  // too late to cancel
  EXPECT_EQ(reject.ord_status, '4');    // the order is canceled
  EXPECT_EQ(reject.order_id, "SIM-1-1");
  EXPECT_EQ(reject.cl_ord_id, "X1");
  EXPECT_EQ(reject.orig_cl_ord_id, "C1");
  EXPECT_EQ(reject.text, "order already canceled");
  EXPECT_EQ(engine.counters().cancels, 1u);  // never a second cancel
  EXPECT_EQ(engine.counters().cancel_resends, 1u);
  EXPECT_EQ(engine.counters().duplicate_cl_ord_ids, 0u);
  out.clear();
  engine.handle(status("X1"), 3, out);  // and the order is still canceled
  EXPECT_EQ(er(out, 0).ord_status, '4');
}

TEST(SimCancel, ACancelSentAgainForAnUnknownOrderIsUnknownAgain) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  engine.handle(cancel("X1", "NOPE"), 0, out);
  engine.handle(cancel("X1", "NOPE"), 1, out);
  ASSERT_EQ(trace(out), "9 9");
  for (const Outgoing& o : out) {
    const auto& reject = std::get<CancelRejectOut>(o);
    EXPECT_EQ(reject.cxl_rej_reason, 1);  // unknown order
    EXPECT_EQ(reject.ord_status, '8');
    EXPECT_EQ(reject.order_id, "NONE");
    EXPECT_EQ(reject.text, "unknown OrigClOrdID");
  }
}

TEST(SimCancel, ACancelSentAgainAfterItsOrderArrivedCancelsIt) {
  // The first copy overtook the order (e.g. the order was resent after a lost connection).
  Action ack;
  ack.kind = ActionKind::kAck;
  Engine engine(EngineOptions{{rule_for("HOLD", ack)}, 1, 100, {}});
  std::vector<Outgoing> out;
  engine.handle(cancel("X1", "C1"), 0, out);
  engine.handle(new_order("C1", "HOLD"), 1, out);
  engine.handle(cancel("X1", "C1"), 2, out);
  ASSERT_EQ(trace(out), "9 0 4");
  EXPECT_EQ(er(out, 2).cl_ord_id, "X1");
  EXPECT_EQ(er(out, 2).orig_cl_ord_id, "C1");
  EXPECT_EQ(engine.counters().cancels, 1u);
}

TEST(SimCancel, ACancelSentAgainCanBeRefusedAsADuplicateClOrdId) {
  Action ack;
  ack.kind = ActionKind::kAck;
  EngineOptions options{{rule_for("HOLD", ack)}, 1, 100, {}};
  options.resent_cancel = ResentCancelPolicy::kDuplicate;
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "HOLD"), 0, out);
  engine.handle(cancel("X1", "C1"), 1, out);
  engine.handle(cancel("X1", "C1"), 2, out);
  ASSERT_EQ(trace(out), "0 4 9");
  const auto& reject = std::get<CancelRejectOut>(out[2]);
  EXPECT_EQ(reject.cxl_rej_reason, 6);
  EXPECT_EQ(reject.ord_status, '4');
  EXPECT_EQ(engine.counters().cancel_resends, 1u);
  EXPECT_EQ(engine.counters().duplicate_cl_ord_ids, 1u);
}

TEST(SimStatus, StatusRequestsCanBeUnsupported) {
  Action silent;
  silent.kind = ActionKind::kSilent;
  EngineOptions options;
  options.rules.push_back(rule_for("SLNT", silent));
  options.status_requests = StatusRequestPolicy::kUnsupported;
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL"), 0, out);
  engine.handle(new_order("C2", "SLNT"), 0, out);
  out.clear();
  StatusIn known = status("C1");
  known.msg_seq_num = 17;
  engine.handle(known, 1, out);
  engine.handle(status("C2"), 2, out);
  engine.handle(status("NOPE"), 3, out);  // unknown ClOrdIDs too: the message type is refused
  ASSERT_EQ(trace(out), "j j j");
  const auto& reject = std::get<BusinessRejectOut>(out[0]);
  EXPECT_EQ(reject.ref_msg_type, "H");
  EXPECT_EQ(reject.ref_seq_num, 17);
  EXPECT_EQ(reject.business_reject_ref_id, "C1");
  EXPECT_EQ(reject.reason, 3);  // unsupported message type
  EXPECT_EQ(reject.text, "OrderStatusRequest not supported");
  EXPECT_EQ(std::get<BusinessRejectOut>(out[2]).business_reject_ref_id, "NOPE");
  EXPECT_EQ(engine.counters().status_requests, 3u);
  EXPECT_EQ(engine.counters().status_unsupported, 3u);
  out.clear();
  engine.handle(mass_status_all(), 4, out);  // mass status still answers
  EXPECT_EQ(trace(out), "I I");
}

MassStatusIn mass_status(int type, std::string symbol = "") {
  MassStatusIn in;
  in.mass_status_req_id = "M1";
  in.mass_status_req_type = type;
  in.symbol = std::move(symbol);
  in.msg_seq_num = 9;
  return in;
}

TEST(SimStatus, MassStatusReportsEveryOrderInTheBook) {
  Action ack;
  ack.kind = ActionKind::kAck;
  Action silent;
  silent.kind = ActionKind::kSilent;
  EngineOptions options;
  options.rules.push_back(rule_for("HOLD", ack));
  options.rules.push_back(rule_for("SLNT", silent));
  Engine engine(options);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL"), 0, out);
  engine.handle(new_order("C2", "HOLD"), 0, out);
  engine.handle(new_order("C3", "SLNT"), 0, out);
  engine.handle(new_order("C4", "AAPL", "0"), 0, out);  // invalid: never in the book
  out.clear();
  engine.handle(mass_status(7), 1, out);
  ASSERT_EQ(trace(out), "I I I");
  std::vector<std::string> ids;
  std::vector<char> statuses;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const ExecReportOut& r = er(out, i);
    ids.push_back(r.cl_ord_id);
    statuses.push_back(r.ord_status);
    EXPECT_EQ(r.mass_status_req_id, "M1");
    EXPECT_EQ(r.tot_num_reports, 3);
    EXPECT_EQ(r.last_rpt_requested, i == 2);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"C1", "C2", "C3"}));
  EXPECT_EQ(statuses, (std::vector<char>{'2', '0', 'A'}));
  EXPECT_NE(er(out, 0).exec_id, er(out, 1).exec_id);
  EXPECT_EQ(engine.counters().mass_status_requests, 1u);

  out.clear();
  engine.handle(mass_status(1, "HOLD"), 2, out);  // for one security
  ASSERT_EQ(trace(out), "I");
  EXPECT_EQ(er(out, 0).cl_ord_id, "C2");
  EXPECT_EQ(er(out, 0).tot_num_reports, 1);
  EXPECT_EQ(er(out, 0).last_rpt_requested, true);
}

TEST(SimStatus, MassStatusOfAnEmptyBookSaysSo) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  engine.handle(mass_status(7), 0, out);
  ASSERT_EQ(trace(out), "I");
  const ExecReportOut& r = er(out, 0);
  EXPECT_EQ(r.order_id, "NONE");
  EXPECT_EQ(r.cl_ord_id, "");
  EXPECT_EQ(r.ord_status, '8');
  EXPECT_EQ(r.tot_num_reports, 0);
  EXPECT_EQ(r.last_rpt_requested, true);
  EXPECT_EQ(r.mass_status_req_id, "M1");
}

TEST(SimStatus, UnsupportedMassStatusTypesAreRejected) {
  Engine engine(EngineOptions{});
  std::vector<Outgoing> out;
  engine.handle(mass_status(8), 0, out);
  engine.handle(mass_status(1), 0, out);  // by security, without a Symbol
  ASSERT_EQ(trace(out), "j j");
  const auto& unsupported = std::get<BusinessRejectOut>(out[0]);
  EXPECT_EQ(unsupported.ref_msg_type, "AF");
  EXPECT_EQ(unsupported.ref_seq_num, 9);
  EXPECT_EQ(unsupported.business_reject_ref_id, "M1");
  EXPECT_EQ(unsupported.reason, 0);
  EXPECT_EQ(std::get<BusinessRejectOut>(out[1]).reason, 5);
}

TEST(SimDialect, ExtraTagsRideOnEveryReportOfTheRulesOrdersAndTheirCopies) {
  const std::vector<ExtraTag> extra{{9001, "ABC"}, {20001, "x"}, {494, "DESK-7"}};
  Action fill;
  fill.fills = 2;
  fill.duplicate_reports = DuplicateReports::kPossDup;
  fill.extra_tags = extra;
  Action ack;
  ack.kind = ActionKind::kAck;
  ack.extra_tags = extra;
  Action reject;
  reject.kind = ActionKind::kReject;
  reject.extra_tags = extra;
  EngineOptions options;
  options.rules = {rule_for("FILL", fill), rule_for("ACK", ack), rule_for("REJ", reject)};
  Engine engine(std::move(options));
  std::vector<Outgoing> out;
  engine.handle(new_order("F1", "FILL"), 0, out);
  engine.handle(status("F1"), 1, out);
  engine.handle(new_order("A1", "ACK"), 2, out);
  engine.handle(cancel("X1", "A1"), 3, out);
  engine.handle(new_order("R1", "REJ"), 4, out);
  engine.handle(mass_status_all(), 5, out);
  EXPECT_EQ(trace(out), "0 +d F +d F +d I 0 4 8 I I I");
  for (const ExecReportOut* r : reports(out)) {
    EXPECT_EQ(r->extra_tags, extra) << r->cl_ord_id << " " << r->exec_type;
  }
}

TEST(SimDialect, ExtraTagsOnlyForTheMatchingRule) {
  Action action;
  action.extra_tags = {{9001, "ABC"}};
  Engine engine = engine_with(action, "DIALECT");
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL"), 0, out);
  engine.handle(new_order("C1", "DIALECT"), 1, out);  // duplicate ClOrdID: not the rule's order
  engine.handle(status("NOPE"), 2, out);              // unknown order
  EXPECT_EQ(trace(out), "0 F 8 I");
  for (const ExecReportOut* r : reports(out)) EXPECT_TRUE(r->extra_tags.empty()) << r->exec_type;
  out.clear();
  engine.handle(new_order("C2", "DIALECT"), 3, out);
  EXPECT_EQ(trace(out), "0 F");
  for (const ExecReportOut* r : reports(out)) EXPECT_EQ(r->extra_tags.size(), 1u);
}

TEST(SimDialect, HeaderTrailerAndTheSimulatorsOwnTagsAreRefused) {
  for (int tag : {8, 9, 10, 34, 35, 43, 49, 52, 56, 97, 122, 627}) {
    const auto why = extra_tag_refusal(tag);
    ASSERT_TRUE(why) << tag;
    EXPECT_NE(why->find("header or trailer"), std::string::npos) << *why;
  }
  for (int tag : {1,  6,  11, 14, 17, 31,  32,  37,  38,  39,  40,  41,
                  44, 54, 55, 58, 60, 103, 150, 151, 584, 790, 911, 912}) {
    const auto why = extra_tag_refusal(tag);
    ASSERT_TRUE(why) << tag;
    EXPECT_NE(why->find("(" + std::to_string(tag) + ") is written by the simulator itself"),
              std::string::npos)
        << *why;
  }
  EXPECT_TRUE(extra_tag_refusal(0));
  EXPECT_TRUE(extra_tag_refusal(-5));
  for (int tag : {18, 100, 118, 494, 847, 5000, 9001, 9999, 10000, 20001}) {
    EXPECT_FALSE(extra_tag_refusal(tag)) << tag << ": " << extra_tag_refusal(tag).value_or("");
  }
}

// ---- config ----

TEST(SimConfig, MinimalConfigGetsDefaults) {
  const auto c = parse(kMinimal);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->listen_address, "127.0.0.1");
  EXPECT_EQ(c->port, 9878);
  EXPECT_EQ(c->sender_comp_id, "SIMBROKER");
  EXPECT_EQ(c->target_comp_id, "BROKERGW");
  EXPECT_EQ(c->data_dictionary, std::filesystem::path("/etc/brokersim/dict.xml"));
  EXPECT_EQ(c->journal_file, std::filesystem::path("/tmp/sim-state/journal.jsonl"));
  EXPECT_TRUE(c->rules.empty());
}

TEST(SimConfig, ParsesRules) {
  const auto c = parse(kMinimal +
                       "[[rules]]\n"
                       "name = \"big\"\n"
                       "symbol = \"AAPL\"\n"
                       "side = \"sell\"\n"
                       "min_qty = 100\n"
                       "max_qty = \"1000.5\"\n"
                       "action = \"fill\"\n"
                       "fills = 4\n"
                       "fill_price = \"187.25\"\n"
                       "price_step = \"-0.01\"\n"
                       "ack_delay_ms = 5\n"
                       "fill_interval_ms = 200\n"
                       "[[rules]]\n"
                       "account = \"BAD\"\n"
                       "action = \"reject\"\n"
                       "reason = \"account blocked\"\n"
                       "ord_rej_reason = 15\n");
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->rules.size(), 2u);
  const Rule& big = c->rules[0];
  EXPECT_EQ(big.name, "big");
  EXPECT_EQ(big.match.symbol, "AAPL");
  EXPECT_EQ(big.match.side, '2');
  EXPECT_EQ(big.match.min_qty, D("100"));
  EXPECT_EQ(big.match.max_qty, D("1000.5"));
  EXPECT_EQ(big.action.fills, 4);
  EXPECT_EQ(big.action.fill_price, D("187.25"));
  EXPECT_EQ(big.action.price_step, D("-0.01"));
  EXPECT_EQ(big.action.ack_delay_ms, 5);
  EXPECT_EQ(big.action.fill_interval_ms, 200);
  EXPECT_EQ(c->rules[1].name, "rules[1]");
  EXPECT_EQ(c->rules[1].action.kind, ActionKind::kReject);
  EXPECT_EQ(c->rules[1].action.reject_text, "account blocked");
  EXPECT_EQ(c->rules[1].action.ord_rej_reason, 15);
}

TEST(SimConfig, ErrorsNameTheKey) {
  expect_error("data_dictionary = \"d\"\nstate_dir = \"s\"\n", "port: missing");
  expect_error(kMinimal + "listen_address = \"0.0.0.0\"\n", "listen_address: must be");
  expect_error(kMinimal + "listen_address = \"10.0.0.1\"\n", "listen_address");
  expect_error(kMinimal + "prot = 1\n", "prot: unknown key");
  expect_error(kMinimal + "port = 70000\n", "test.toml");  // duplicate key: TOML error
  expect_error("port = 70000\ndata_dictionary = \"d\"\nstate_dir = \"s\"\n", "port: must be in");
  expect_error(kMinimal + "[[rules]]\naction = \"fil\"\n", "rules[0].action");
  expect_error(kMinimal + "[[rules]]\nsymbol = \"A\"\n", "rules[0].action: missing");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nfills = 0\n", "rules[0].fills");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nfill_price = 1.5\n",
               "rules[0].fill_price: write decimals as strings");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nfill_price = \"1.5.1\"\n",
               "rules[0].fill_price");
  expect_error(kMinimal + "[[rules]]\naction = \"ack\"\nfills = 2\n",
               "rules[0].fills: not used by action \"ack\"");
  expect_error(kMinimal + "[[rules]]\naction = \"silent\"\nack_delay_ms = 2\n",
               "rules[0].ack_delay_ms: not used");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nside = \"long\"\n", "rules[0].side");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nmin_qty = \"5\"\nmax_qty = \"4\"\n",
               "rules[0].min_qty: must not exceed max_qty");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nsymbl = \"A\"\n",
               "rules[0].symbl: unknown key");
  expect_error(kMinimal + "log_level = \"loud\"\n", "log_level");
  expect_error(kMinimal + "poss_resend_duplicate = \"maybe\"\n", "poss_resend_duplicate");
  expect_error(kMinimal + "status_requests = \"never\"\n",
               "status_requests: must be \"answer\" or \"unsupported\"");
  expect_error(kMinimal + "resent_cancel = \"ignore\"\n",
               "resent_cancel: must be \"too_late\" or \"duplicate\"");
}

TEST(SimConfig, ParsesStatusAndResentCancelPolicies) {
  auto c = parse(kMinimal);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->status_requests, StatusRequestPolicy::kAnswer);
  EXPECT_EQ(c->resent_cancel, ResentCancelPolicy::kTooLate);
  EXPECT_EQ(c->poss_resend_duplicate, PossResendDuplicatePolicy::kReject);
  c = parse(kMinimal + "status_requests = \"unsupported\"\nresent_cancel = \"duplicate\"\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->status_requests, StatusRequestPolicy::kUnsupported);
  EXPECT_EQ(c->resent_cancel, ResentCancelPolicy::kDuplicate);
  c = parse(kMinimal + "status_requests = \"answer\"\nresent_cancel = \"too_late\"\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->status_requests, StatusRequestPolicy::kAnswer);
  EXPECT_EQ(c->resent_cancel, ResentCancelPolicy::kTooLate);
}

TEST(SimConfig, ParsesFaultModes) {
  const auto c = parse(kMinimal +
                       "control_file = \"ctl/commands\"\n"
                       "[[rules]]\n"
                       "symbol = \"DUP\"\n"
                       "action = \"fill\"\n"
                       "fills = 3\n"
                       "duplicate_reports = \"both\"\n"
                       "out_of_order = true\n"
                       "[[rules]]\n"
                       "symbol = \"DROP\"\n"
                       "action = \"silent\"\n"
                       "disconnect = \"before_placing\"\n"
                       "disconnect_every = true\n"
                       "[[rules]]\n"
                       "symbol = \"GAP\"\n"
                       "action = \"ack\"\n"
                       "skip_seq_after = true\n"
                       "disconnect = \"after_placing\"\n"
                       "answer_status = false\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->control_file, std::filesystem::path("/etc/brokersim/ctl/commands"));
  EXPECT_FALSE(c->skip_seq_all_orders);
  EXPECT_EQ(c->skip_seq_nums, kDefaultSkipSeqNums);
  ASSERT_EQ(c->rules.size(), 3u);
  EXPECT_EQ(c->rules[0].action.duplicate_reports, DuplicateReports::kBoth);
  EXPECT_TRUE(c->rules[0].action.out_of_order);
  EXPECT_FALSE(c->rules[0].action.skip_seq_after);
  EXPECT_EQ(c->rules[0].action.disconnect, DisconnectMode::kNone);
  EXPECT_EQ(c->rules[1].action.disconnect, DisconnectMode::kBeforePlacing);
  EXPECT_TRUE(c->rules[1].action.disconnect_every);
  EXPECT_EQ(c->rules[2].action.disconnect, DisconnectMode::kAfterPlacing);
  EXPECT_FALSE(c->rules[2].action.disconnect_every);
  EXPECT_TRUE(c->rules[2].action.skip_seq_after);
  EXPECT_FALSE(c->rules[2].action.answer_status);
  EXPECT_TRUE(c->rules[0].action.answer_status);
}

TEST(SimConfig, GlobalSkipSeqNumsAppliesToEveryRuleUnlessItOptsOut) {
  const auto c = parse(kMinimal +
                       "skip_seq_nums = 12\n"
                       "[[rules]]\n"
                       "action = \"fill\"\n"
                       "symbol = \"A\"\n"
                       "[[rules]]\n"
                       "action = \"fill\"\n"
                       "symbol = \"B\"\n"
                       "skip_seq_after = false\n"
                       "[[rules]]\n"
                       "action = \"silent\"\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->skip_seq_nums, 12);
  EXPECT_TRUE(c->skip_seq_all_orders);
  EXPECT_TRUE(c->rules[0].action.skip_seq_after);
  EXPECT_FALSE(c->rules[1].action.skip_seq_after);
  EXPECT_FALSE(c->rules[2].action.skip_seq_after);  // silent: no ack to skip after
}

TEST(SimConfig, FaultModeErrorsNameTheKey) {
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nduplicate_reports = \"twice\"\n",
               "rules[0].duplicate_reports: must be");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nduplicate_reports = true\n",
               "rules[0].duplicate_reports: must be a string");
  expect_error(kMinimal + "[[rules]]\naction = \"ack\"\nout_of_order = true\n",
               "rules[0].out_of_order: not used by action \"ack\"");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nout_of_order = 1\n",
               "rules[0].out_of_order: must be true or false");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\ndisconnect = \"now\"\n",
               "rules[0].disconnect: must be");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\ndisconnect = \"none\"\n",
               "rules[0].disconnect: must be");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\ndisconnect_every = true\n",
               "rules[0].disconnect_every: needs disconnect");
  expect_error(kMinimal + "[[rules]]\naction = \"silent\"\nskip_seq_after = true\n",
               "rules[0].skip_seq_after: not used by action \"silent\"");
  expect_error(kMinimal + "skip_seq_nums = 0\n", "skip_seq_nums: must be in 1..1000000");
  expect_error(kMinimal + "control_file = \"\"\n", "control_file: must not be empty");
}

TEST(SimConfig, ParsesExtraTags) {
  const auto c = parse(kMinimal +
                       "[[rules]]\n"
                       "symbol = \"DIALECT\"\n"
                       "action = \"fill\"\n"
                       "extra_tags = [\"9001=ABC\", \"20001=a=b|c\", \"494=DESK 7\"]\n"
                       "[[rules]]\n"
                       "action = \"silent\"\n"
                       "extra_tags = [\"118=1872.50\"]\n"
                       "[[rules]]\n"
                       "action = \"reject\"\n"
                       "extra_tags = []\n"
                       "[[rules]]\n"
                       "action = \"fill\"\n");
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->rules.size(), 4u);
  EXPECT_EQ(c->rules[0].action.extra_tags,
            (std::vector<ExtraTag>{{9001, "ABC"}, {20001, "a=b|c"}, {494, "DESK 7"}}));
  EXPECT_EQ(c->rules[1].action.extra_tags, (std::vector<ExtraTag>{{118, "1872.50"}}));
  EXPECT_TRUE(c->rules[2].action.extra_tags.empty());
  EXPECT_TRUE(c->rules[3].action.extra_tags.empty());
}

TEST(SimConfig, ExtraTagErrorsNameTheEntry) {
  const std::string rule = kMinimal + "[[rules]]\naction = \"fill\"\n";
  expect_error(rule + "extra_tags = \"9001=ABC\"\n",
               "rules[0].extra_tags: must be an array of \"<tag>=<value>\" strings");
  expect_error(rule + "extra_tags = [9001]\n", "rules[0].extra_tags[0]: must be a string");
  expect_error(rule + "extra_tags = [\"9001\"]\n",
               "rules[0].extra_tags[0]: \"9001\": must be \"<tag>=<value>\"");
  for (const char* bad :
       {"=x", "x=1", "09001=x", "-5=x", "+5=x", "0=x", "9001 =x", "1e3=x", "99999999999=x"}) {
    expect_error(rule + "extra_tags = [\"" + bad + "\"]\n",
                 "the tag must be a positive integer without leading zeros");
  }
  expect_error(rule + "extra_tags = [\"9001=ABC\", \"9002=\"]\n",
               "rules[0].extra_tags[1]: \"9002=\": the value must not be empty");
  expect_error(rule + "extra_tags = [\"9001=A\\u0001B\"]\n", "must not contain SOH");
  expect_error(rule + "extra_tags = [\"9001=A\", \"20001=x\", \"9001=B\"]\n",
               "rules[0].extra_tags[2]: tag 9001 given twice");
  expect_error(rule + "extra_tags = [\"58=x\"]\n",
               "rules[0].extra_tags[0]: \"58=x\": Text(58) is written by the simulator itself");
  expect_error(rule + "extra_tags = [\"52=x\"]\n", "tag 52 is a standard header or trailer field");
}

TEST(SimConfig, LoopbackAddresses) {
  EXPECT_TRUE(is_loopback_ipv4("127.0.0.1"));
  EXPECT_TRUE(is_loopback_ipv4("127.1.2.3"));
  for (const char* bad : {"0.0.0.0", "128.0.0.1", "127.0.0", "127.0.0.1.1", "127.0.0.256",
                          "localhost", "::1", "127..0.1", " 127.0.0.1", ""}) {
    EXPECT_FALSE(is_loopback_ipv4(bad)) << bad;
  }
}

TEST(SimConfig, ExampleConfigIsValid) {
  const auto c = load_config(std::filesystem::path(BROKERGW_SOURCE_DIR) / "sim/sim.example.toml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->rules.empty());
  EXPECT_EQ(c->data_dictionary,
            std::filesystem::path(BROKERGW_SOURCE_DIR) / "fixspec/FIX44.brokergw.xml");
}

// ---- control channel ----

ControlCommand command_of(std::string_view line) {
  const auto parsed = parse_control_line(line);
  EXPECT_TRUE(parsed) << line << ": " << parsed.error();
  return parsed ? parsed->command : ControlCommand::kNone;
}

TEST(SimControl, ParsesCommands) {
  EXPECT_EQ(command_of("disconnect"), ControlCommand::kDisconnect);
  EXPECT_EQ(command_of("  disconnect \r"), ControlCommand::kDisconnect);
  EXPECT_EQ(command_of(""), ControlCommand::kNone);
  EXPECT_EQ(command_of("   "), ControlCommand::kNone);
  EXPECT_EQ(command_of("# a comment"), ControlCommand::kNone);
  const auto unknown = parse_control_line("freeze_ms 100");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("freeze_ms 100"), std::string::npos) << unknown.error();
  EXPECT_FALSE(parse_control_line("Disconnect"));
  EXPECT_FALSE(parse_control_line("disconnect now"));
}

TEST(SimControl, RunsOnlyCompleteLines) {
  ControlLineBuffer buffer;
  EXPECT_TRUE(buffer.feed("disc").empty());
  EXPECT_EQ(buffer.feed("onnect\n# x\nnext"), (std::vector<std::string>{"disconnect", "# x"}));
  EXPECT_EQ(buffer.feed("\n"), (std::vector<std::string>{"next"}));
  EXPECT_TRUE(buffer.feed("").empty());
}

TEST(SimControl, DropsOverlongLines) {
  ControlLineBuffer buffer;
  EXPECT_TRUE(buffer.feed(std::string(ControlLineBuffer::kMaxLine + 1, 'x')).empty());
  EXPECT_EQ(buffer.feed("yyy\ndisconnect\n"), (std::vector<std::string>{"disconnect"}));
}

// ---- journal ----

TEST(SimJournal, MasksSecretsOnly) {
  const std::string raw =
      "8=FIX.4.4\x01"
      "35=A\x01"
      "553=user\x01"
      "554=s3cr=t\x01"
      "1554=x\x01"
      "5540=y\x01"
      "96=raw\x01"
      "10=000\x01";
  EXPECT_EQ(printable_fix(raw), "8=FIX.4.4|35=A|553=user|554=***|1554=x|5540=y|96=***|10=000|");
  EXPECT_EQ(mask_secrets("554=a|58=b"), "554=***|58=b");
  EXPECT_EQ(mask_secrets("58=554=x"), "58=554=x");
}

TEST(SimJournal, LineIsOneJsonObject) {
  JournalEntry entry;
  entry.ts_us = 1'700'000'000'000'000;
  entry.msg_type = "D";
  entry.cl_ord_id = "C\"1";
  entry.msg_seq_num = 42;
  entry.poss_resend = true;
  entry.raw =
      "8=FIX.4.4\x01"
      "35=D\x01"
      "11=C\"1\x01";
  const std::string line = journal_line(entry);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts_us"], 1'700'000'000'000'000);
  EXPECT_EQ(j["msg_type"], "D");
  EXPECT_EQ(j["cl_ord_id"], "C\"1");
  EXPECT_EQ(j["msg_seq_num"], 42);
  EXPECT_EQ(j["poss_resend"], true);
  EXPECT_EQ(j["poss_dup"], false);
  EXPECT_EQ(j["raw"], "8=FIX.4.4|35=D|11=C\"1|");

  entry.cl_ord_id.reset();
  EXPECT_TRUE(nlohmann::json::parse(journal_line(entry))["cl_ord_id"].is_null());
}

}  // namespace
}  // namespace brokergw::sim
