// Unit tests for what real FIX brokers do that the simulator plays on request
// (docs/SIMULATOR.md, "Real-broker behaviours"): ExecIDs that restart, ExecID 0 on status
// answers, and the configuration keys that select them and the GapFill-only resend. Pure: no
// sockets, no QuickFIX, no clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/config.h"
#include "sim/engine.h"
#include "tests/unit/sim_test_support.h"

namespace brokergw::sim {
namespace {

using namespace simtest;  // NOLINT(google-build-using-namespace): shared test helpers

tl::expected<SimConfig, std::string> parse(const std::string& text) {
  return parse_config(text, "/etc/brokersim", "test.toml");
}

const std::string kMinimal =
    "port = 9878\n"
    "data_dictionary = \"dict.xml\"\n"
    "state_dir = \"/tmp/sim-state\"\n";

void expect_error(const std::string& text, const std::string& fragment) {
  const auto c = parse(text);
  ASSERT_FALSE(c) << "accepted: " << text;
  EXPECT_NE(c.error().find(fragment), std::string::npos) << c.error();
}

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

}  // namespace
}  // namespace brokergw::sim
