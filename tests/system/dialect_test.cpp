// System tests of a broker's FIX dialect: real brokers add tags to their ExecutionReports that
// our dictionary (fixspec/FIX44.brokergw.xml) does not define for that message. The gateway
// must apply such a report; a session Reject (35=3) would still count its MsgSeqNum, so the
// fill would be lost for good. Real processes, real FIX sessions (the simulator's extra_tags,
// docs/SIMULATOR.md "Broker dialect").
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/system/harness.h"

namespace brokergw::systest {
namespace {

// The simulator's log lines for FIX messages it received ("<session> IN  8=FIX.4.4|...") of
// one MsgType. Session-level messages such as Reject (35=3) are logged but not journaled.
std::vector<std::string> sim_received(const Stack& stack, const std::string& msg_type) {
  std::vector<std::string> out;
  std::istringstream in(stack.sim_log());
  for (std::string line; std::getline(in, line);) {
    if (line.find(" IN  ") != std::string::npos &&
        line.find("|35=" + msg_type + "|") != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(Dialect, shouldApplyAFillWhoseReportCarriesTagsOurDictionaryLacks) {
  // 9001: user-defined (5000-9999); 20001: the broker's own (>= 10000); 494 Designation: a FIX
  // 4.4 ExecutionReport field that our dictionary defines for other messages only; 118
  // NetMoney: a FIX 4.4 ExecutionReport field that our dictionary does not define at all.
  SimOptions sim{
      {"symbol = \"AAPL\"\naction = \"fill\"\nfills = 2\nfill_interval_ms = 20\n"
       "extra_tags = [\"9001=ABC\", \"20001=x\", \"494=DESK-7\", \"118=1872.50\"]"}};
  Stack stack(sim);
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("dialect-1", "AAPL", "10")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("dialect-1", "filled", 15s)) << stack.gateway_log() << "\n"
                                                                << joined(sim_received(stack, "3"));

  HttpResult order = stack.get("/v1/orders/dialect-1");
  EXPECT_EQ(order.body["cum_qty"], "10") << order.raw;
  std::vector<std::string> fills;  // the history entries of fills, in order
  for (const auto& h : order.body["history"]) {
    const std::string reason = h["reason"];
    if (reason.rfind("fill ", 0) == 0) fills.push_back(reason);
  }
  EXPECT_EQ(fills.size(), 2u) << order.raw;
  HttpResult events = stack.get("/v1/events?after=0&limit=1000");
  std::vector<std::string> fill_qtys;
  for (const auto& e : events.body["events"]) {
    if (e["client_order_id"] == "dialect-1" && e["type"] == "order.fill") {
      fill_qtys.push_back(e["last_qty"]);
    }
  }
  EXPECT_EQ(fill_qtys, (std::vector<std::string>{"5", "5"})) << events.raw;
  stack.stop_gateway();

  // The reports did carry the tags (ack and both fills), and the gateway never refused one.
  const std::vector<std::string> reports = [&] {
    std::vector<std::string> out;
    std::istringstream in(stack.sim_log());
    for (std::string line; std::getline(in, line);) {
      if (line.find(" OUT ") != std::string::npos && line.find("|35=8|") != std::string::npos &&
          line.find("|9001=ABC|") != std::string::npos &&
          line.find("|20001=x|") != std::string::npos &&
          line.find("|494=DESK-7|") != std::string::npos &&
          line.find("|118=1872.50|") != std::string::npos) {
        out.push_back(line);
      }
    }
    return out;
  }();
  EXPECT_EQ(reports.size(), 3u) << stack.sim_log();
  const auto rejects = sim_received(stack, "3");
  EXPECT_TRUE(rejects.empty()) << "the gateway sent session Rejects:\n" << joined(rejects);
  const std::string gw_log = stack.gateway_log();
  EXPECT_EQ(gw_log.find("Reject"), std::string::npos) << gw_log;
  EXPECT_EQ(stack.sim_new_orders()["dialect-1"], 1);
}

}  // namespace
}  // namespace brokergw::systest
