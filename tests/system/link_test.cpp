// System tests of the overseas link (docs/RECOVERY.md): silence becomes unknown_at_broker,
// unknown orders are resolved by status query or idempotent resend with capped exponential
// backoff from a durable schedule, brokers are isolated from each other, and sessions
// recover after disconnects and restarts. Real processes, real FIX sessions, real LMDB.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/system/harness.h"

namespace brokergw::systest {
namespace {

// Short timings for tests; production defaults are 30 s and 1, 2, 4, 8 minutes.
std::string fast_link(int ack_timeout_ms = 400, int base_ms = 200, int cap_ms = 800,
                      int attempts = 20, int jitter_pct = 10) {
  return "ack_timeout_ms = " + std::to_string(ack_timeout_ms) +
         "\nretry_base_ms = " + std::to_string(base_ms) +
         "\nretry_cap_ms = " + std::to_string(cap_ms) +
         "\nretry_max_attempts = " + std::to_string(attempts) +
         "\nretry_jitter_pct = " + std::to_string(jitter_pct) + "\n";
}

GatewayOptions link_options(const std::string& broker_toml) {
  GatewayOptions gw;
  gw.broker_toml = broker_toml;
  return gw;
}

nlohmann::json order_to(const std::string& id, const std::string& broker,
                        const std::string& symbol = "AAPL") {
  auto o = Stack::order(id, symbol, "10");
  o["broker"] = broker;
  return o;
}

std::vector<std::string> history_states(Stack& stack, const std::string& id) {
  std::vector<std::string> out;
  HttpResult r = stack.get("/v1/orders/" + id);
  if (r.status != 200) return out;
  for (const auto& h : r.body["history"]) out.push_back(h["state"]);
  return out;
}

bool has_event(Stack& stack, const std::string& id, const std::string& type) {
  HttpResult r = stack.get("/v1/events?after=0&limit=1000");
  for (const auto& e : r.body["events"]) {
    if (e["client_order_id"] == id && e["type"] == type) return true;
  }
  return false;
}

const SimOptions kFills{{"symbol = \"AAPL\"\naction = \"fill\"\nfills = 2\nfill_interval_ms = 5"}};

TEST(Link, shouldKeepOtherBrokersFlowingWhileOneIsFrozenAndResolveItsOrdersAfter) {
  Stack stack({kFills, kFills}, link_options(fast_link()));
  stack.start_sim();
  stack.start_gateway();
  stack.sim_process(0).signal(SIGSTOP);

  std::vector<std::string> frozen_ids, live_ids;
  for (int i = 0; i < 10; ++i) {
    frozen_ids.push_back("frozen-" + std::to_string(i));
    ASSERT_EQ(stack.post("/v1/orders", order_to(frozen_ids.back(), "sim")).status, 201);
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    live_ids.push_back("live-" + std::to_string(i));
    ASSERT_EQ(stack.post("/v1/orders", order_to(live_ids.back(), "sim1")).status, 201);
  }
  for (const auto& id : live_ids) ASSERT_TRUE(stack.wait_for_state(id, "filled", 20s)) << id;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ info ] 200 orders to the live broker filled in " << seconds
            << " s while the other broker was frozen\n";

  // The frozen broker's orders are unknown, never failed or done.
  for (const auto& id : frozen_ids) {
    ASSERT_TRUE(stack.wait_for_state(id, "unknown_at_broker", 10s)) << id;
  }
  HttpResult metrics = stack.get("/metrics");
  EXPECT_NE(metrics.raw.find("brokergw_orders_unknown{broker=\"sim\"} 10"), std::string::npos);

  stack.sim_process(0).signal(SIGCONT);
  for (const auto& id : frozen_ids) {
    ASSERT_TRUE(stack.wait_for_state(id, "filled", 30s)) << id << "\n" << stack.gateway_log();
  }
  stack.stop_gateway();
  for (const auto& id : frozen_ids) EXPECT_EQ(stack.sim_new_orders(0)[id], 1) << id;
}

TEST(Link, shouldRefuseOrdersForABrokerWhoseQueueIsFullAndStoreNothing) {
  GatewayOptions gw = link_options(fast_link());
  gw.queue_capacity = 5;
  Stack stack({kFills, kFills}, gw);
  stack.start_sim();
  stack.start_gateway();
  stack.sim_process(0).signal(SIGTERM);  // broker "sim" goes away: its orders queue up
  stack.sim_process(0).wait(10s);
  ASSERT_TRUE(wait_until(
      [&] { return stack.get("/v1/health").body["brokers"]["sim"]["logged_on"] == false; }, 20s));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(stack.post("/v1/orders", order_to("q-" + std::to_string(i), "sim")).status, 201);
  }
  HttpResult busy = stack.post("/v1/orders", order_to("q-5", "sim"));
  EXPECT_EQ(busy.status, 503) << busy.raw;
  EXPECT_EQ(busy.body["error"]["code"], "broker_busy");
  EXPECT_EQ(stack.get("/v1/orders/q-5").status, 404);
  // The other broker is not affected.
  ASSERT_EQ(stack.post("/v1/orders", order_to("other-1", "sim1")).status, 201);
  EXPECT_TRUE(stack.wait_for_state("other-1", "filled"));
  // The queued orders go out when the broker is back.
  stack.start_sim(0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(stack.wait_for_state("q-" + std::to_string(i), "filled", 20s));
  }
  stack.stop_gateway();
}

TEST(Link, shouldResolveASilentBrokerByStatusQuery) {
  Stack stack(SimOptions{{"symbol = \"QUIET\"\naction = \"silent\""}}, link_options(fast_link()));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("quiet-1", "QUIET")).status, 201);
  // Silence makes it unknown; the status query finds it at the broker, pending (the silent
  // simulator never acks), and that answer is adopted.
  ASSERT_TRUE(wait_until([&] { return history_states(stack, "quiet-1").size() >= 3; }, 10s));
  EXPECT_EQ(history_states(stack, "quiet-1"),
            (std::vector<std::string>{"pending_new", "unknown_at_broker", "pending_new"}))
      << stack.gateway_log();
  EXPECT_TRUE(has_event(stack, "quiet-1", "order.unknown"));
  EXPECT_TRUE(has_event(stack, "quiet-1", "order.status"));
  stack.stop_gateway();
  EXPECT_GE(stack.sim_messages("H").size(), 1u);
  EXPECT_EQ(stack.sim_new_orders()["quiet-1"], 1);
}

TEST(Link, shouldResendTheSameClOrdIdWithPossResendWhenConfigured) {
  SimOptions sim{{"symbol = \"QUIET\"\naction = \"silent\""},
                 {"poss_resend_duplicate = \"status\""}};
  Stack stack(sim, link_options(fast_link() + "unknown_resolution = \"resend\"\n"));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("resend-1", "QUIET")).status, 201);
  // The resend reaches a broker that has the order; it answers with the order's status.
  ASSERT_TRUE(wait_until([&] { return history_states(stack, "resend-1").size() >= 3; }, 15s));
  EXPECT_EQ(history_states(stack, "resend-1"),
            (std::vector<std::string>{"pending_new", "unknown_at_broker", "pending_new"}))
      << stack.gateway_log();
  stack.stop_gateway();
  auto nos = stack.sim_messages("D");
  ASSERT_GE(nos.size(), 2u);
  for (std::size_t i = 0; i < nos.size(); ++i) {
    EXPECT_EQ(nos[i]["cl_ord_id"], "resend-1") << "never a new ClOrdID";
    EXPECT_EQ(nos[i]["poss_resend"], i > 0) << "only resends carry PossResend=Y";
  }
  EXPECT_EQ(stack.sim_log().find("duplicate ClOrdID"), std::string::npos)
      << "the broker saw one live order per ClOrdID";
}

TEST(Link, shouldSpaceRetriesByCappedExponentialBackoffThenAlertAnOperator) {
  SimOptions sim{{"symbol = \"DEAF\"\naction = \"silent\"\nanswer_status = false"}};
  // base 200 ms, cap 800 ms, 5 attempts: queries at +0, +200, +400, +800, +800 (+-10%).
  Stack stack(sim, link_options(fast_link(300, 200, 800, 5, 10)));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("deaf-1", "DEAF")).status, 201);
  ASSERT_TRUE(wait_until([&] { return stack.sim_messages("H").size() >= 5; }, 20s));
  ASSERT_TRUE(wait_until(
      [&] {
        return stack.get("/metrics").raw.find("brokergw_operator_alerts_total 1") !=
               std::string::npos;
      },
      10s));
  auto queries = stack.sim_messages("H");
  ASSERT_EQ(queries.size(), 5u);
  const std::vector<double> nominal_ms = {200, 400, 800, 800};
  for (std::size_t i = 1; i < queries.size(); ++i) {
    const double gap_ms =
        (queries[i]["ts_us"].get<double>() - queries[i - 1]["ts_us"].get<double>()) / 1000.0;
    const double n = nominal_ms[i - 1];
    // Jitter is +-10%; allow generous scheduling slack above, none below.
    EXPECT_GE(gap_ms, n * 0.9 - 1) << "retry " << i;
    EXPECT_LE(gap_ms, n * 1.1 + 250) << "retry " << i;
  }
  EXPECT_EQ(stack.get("/v1/orders/deaf-1").body["state"], "unknown_at_broker")
      << "out of attempts, still unknown: never guessed";
  HttpResult events = stack.get("/v1/events?after=0&limit=100");
  bool alerted = false;
  for (const auto& e : events.body["events"]) alerted |= e["type"] == "order.attention_required";
  EXPECT_TRUE(alerted);
  stack.stop_gateway();
  EXPECT_EQ(stack.sim_new_orders()["deaf-1"], 1);
}

TEST(Link, shouldContinueTheRetryScheduleAfterKill9) {
  SimOptions sim{{"symbol = \"DEAF\"\naction = \"silent\"\nanswer_status = false"}};
  Stack stack(sim, link_options(fast_link(200, 400, 400, 50, 0)));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("deaf-2", "DEAF")).status, 201);
  ASSERT_TRUE(wait_until([&] { return stack.sim_messages("H").size() >= 2; }, 20s));
  stack.kill_gateway();
  const std::size_t before = stack.sim_messages("H").size();
  stack.start_gateway();
  ASSERT_TRUE(wait_until([&] { return stack.sim_messages("H").size() >= before + 3; }, 20s))
      << stack.gateway_log();
  EXPECT_EQ(stack.get("/v1/orders/deaf-2").body["state"], "unknown_at_broker");
  stack.stop_gateway();
  EXPECT_EQ(stack.sim_new_orders()["deaf-2"], 1) << "the restart never resent the order";
}

TEST(Link, shouldRecoverTheTrueStateAfterADisconnectOnceTheBrokerPlacedTheOrder) {
  SimOptions sim{
      {"symbol = \"DROP\"\naction = \"fill\"\nfills = 2\nfill_interval_ms = 50\n"
       "disconnect = \"after_placing\"",
       "symbol = \"AAPL\"\naction = \"fill\""}};
  Stack stack(sim, link_options(fast_link(3000)));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("drop-1", "DROP", "100")).status, 201);
  // The session drops; the fills happen at the broker while we are away; after the
  // reconnect they arrive (session resend) and the status query confirms them.
  ASSERT_TRUE(stack.wait_for_state("drop-1", "filled", 20s)) << stack.gateway_log();
  EXPECT_EQ(stack.get("/v1/orders/drop-1").body["cum_qty"], "100");
  // The link keeps working afterwards.
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("after-1")).status, 201);
  EXPECT_TRUE(stack.wait_for_state("after-1", "filled"));
  stack.stop_gateway();
  EXPECT_EQ(stack.sim_new_orders()["drop-1"], 1);
}

TEST(Link, shouldSendAnOrderThatNeverArrivedAgainOnlyAfterTheBrokerSaysItLacksIt) {
  SimOptions sim{{"symbol = \"LOST\"\naction = \"fill\"\ndisconnect = \"before_placing\"",
                  "symbol = \"AAPL\"\naction = \"fill\""}};
  Stack stack(sim, link_options(fast_link(3000)));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("lost-1", "LOST")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("lost-1", "filled", 20s)) << stack.gateway_log();
  stack.stop_gateway();
  auto nos = stack.sim_messages("D");
  std::size_t copies = 0;
  for (const auto& m : nos) copies += m["cl_ord_id"] == "lost-1";
  EXPECT_EQ(copies, 2u) << "the original, then one resend after 'unknown order'";
  EXPECT_GE(stack.sim_messages("H").size(), 1u) << "asked before resending";
}

TEST(Link, shouldPaceSendsToTheBrokersRateLimit) {
  Stack stack(kFills, link_options(fast_link(5000) + "max_messages_per_s = 20\n"));
  stack.start_sim();
  stack.start_gateway();
  for (int i = 0; i < 21; ++i) {
    ASSERT_EQ(stack.post("/v1/orders", Stack::order("rate-" + std::to_string(i))).status, 201);
  }
  for (int i = 0; i < 21; ++i) {
    ASSERT_TRUE(stack.wait_for_state("rate-" + std::to_string(i), "filled", 20s));
  }
  stack.stop_gateway();
  auto nos = stack.sim_messages("D");
  ASSERT_EQ(nos.size(), 21u);
  const double span_ms =
      (nos.back()["ts_us"].get<double>() - nos.front()["ts_us"].get<double>()) / 1000.0;
  // 21 messages at 20 per second span at least 20 gaps of 50 ms (no upper bound asserted).
  EXPECT_GE(span_ms, 20 * 50 * 0.95) << "sent faster than the broker's limit";
}

TEST(Link, shouldNeverLoseAnUpdateWhenACancelRacesTheFills) {
  SimOptions sim{{"symbol = \"RACE\"\naction = \"fill\"\nfills = 40\nfill_interval_ms = 2"}};
  Stack stack(sim, link_options(fast_link(5000)));
  stack.start_sim();
  stack.start_gateway();
  for (int i = 0; i < 10; ++i) {
    const std::string id = "race-" + std::to_string(i);
    ASSERT_EQ(stack.post("/v1/orders", Stack::order(id, "RACE", "40")).status, 201);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + 4 * i));
    HttpResult c = stack.post("/v1/orders/" + id + "/cancel", {{"client_cancel_id", "cx-" + id}});
    ASSERT_TRUE(c.status == 202 || c.status == 409) << c.raw;
  }
  HttpResult events;
  for (int i = 0; i < 10; ++i) {
    const std::string id = "race-" + std::to_string(i);
    ASSERT_TRUE(wait_until(
        [&] {
          HttpResult o = stack.get("/v1/orders/" + id);
          return o.body["state"] == "canceled" || o.body["state"] == "filled";
        },
        20s))
        << id;
  }
  std::this_thread::sleep_for(300ms);  // late fills or cancel rejects, if any
  events = stack.get("/v1/events?after=0&limit=1000");
  for (int i = 0; i < 10; ++i) {
    const std::string id = "race-" + std::to_string(i);
    HttpResult o = stack.get("/v1/orders/" + id);
    // Every fill event is reflected in the order, and nothing else is: no update lost.
    long fills = 0, filled_units = 0;
    for (const auto& e : events.body["events"]) {
      if (e["client_order_id"] != id || e["type"] != "order.fill") continue;
      ++fills;
      filled_units += std::stol(e["last_qty"].get<std::string>());
    }
    EXPECT_EQ(std::to_string(filled_units), o.body["cum_qty"]) << o.raw;
    long history_fills = 0;
    for (const auto& h : o.body["history"]) {
      history_fills += h["reason"].get<std::string>().rfind("fill ", 0) == 0;
    }
    EXPECT_EQ(history_fills, fills) << o.raw;
  }
  stack.stop_gateway();
}

// Reads the sim's QuickFIX seqnums file ("<sender> : <target>").
std::filesystem::path seqnums_file(const std::string& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".seqnums") return e.path();
  }
  return {};
}

TEST(Link, shouldKeepSequenceNumbersAnswerResendRequestsAndNeverStoreThePassword) {
  const std::string password = "pw-7f3a9c1e-never-logged";
  SimOptions sim{{"symbol = \"AAPL\"\naction = \"fill\""},
                 {"logon_password = \"" + password + "\""}};
  TempDir secrets;
  write_file(secrets.file("password"), password + "\n");
  Stack stack(sim,
              link_options(fast_link() + "password_file = \"" + secrets.file("password") + "\"\n"));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("seq-1")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("seq-1", "filled"));
  stack.stop_gateway();
  stack.start_gateway();  // no implicit sequence reset across a restart
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("seq-2")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("seq-2", "filled"));
  auto nos = stack.sim_messages("D");
  ASSERT_EQ(nos.size(), 2u);
  EXPECT_GT(nos[1]["msg_seq_num"].get<int>(), nos[0]["msg_seq_num"].get<int>());

  // Make the broker forget what it received from us: on the next logon it asks us to resend
  // everything, and the gateway answers (gap fill; orders are never replayed by the session).
  stack.stop_gateway();
  stack.stop_sim();
  auto seqnums = seqnums_file(stack.dir().file("sim0-state"));
  ASSERT_FALSE(seqnums.empty());
  std::string text = read_file(seqnums.string());
  auto colon = text.find(':');
  ASSERT_NE(colon, std::string::npos) << text;
  write_file(seqnums.string(), text.substr(0, colon + 1) + " 0000000001");
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("seq-3")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("seq-3", "filled", 20s)) << stack.gateway_log();
  stack.stop_gateway();
  EXPECT_EQ(stack.sim_new_orders()["seq-1"], 1) << "the resend request replayed an order";
  EXPECT_NE(stack.sim_log().find("ResendRequest"), std::string::npos);

  // The Logon password appears nowhere: not in the state directory, not in any log.
  for (const auto& e : std::filesystem::recursive_directory_iterator(stack.dir().path())) {
    if (!e.is_regular_file() || e.path().filename() == "sim0-sim.toml") continue;
    const std::string content = read_file(e.path().string());
    EXPECT_EQ(content.find(password), std::string::npos) << "password found in " << e.path();
  }
}

}  // namespace
}  // namespace brokergw::systest
