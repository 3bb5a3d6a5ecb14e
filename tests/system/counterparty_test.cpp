// System tests against FIX counterparties that behave as the FIX specification allows and real
// engines do (docs/SIMULATOR.md, "Real-broker behaviours"): ExecIDs that restart at 1, ExecID 0
// on status answers, GapFill-only resends, refused status requests, busts, corrections,
// restatements, reports for ClOrdIDs we never sent, fields in an unusual order. Real gateway
// and simulator processes over loopback FIX. docs/EVENTS.md ("De-duplication", "Missing
// fills", "Busts, corrections and restatements") states the rules checked here.
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/system/harness.h"

namespace brokergw::systest {
namespace {

using nlohmann::json;

std::vector<json> events_of(Stack& stack, const std::string& id, const std::string& type = "") {
  std::vector<json> out;
  HttpResult r = stack.get("/v1/events?after=0&limit=1000");
  for (const auto& e : r.body["events"]) {
    if (e["client_order_id"] == id && (type.empty() || e["type"] == type)) out.push_back(e);
  }
  return out;
}

std::vector<json> events_typed(Stack& stack, const std::string& type) {
  std::vector<json> out;
  HttpResult r = stack.get("/v1/events?after=0&limit=1000");
  for (const auto& e : r.body["events"]) {
    if (e["type"] == type) out.push_back(e);
  }
  return out;
}

// Lines of the simulator's log for messages it sent (OUT) or received (IN) of one MsgType.
int sim_lines(const Stack& stack, const char* dir, const std::string& needle) {
  int n = 0;
  std::istringstream in(stack.sim_log());
  for (std::string line; std::getline(in, line);) {
    if (line.find(dir) != std::string::npos && line.find(needle) != std::string::npos) ++n;
  }
  return n;
}

// The simulator's control file (docs/SIMULATOR.md, "Control file"): commands appended run.
class Control {
 public:
  Control() : path_(dir_.file("control")) { write_file(path_, ""); }
  std::string toml() const { return "control_file = \"" + path_ + "\""; }
  void run(const std::string& command) { write_file(path_, read_file(path_) + command + "\n"); }

 private:
  TempDir dir_;
  std::string path_;
};

json broker_health(Stack& stack) { return stack.get("/v1/health").body["brokers"]["sim"]; }

TEST(Counterparty, shouldApplyEveryFillWhenTheBrokerRestartsItsExecIdsAtOne) {
  SimOptions sim{{"action = \"fill\"\nfills = 2"}, {"exec_ids = \"restart\""}};
  Stack stack(sim);
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("rs-1", "AAPL", "10")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("rs-1", "filled")) << stack.gateway_log();
  // The broker restarts: its next ExecIDs are 1, 2, 3 again, for another order.
  stack.stop_sim();
  stack.start_sim();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("rs-2", "AAPL", "10")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("rs-2", "filled", 20s)) << stack.gateway_log();
  HttpResult order = stack.get("/v1/orders/rs-2");
  EXPECT_EQ(order.body["cum_qty"], "10") << order.raw;
  std::vector<std::string> ids;
  for (const auto& e : events_of(stack, "rs-2", "order.fill")) ids.push_back(e["exec_id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"2", "3"})) << "ExecIDs reused from order rs-1";
  EXPECT_TRUE(events_typed(stack, "order.anomaly").empty());
}

TEST(Counterparty, shouldAdoptEveryStatusAnswerWhenTheBrokerSendsExecIdZeroOnThemAll) {
  SimOptions sim{{"action = \"ack\""}, {"status_exec_id = \"zero\""}};
  Stack stack(sim);
  stack.start_sim();
  stack.start_gateway();
  for (const char* id : {"z-1", "z-2", "z-3"}) {
    ASSERT_EQ(stack.post("/v1/orders", Stack::order(id, "AAPL", "10")).status, 201);
    ASSERT_TRUE(stack.wait_for_state(id, "new"));
  }
  // After a restart the gateway asks for every open order; every answer carries ExecID 0.
  stack.stop_gateway();
  stack.start_gateway();
  ASSERT_TRUE(wait_until(
      [&] {
        return events_of(stack, "z-1", "order.status").size() == 1 &&
               events_of(stack, "z-2", "order.status").size() == 1 &&
               events_of(stack, "z-3", "order.status").size() == 1;
      },
      15s))
      << stack.gateway_log();
  EXPECT_EQ(events_of(stack, "z-3", "order.status")[0]["exec_id"], "0");
  EXPECT_EQ(stack.gateway_log().find("duplicate report 0"), std::string::npos);
}

// A fill sent while the gateway is away, then a ResendRequest answered with a GapFill only:
// the fill never arrives. Order of 10 in fills of 5, 5 s apart.
SimOptions lost_fill_broker(bool status_supported) {
  std::vector<std::string> globals = {"resend = \"gap_fill\""};
  if (!status_supported) globals.push_back("status_requests = \"unsupported\"");
  return SimOptions{{"action = \"fill\"\nfills = 2\nfill_interval_ms = 2500"}, globals};
}

// Fatal failures inside are checked by the caller (ASSERT_NO_FATAL_FAILURE).
void lose_the_second_fill(Stack& stack, const std::string& id) {
  ASSERT_EQ(stack.post("/v1/orders", Stack::order(id, "AAPL", "10")).status, 201);
  ASSERT_TRUE(stack.wait_for_state(id, "partially_filled", 20s)) << stack.gateway_log();
  stack.stop_gateway();
  // The broker fills the rest while the gateway is down (2.5 s after the first fill; QuickFIX
  // only stores what it cannot send, so there is nothing to wait for on the wire).
  std::this_thread::sleep_for(3500ms);
  stack.start_gateway();
  // The ResendRequest was answered by a GapFill over the report.
  ASSERT_TRUE(wait_until([&] { return sim_lines(stack, " OUT ", "|35=4|") >= 1; }, 10s))
      << stack.sim_log();
}

TEST(Counterparty, shouldFlagALostFillUnverifiedWhenTheBrokerGapFillsAndRefusesStatus) {
  Stack stack(lost_fill_broker(false));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_NO_FATAL_FAILURE(lose_the_second_fill(stack, "gap-1"));
  // The reconnect status request is refused (35=j): the order cannot be verified.
  ASSERT_TRUE(
      wait_until([&] { return !events_of(stack, "gap-1", "order.unverified").empty(); }, 15s))
      << stack.gateway_log();
  HttpResult order = stack.get("/v1/orders/gap-1");
  EXPECT_EQ(order.body["state"], "partially_filled") << order.raw;
  EXPECT_EQ(order.body["cum_qty"], "5") << "a fill must never be made up";
  EXPECT_EQ(order.body["unverified"], true);
  json health = broker_health(stack);
  EXPECT_EQ(health["unverified_orders"], 1) << health.dump();
  EXPECT_EQ(health["status_query_refused"], true);
  HttpResult listed = stack.get("/v1/orders?discrepancy=unverified");
  ASSERT_EQ(listed.body["orders"].size(), 1u) << listed.raw;
  EXPECT_EQ(listed.body["orders"][0]["client_order_id"], "gap-1");
  EXPECT_NE(stack.gateway_log().find("refuses status requests"), std::string::npos);
}

TEST(Counterparty, shouldFlagFillsMissingWhenAStatusAnswerIsAheadAndNeverBookThem) {
  Stack stack(lost_fill_broker(true));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_NO_FATAL_FAILURE(lose_the_second_fill(stack, "gap-2"));
  // The reconnect status answer says filled 10; the gateway has 5 in fills.
  ASSERT_TRUE(
      wait_until([&] { return !events_of(stack, "gap-2", "order.fills_missing").empty(); }, 15s))
      << stack.gateway_log();
  const json ev = events_of(stack, "gap-2", "order.fills_missing")[0];
  EXPECT_EQ(ev["broker_cum_qty"], "10") << ev.dump();
  EXPECT_EQ(ev["cum_qty"], "5") << ev.dump();
  HttpResult order = stack.get("/v1/orders/gap-2");
  EXPECT_EQ(order.body["state"], "partially_filled") << order.raw;
  EXPECT_EQ(order.body["cum_qty"], "5");
  EXPECT_EQ(order.body["fills_missing"], true);
  EXPECT_EQ(broker_health(stack)["fills_missing_orders"], 1);
  HttpResult listed = stack.get("/v1/orders?discrepancy=fills_missing");
  ASSERT_EQ(listed.body["orders"].size(), 1u) << listed.raw;
  EXPECT_NE(stack.gateway_log().find("fills missing"), std::string::npos);
  HttpResult metrics = stack.get("/metrics");
  EXPECT_NE(metrics.raw.find("brokergw_fills_missing_total 1"), std::string::npos);
}

TEST(Counterparty, shouldApplyBustsCorrectionsAndRestatementsExactly) {
  Control ctl;
  SimOptions sim{{"action = \"fill\"\nfills = 2\nfill_price = \"100\"\nprice_step = \"2\""},
                 {ctl.toml()}};
  Stack s(sim);
  s.start_sim();
  s.start_gateway();
  ASSERT_EQ(s.post("/v1/orders", Stack::order("bc-1", "AAPL", "10")).status, 201);
  ASSERT_TRUE(s.wait_for_state("bc-1", "filled")) << s.gateway_log();  // 5@100, 5@102
  ctl.run("bust bc-1");                                                // the last fill, 5@102
  ASSERT_TRUE(s.wait_for_state("bc-1", "partially_filled")) << s.gateway_log() << s.sim_log();
  HttpResult o = s.get("/v1/orders/bc-1");
  EXPECT_EQ(o.body["cum_qty"], "5");
  EXPECT_EQ(o.body["avg_price"], "100");
  const auto busts = events_of(s, "bc-1", "order.fill_busted");
  ASSERT_EQ(busts.size(), 1u);
  EXPECT_EQ(busts[0]["last_qty"], "5");
  EXPECT_EQ(busts[0]["last_px"], "102");
  ctl.run("correct bc-1 4 99");  // the remaining fill, 5@100 -> 4@99
  ASSERT_TRUE(
      wait_until([&] { return !events_of(s, "bc-1", "order.fill_corrected").empty(); }, 10s))
      << s.gateway_log();
  o = s.get("/v1/orders/bc-1");
  EXPECT_EQ(o.body["cum_qty"], "4");
  EXPECT_EQ(o.body["avg_price"], "99");
  const json corr = events_of(s, "bc-1", "order.fill_corrected")[0];
  EXPECT_EQ(corr["old_qty"], "5");
  EXPECT_EQ(corr["old_px"], "100");
  ctl.run("restate bc-1");
  ASSERT_TRUE(wait_until([&] { return !events_of(s, "bc-1", "order.restated").empty(); }, 10s))
      << s.gateway_log();
  EXPECT_EQ(s.get("/v1/orders/bc-1").body["cum_qty"], "4");
  // The broker's totals agreed with ours all along: nothing missing, no anomaly.
  EXPECT_TRUE(events_of(s, "bc-1", "order.fills_missing").empty());
  EXPECT_TRUE(events_of(s, "bc-1", "order.anomaly").empty());
}

TEST(Counterparty, shouldJournalAndDontKnowAReportForAClOrdIdWeNeverSent) {
  Control ctl;
  SimOptions sim{{"action = \"fill\""}, {ctl.toml()}};
  GatewayOptions gw;
  gw.broker_toml = "dont_know_trade = true";
  Stack s(sim, gw);
  s.start_sim();
  s.start_gateway();
  ctl.run("stray GHOST-1 fill");
  ASSERT_TRUE(wait_until([&] { return !events_typed(s, "order.unknown_report").empty(); }, 10s))
      << s.gateway_log();
  const json ev = events_typed(s, "order.unknown_report")[0];
  EXPECT_EQ(ev["client_order_id"], "GHOST-1");
  EXPECT_EQ(ev["anomaly"], "unknown_order");
  EXPECT_NE(std::string(ev.value("raw_message", "")).find("11=GHOST-1"), std::string::npos)
      << ev.dump();
  ASSERT_TRUE(wait_until([&] { return sim_lines(s, " IN  ", "|35=Q|") == 1; }, 10s)) << s.sim_log();
}

TEST(Counterparty, shouldAskInsteadOfGoingLiveWhenACancelIsRejectedAsAnUnknownOrder) {
  // The broker loses its book in a restart (the session and its numbers survive): it answers
  // our cancel of a live order with OrderCancelReject CxlRejReason=1 (unknown order).
  GatewayOptions gw;
  gw.broker_toml = "query_on_reconnect = false";
  Stack stack(SimOptions{{"action = \"ack\""}}, gw);
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("lost-1", "AAPL", "10")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("lost-1", "new"));
  stack.stop_sim();
  stack.start_sim();
  ASSERT_TRUE(wait_until([&] { return broker_health(stack)["logged_on"] == true; }, 15s));
  ASSERT_EQ(stack.post("/v1/orders/lost-1/cancel", {{"client_cancel_id", "lost-1-x"}}).status, 202);
  // Not back to `new`: unknown, and the broker is asked what it has.
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& e : events_of(stack, "lost-1", "order.unknown")) {
          if (e["reason_code"] == "cancel_unknown_at_broker") return true;
        }
        return false;
      },
      15s))
      << stack.gateway_log();
  ASSERT_TRUE(wait_until([&] { return !stack.sim_messages("H").empty(); }, 15s))
      << stack.sim_journal();
  // The broker says it does not know the order it had acknowledged: an operator is told.
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& e : events_of(stack, "lost-1", "order.anomaly")) {
          if (e["anomaly"] == "broker_lost_order") return true;
        }
        return false;
      },
      15s))
      << stack.gateway_log();
  EXPECT_NE(stack.get("/v1/orders/lost-1").body["state"], "new");
  EXPECT_TRUE(events_of(stack, "lost-1", "order.cancel_rejected").empty());
}

TEST(Counterparty, shouldApplyFillsFullOfUndeclaredTagsInReversedFieldOrder) {
  SimOptions sim{
      {"action = \"fill\"\nfills = 3\nfield_order = \"reversed\"\n"
       "extra_tags = [\"9001=ABC\", \"20001=x\", \"118=1872.50\"]"}};
  Stack stack(sim);
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("rev-1", "AAPL", "9")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("rev-1", "filled")) << stack.gateway_log();
  EXPECT_EQ(events_of(stack, "rev-1", "order.fill").size(), 3u);
  EXPECT_EQ(sim_lines(stack, " IN  ", "|35=3|"), 0) << "the gateway rejected a report";
}

}  // namespace
}  // namespace brokergw::systest
