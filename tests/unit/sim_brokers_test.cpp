// Unit tests for what real FIX brokers do that the simulator plays on request
// (docs/SIMULATOR.md, "Real-broker behaviours"): ExecIDs that restart, ExecID 0 on status
// answers, the GapFill-only resend's configuration, and the control file's book commands
// (busts, corrections, restatements, stray reports) with the book that follows them, and which
// reports a rule's field_order applies to. Pure: no
// sockets, no QuickFIX, no clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/config.h"
#include "sim/control.h"
#include "sim/engine.h"
#include "tests/unit/sim_test_support.h"

namespace brokergw::sim {
namespace {

using namespace simtest;  // NOLINT(google-build-using-namespace): shared test helpers

EngineOptions options_with(ExecIdStyle ids, StatusExecId status_ids, std::uint64_t run = 3) {
  EngineOptions options;
  options.run_number = run;
  options.exec_ids = ids;
  options.status_exec_id = status_ids;
  return options;
}

std::vector<std::string> exec_ids(const std::vector<Outgoing>& out) {
  std::vector<std::string> ids;
  for (const ExecReportOut* r : reports(out)) ids.push_back(r->exec_id);
  return ids;
}

// ---- exec_ids ----

TEST(SimExecIds, UniqueByDefaultCarryTheRunNumber) {
  Engine engine(options_with(ExecIdStyle::kUnique, StatusExecId::kFresh));
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  EXPECT_EQ(exec_ids(out), (std::vector<std::string>{"SIMX-3-1", "SIMX-3-2"}));
  EXPECT_EQ(er(out, 0).order_id, "SIM-3-1");
}

TEST(SimExecIds, RestartCountsFromOneInEveryRunWhileOrderIdsStayUnique) {
  std::vector<std::vector<std::string>> per_run;
  std::vector<std::string> order_ids;
  for (std::uint64_t run : {1u, 2u}) {
    Engine engine(options_with(ExecIdStyle::kRestart, StatusExecId::kFresh, run));
    std::vector<Outgoing> out;
    engine.handle(new_order("C1"), 0, out);
    engine.handle(status("C1"), 1, out);
    per_run.push_back(exec_ids(out));
    order_ids.push_back(er(out, 0).order_id);
  }
  const std::vector<std::string> expected{"1", "2", "3"};
  EXPECT_EQ(per_run[0], expected);
  EXPECT_EQ(per_run[1], expected);  // the same ExecIDs again after the restart
  EXPECT_EQ(order_ids, (std::vector<std::string>{"SIM-1-1", "SIM-2-1"}));
}

// ---- status_exec_id ----

TEST(SimExecIds, ZeroStatusExecIdOnEveryOrderStatusReportAndNoNumberUsed) {
  Action ack;
  ack.kind = ActionKind::kAck;
  EngineOptions options = options_with(ExecIdStyle::kRestart, StatusExecId::kZero);
  options.rules.push_back(rule_for("AAPL", ack));
  options.poss_resend_duplicate = PossResendDuplicatePolicy::kStatus;
  Engine engine(std::move(options));
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);    // ack: "1"
  engine.handle(status("C1"), 1, out);       // known order
  engine.handle(status("NOPE"), 2, out);     // unknown order
  engine.handle(mass_status_all(), 3, out);  // one per order
  NewOrderIn again = new_order("C1");
  again.poss_resend = true;
  engine.handle(again, 4, out);               // PossResend answered with status
  engine.handle(cancel("X1", "C1"), 5, out);  // canceled: "2", the next number after the ack
  EXPECT_EQ(trace(out), "0 I I I I 4");
  EXPECT_EQ(exec_ids(out), (std::vector<std::string>{"1", "0", "0", "0", "0", "2"}));

  Engine empty(options_with(ExecIdStyle::kUnique, StatusExecId::kZero));
  out.clear();
  empty.handle(mass_status_all(), 0, out);  // "no orders"
  EXPECT_EQ(exec_ids(out), (std::vector<std::string>{"0"}));
}

TEST(SimExecIds, FreshStatusExecIdsByDefault) {
  Engine engine(options_with(ExecIdStyle::kUnique, StatusExecId::kFresh));
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  engine.handle(status("C1"), 1, out);
  EXPECT_EQ(exec_ids(out).back(), "SIMX-3-3");
}

TEST(SimExecIds, ConfigKeys) {
  auto c = parse(kMinimal);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->exec_ids, ExecIdStyle::kUnique);
  EXPECT_EQ(c->status_exec_id, StatusExecId::kFresh);
  c = parse(kMinimal + "exec_ids = \"restart\"\nstatus_exec_id = \"zero\"\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->exec_ids, ExecIdStyle::kRestart);
  EXPECT_EQ(c->status_exec_id, StatusExecId::kZero);
  expect_error(kMinimal + "exec_ids = \"reset\"\n",
               "exec_ids: must be \"unique\" or \"restart\", got \"reset\"");
  expect_error(kMinimal + "status_exec_id = 0\n", "status_exec_id: must be a string");
}

// ---- resend ----

TEST(SimResend, ConfigKey) {
  auto c = parse(kMinimal);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->resend, ResendPolicy::kReplay);
  c = parse(kMinimal + "resend = \"gap_fill\"\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->resend, ResendPolicy::kGapFill);
  expect_error(kMinimal + "resend = \"gapfill\"\n",
               "resend: must be \"replay\" or \"gap_fill\", got \"gapfill\"");
}

// ---- busts, corrections, restatements, stray reports ----

BookCommandIn bust_of(std::string cl_ord_id, std::string exec_id = "") {
  BookCommandIn in;
  in.kind = BookCommandKind::kBust;
  in.cl_ord_id = std::move(cl_ord_id);
  in.exec_ref_id = std::move(exec_id);
  return in;
}

BookCommandIn correct_of(std::string cl_ord_id, std::string qty, std::string px,
                         std::string exec_id = "") {
  BookCommandIn in;
  in.kind = BookCommandKind::kCorrect;
  in.cl_ord_id = std::move(cl_ord_id);
  in.last_qty = D(qty);
  in.last_px = D(px);
  in.exec_ref_id = std::move(exec_id);
  return in;
}

BookCommandIn restate_of(std::string cl_ord_id, int reason = 4) {
  BookCommandIn in;
  in.kind = BookCommandKind::kRestate;
  in.cl_ord_id = std::move(cl_ord_id);
  in.restatement_reason = reason;
  return in;
}

BookCommandIn stray_of(std::string cl_ord_id, StrayReport report = StrayReport::kFill) {
  BookCommandIn in;
  in.kind = BookCommandKind::kStray;
  in.cl_ord_id = std::move(cl_ord_id);
  in.stray = report;
  return in;
}

// The last ExecutionReport in `out`.
const ExecReportOut& last_report(const std::vector<Outgoing>& out) {
  const auto r = reports(out);
  EXPECT_FALSE(r.empty());
  return *r.back();
}

std::string last_notice(const std::vector<Outgoing>& out) {
  for (auto it = out.rbegin(); it != out.rend(); ++it) {
    if (const auto* n = std::get_if<NoticeOut>(&*it)) return n->text;
  }
  return "";
}

// Two fills of 5 at 10 and 11: ExecIDs "1" (ack), "2", "3" with exec_ids = "restart".
Engine two_fill_engine(std::int64_t fill_interval_ms = 0) {
  Action fill;
  fill.fills = 2;
  fill.fill_price = D("10");
  fill.price_step = D("1");
  fill.fill_interval_ms = fill_interval_ms;
  EngineOptions options;
  options.exec_ids = ExecIdStyle::kRestart;
  options.rules.push_back(rule_for("AAPL", fill));
  return Engine(std::move(options));
}

TEST(SimBook, BustOfTheLastFillReopensAFilledOrder) {
  Engine engine = two_fill_engine();
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  ASSERT_EQ(trace(out), "0 F F");
  out.clear();
  engine.handle(bust_of("C1"), 1, out);
  ASSERT_EQ(trace(out), "n H");
  const ExecReportOut& bust = last_report(out);
  EXPECT_EQ(bust.exec_type, 'H');
  EXPECT_EQ(bust.exec_id, "4");      // fresh, from the same counter
  EXPECT_EQ(bust.exec_ref_id, "3");  // the busted fill
  EXPECT_EQ(bust.last_qty, D("5"));
  EXPECT_EQ(bust.last_px, D("11"));
  EXPECT_EQ(bust.cum_qty, D("5"));
  EXPECT_EQ(bust.leaves_qty, D("5"));
  EXPECT_EQ(bust.avg_px, D("10"));
  EXPECT_EQ(bust.ord_status, '1');
  EXPECT_EQ(bust.order_id, "SIM-1-1");
  EXPECT_EQ(bust.cl_ord_id, "C1");
  EXPECT_EQ(engine.counters().busts, 1u);

  // The book follows: status says partially filled, and the open rest can be canceled.
  out.clear();
  engine.handle(status("C1"), 2, out);
  EXPECT_EQ(last_report(out).ord_status, '1');
  EXPECT_EQ(last_report(out).cum_qty, D("5"));
  EXPECT_EQ(last_report(out).avg_px, D("10"));
  out.clear();
  engine.handle(cancel("X1", "C1"), 3, out);
  ASSERT_EQ(trace(out), "4");
  EXPECT_EQ(last_report(out).cum_qty, D("5"));
}

TEST(SimBook, BustByExecIdAndOfEveryFill) {
  Engine engine = two_fill_engine();
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  out.clear();
  engine.handle(bust_of("C1", "2"), 1, out);  // the first fill, 5 @ 10
  EXPECT_EQ(last_report(out).exec_ref_id, "2");
  EXPECT_EQ(last_report(out).last_px, D("10"));
  EXPECT_EQ(last_report(out).avg_px, D("11"));
  EXPECT_EQ(last_report(out).ord_status, '1');
  out.clear();
  engine.handle(bust_of("C1"), 2, out);  // the last live fill: "3"
  EXPECT_EQ(last_report(out).exec_ref_id, "3");
  EXPECT_EQ(last_report(out).cum_qty, D("0"));
  EXPECT_EQ(last_report(out).avg_px, D("0"));
  EXPECT_EQ(last_report(out).leaves_qty, D("10"));
  EXPECT_EQ(last_report(out).ord_status, '0');

  out.clear();
  engine.handle(bust_of("C1"), 3, out);
  EXPECT_EQ(trace(out), "w");
  EXPECT_NE(last_notice(out).find("every fill of the order is busted"), std::string::npos);
  out.clear();
  engine.handle(bust_of("C1", "2"), 3, out);
  EXPECT_EQ(trace(out), "w");
  EXPECT_NE(last_notice(out).find("fill 2 is already busted"), std::string::npos);
  out.clear();
  engine.handle(bust_of("C1", "1"), 3, out);  // the ack's ExecID is not a fill
  EXPECT_NE(last_notice(out).find("no fill with ExecID 1"), std::string::npos);
  out.clear();
  engine.handle(bust_of("NOPE"), 3, out);
  EXPECT_NE(last_notice(out).find("bust NOPE: nothing sent: unknown ClOrdID"), std::string::npos);
  EXPECT_EQ(engine.counters().busts, 2u);
  EXPECT_EQ(engine.counters().refused_commands, 4u);
}

TEST(SimBook, BustOfACanceledOrderLeavesItCanceled) {
  Engine engine = two_fill_engine(100);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);  // ack; fill 5 @ 10 at 100 ms
  engine.run_due(100, out);
  engine.handle(cancel("X1", "C1"), 150, out);
  ASSERT_EQ(trace(out), "0 F 4");
  out.clear();
  engine.handle(bust_of("C1"), 160, out);
  ASSERT_EQ(trace(out), "n H");
  EXPECT_EQ(last_report(out).ord_status, '4');
  EXPECT_EQ(last_report(out).cum_qty, D("0"));
  EXPECT_EQ(last_report(out).leaves_qty, D("0"));
  engine.run_due(1000, out);  // the canceled plan stays stopped
  EXPECT_EQ(trace(out), "n H");
}

TEST(SimBook, CorrectionRebooksTheFill) {
  Engine engine = two_fill_engine();
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  out.clear();
  engine.handle(correct_of("C1", "4", "12"), 1, out);  // fill "3": 5 @ 11 -> 4 @ 12
  ASSERT_EQ(trace(out), "n G");
  const ExecReportOut& g = last_report(out);
  EXPECT_EQ(g.exec_type, 'G');
  EXPECT_EQ(g.exec_id, "4");
  EXPECT_EQ(g.exec_ref_id, "3");
  EXPECT_EQ(g.last_qty, D("4"));
  EXPECT_EQ(g.last_px, D("12"));
  EXPECT_EQ(g.cum_qty, D("9"));
  EXPECT_EQ(g.leaves_qty, D("1"));
  EXPECT_EQ(g.avg_px, D("10.88888889"));  // (50 + 48) / 9
  EXPECT_EQ(g.ord_status, '1');
  EXPECT_NE(last_notice(out).find("fill 3 5 @ 11 -> 4 @ 12"), std::string::npos);

  out.clear();
  engine.handle(correct_of("C1", "5", "10", "3"), 2, out);  // back to a full fill
  EXPECT_EQ(last_report(out).ord_status, '2');
  EXPECT_EQ(last_report(out).leaves_qty, D("0"));
  EXPECT_EQ(last_report(out).avg_px, D("10"));
  out.clear();
  engine.handle(correct_of("C1", "6", "10"), 3, out);  // 11 > 10
  EXPECT_EQ(trace(out), "w");
  EXPECT_NE(last_notice(out).find("would fill more than OrderQty 10"), std::string::npos);
  out.clear();
  engine.handle(bust_of("C1", "2"), 4, out);
  engine.handle(correct_of("C1", "1", "1", "2"), 5, out);
  EXPECT_EQ(trace(out), "n H w");  // a busted fill cannot be corrected
  EXPECT_EQ(engine.counters().corrections, 2u);
}

TEST(SimBook, CorrectionLeavesRoomForTheFillsStillPlanned) {
  Engine engine = two_fill_engine(100);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);  // ack
  engine.run_due(100, out);                              // fill "2" 5 @ 10; 5 still planned
  ASSERT_EQ(trace(out), "0 F");
  out.clear();
  engine.handle(correct_of("C1", "6", "10"), 110, out);
  EXPECT_EQ(trace(out), "w");
  out.clear();
  engine.handle(correct_of("C1", "4", "10"), 120, out);
  EXPECT_EQ(trace(out), "n G");
  out.clear();
  engine.run_due(200, out);  // the planned fill of 5 still comes
  ASSERT_EQ(trace(out), "F");
  EXPECT_EQ(last_report(out).cum_qty, D("9"));
  EXPECT_EQ(last_report(out).ord_status, '1');  // one short, and open
  EXPECT_EQ(last_report(out).leaves_qty, D("1"));
}

TEST(SimBook, RestatementCarriesTheReasonAndTheCurrentState) {
  Engine engine = two_fill_engine(100);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1", "AAPL", "10"), 0, out);
  engine.run_due(100, out);  // ack, one fill of two
  out.clear();
  engine.handle(restate_of("C1"), 101, out);
  ASSERT_EQ(trace(out), "n D");
  const ExecReportOut& d = last_report(out);
  EXPECT_EQ(d.exec_type, 'D');
  EXPECT_EQ(d.exec_restatement_reason, 4);
  EXPECT_EQ(d.exec_id, "3");
  EXPECT_EQ(d.ord_status, '1');
  EXPECT_EQ(d.cum_qty, D("5"));
  EXPECT_EQ(d.leaves_qty, D("5"));
  EXPECT_FALSE(d.last_qty);
  EXPECT_TRUE(d.exec_ref_id.empty());
  out.clear();
  engine.handle(restate_of("C1", 99), 102, out);
  EXPECT_EQ(last_report(out).exec_restatement_reason, 99);
  EXPECT_EQ(engine.counters().restatements, 2u);
}

TEST(SimBook, StrayReportsAreBookedUnderAClOrdIdNeverReceived) {
  Engine engine = two_fill_engine();
  std::vector<Outgoing> out;
  engine.handle(stray_of("GHOST"), 0, out);
  ASSERT_EQ(trace(out), "n F");
  const ExecReportOut& f = last_report(out);
  EXPECT_EQ(f.cl_ord_id, "GHOST");
  EXPECT_EQ(f.order_id, "SIM-1-1");
  EXPECT_EQ(f.exec_id, "1");
  EXPECT_EQ(f.symbol, "STRAY");
  EXPECT_EQ(f.side, '1');
  EXPECT_EQ(f.ord_type, '1');
  EXPECT_EQ(f.order_qty, D("100"));
  EXPECT_EQ(f.last_qty, D("100"));
  EXPECT_EQ(f.last_px, D("100"));
  EXPECT_EQ(f.cum_qty, D("100"));
  EXPECT_EQ(f.leaves_qty, D("0"));
  EXPECT_EQ(f.ord_status, '2');
  EXPECT_TRUE(f.account.empty());

  out.clear();
  engine.handle(stray_of("GHOST2", StrayReport::kAck), 1, out);
  ASSERT_EQ(trace(out), "n 0");
  EXPECT_EQ(last_report(out).ord_status, '0');
  EXPECT_EQ(last_report(out).leaves_qty, D("100"));

  // In the book from now on: status, bust, and the ClOrdID is used up.
  out.clear();
  engine.handle(status("GHOST"), 2, out);
  EXPECT_EQ(last_report(out).ord_status, '2');
  engine.handle(bust_of("GHOST"), 3, out);
  EXPECT_EQ(last_report(out).exec_ref_id, "1");
  engine.handle(new_order("GHOST"), 4, out);
  EXPECT_EQ(last_report(out).ord_rej_reason, 6);
  out.clear();
  engine.handle(stray_of("GHOST"), 5, out);
  EXPECT_EQ(trace(out), "w");
  engine.handle(new_order("C1"), 6, out);
  out.clear();
  engine.handle(stray_of("C1"), 7, out);  // a ClOrdID the simulator did receive
  EXPECT_EQ(trace(out), "w");
  EXPECT_NE(last_notice(out).find("knows this ClOrdID"), std::string::npos);
  EXPECT_EQ(engine.counters().strays, 2u);
}

TEST(SimBook, CommandReportsFollowTheRulesDialectAndDuplicates) {
  Action fill;
  fill.duplicate_reports = DuplicateReports::kPlain;
  fill.extra_tags = {ExtraTag{9001, "ABC"}};
  Engine engine = engine_with(fill);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  out.clear();
  engine.handle(bust_of("C1"), 1, out);
  engine.handle(restate_of("C1"), 2, out);
  EXPECT_EQ(trace(out), "n H +p n D +p");
  for (const ExecReportOut* r : reports(out)) {
    EXPECT_EQ(r->extra_tags, fill.extra_tags);
  }
  EXPECT_EQ(reports(out)[0]->exec_id, reports(out)[1]->exec_id);
}

TEST(SimBook, NoCorrectionWhileOutOfOrderReportsAreHeld) {
  Action fill;
  fill.fills = 2;
  fill.fill_interval_ms = 100;
  fill.out_of_order = true;
  Engine engine = engine_with(fill);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);  // the last fill leaves first, the rest is held
  out.clear();
  engine.handle(bust_of("C1"), 1, out);
  EXPECT_EQ(trace(out), "w");
  engine.run_due(200, out);  // the held reports leave
  out.clear();
  engine.handle(bust_of("C1"), 201, out);
  EXPECT_EQ(trace(out), "n H");
}

// ---- control lines ----

BookCommandIn book_of(std::string_view line) {
  const auto parsed = parse_control_line(line);
  EXPECT_TRUE(parsed) << line << ": " << (parsed ? "" : parsed.error());
  if (!parsed) return {};
  EXPECT_EQ(parsed->command, ControlCommand::kBook) << line;
  return parsed->book;
}

void expect_control_error(std::string_view line, const std::string& fragment) {
  const auto parsed = parse_control_line(line);
  ASSERT_FALSE(parsed) << "accepted: " << line;
  EXPECT_NE(parsed.error().find(fragment), std::string::npos) << parsed.error();
}

TEST(SimControlBook, ParsesBookCommands) {
  BookCommandIn b = book_of("bust C1");
  EXPECT_EQ(b.kind, BookCommandKind::kBust);
  EXPECT_EQ(b.cl_ord_id, "C1");
  EXPECT_EQ(b.exec_ref_id, "");
  b = book_of("  bust\tC1   SIMX-1-3 \r");
  EXPECT_EQ(b.exec_ref_id, "SIMX-1-3");

  b = book_of("correct C1 4 187.25");
  EXPECT_EQ(b.kind, BookCommandKind::kCorrect);
  EXPECT_EQ(b.last_qty, D("4"));
  EXPECT_EQ(b.last_px, D("187.25"));
  EXPECT_EQ(b.exec_ref_id, "");
  EXPECT_EQ(book_of("correct C1 4 187.25 7").exec_ref_id, "7");

  b = book_of("restate C1");
  EXPECT_EQ(b.kind, BookCommandKind::kRestate);
  EXPECT_EQ(b.restatement_reason, 4);
  EXPECT_EQ(book_of("restate C1 99").restatement_reason, 99);
  EXPECT_EQ(book_of("restate C1 0").restatement_reason, 0);
  EXPECT_EQ(book_of("restate C1 10").restatement_reason, 10);

  b = book_of("stray S1");
  EXPECT_EQ(b.kind, BookCommandKind::kStray);
  EXPECT_EQ(b.stray, StrayReport::kFill);
  EXPECT_EQ(book_of("stray S1 ack").stray, StrayReport::kAck);
  EXPECT_EQ(book_of("stray S1 fill").stray, StrayReport::kFill);
}

TEST(SimControlBook, MalformedCommandsSayWhatTheyExpect) {
  expect_control_error("bust", "usage: bust <ClOrdID> [<ExecID of the fill>]");
  expect_control_error("bust C1 E1 extra", "usage: bust");
  expect_control_error("correct C1 4", "usage: correct <ClOrdID> <qty> <px>");
  expect_control_error("correct C1 0 10", "qty \"0\" must be a positive decimal");
  expect_control_error("correct C1 4 -1", "px \"-1\" must be a positive decimal");
  expect_control_error("correct C1 4 1.123456789", "px \"1.123456789\"");
  expect_control_error("restate C1 11", "ExecRestatementReason \"11\" is not a FIX 4.4 value");
  expect_control_error("restate C1 04", "ExecRestatementReason \"04\"");
  expect_control_error("restate C1 x", "ExecRestatementReason \"x\"");
  expect_control_error("stray S1 partial", "usage: stray <ClOrdID> [fill|ack]");
  expect_control_error("Bust C1", "unknown control command \"Bust C1\"");
}

// ---- field_order ----

TEST(SimFieldOrder, ConfigKeyAndItsReports) {
  auto c = parse(kMinimal +
                 "[[rules]]\naction = \"fill\"\nfield_order = \"reversed\"\n"
                 "[[rules]]\naction = \"ack\"\nextra_tags = [\"9001=x\"]\n"
                 "field_order = \"extra_first\"\n"
                 "[[rules]]\naction = \"ack\"\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->rules[0].action.field_order, FieldOrder::kReversed);
  EXPECT_EQ(c->rules[1].action.field_order, FieldOrder::kExtraFirst);
  EXPECT_EQ(c->rules[2].action.field_order, FieldOrder::kTag);
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nfield_order = \"random\"\n",
               "rules[0].field_order: must be \"tag\", \"reversed\" or \"extra_first\", got "
               "\"random\"");
  expect_error(kMinimal + "[[rules]]\naction = \"fill\"\nfield_order = \"extra_first\"\n",
               "rules[0].field_order: \"extra_first\" needs extra_tags");

  Action fill;
  fill.field_order = FieldOrder::kReversed;
  Engine engine = engine_with(fill);
  std::vector<Outgoing> out;
  engine.handle(new_order("C1"), 0, out);
  engine.handle(status("C1"), 1, out);
  engine.handle(bust_of("C1"), 2, out);
  engine.handle(new_order("C1"), 3, out);  // duplicate ClOrdID: not the rule's report
  ASSERT_EQ(trace(out), "0 F I n H 8");
  const auto r = reports(out);
  for (std::size_t i = 0; i + 1 < r.size(); ++i)
    EXPECT_EQ(r[i]->field_order, FieldOrder::kReversed);
  EXPECT_EQ(r.back()->field_order, FieldOrder::kTag);
}

// ---- sequence reset ----

TEST(SimSeqReset, ConfigKeyAndControlCommand) {
  auto c = parse(kMinimal);
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->reset_seq_on_start);
  c = parse(kMinimal + "reset_seq_on_start = true\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->reset_seq_on_start);
  expect_error(kMinimal + "reset_seq_on_start = \"yes\"\n",
               "reset_seq_on_start: must be true or false");

  const auto line = parse_control_line(" reset_seq ");
  ASSERT_TRUE(line) << line.error();
  EXPECT_EQ(line->command, ControlCommand::kResetSeq);
  expect_control_error("reset_seq 1", "usage: reset_seq");
}

}  // namespace
}  // namespace brokergw::sim
