// System tests of the order path: the real brokergw and brokersim processes on loopback,
// a real FIX session, a real LMDB store. Each test has its own ports and state.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/system/harness.h"

namespace brokergw::systest {
namespace {

SimOptions demo_rules() {
  return SimOptions{{
      "symbol = \"REJ\"\naction = \"reject\"\nreason = \"symbol not tradable\"",
      "symbol = \"HOLD\"\naction = \"ack\"",
      "symbol = \"AAPL\"\naction = \"fill\"\nfills = 3\nfill_interval_ms = 20",
  }};
}

TEST(OrderPath, shouldFillAnOrderInPartsAndShowItsHistory) {
  Stack stack(demo_rules());
  stack.start_sim();
  stack.start_gateway();

  HttpResult created = stack.post("/v1/orders", Stack::order("fill-1", "AAPL", "100"));
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.body["state"], "pending_new");

  ASSERT_TRUE(stack.wait_for_state("fill-1", "filled")) << stack.gateway_log();
  HttpResult order = stack.get("/v1/orders/fill-1");
  EXPECT_EQ(order.body["cum_qty"], "100");
  EXPECT_EQ(order.body["leaves_qty"], "0");
  EXPECT_EQ(order.body["avg_price"], "187.25");
  EXPECT_FALSE(order.body["broker_order_id"].get<std::string>().empty());
  std::vector<std::string> states;
  for (const auto& h : order.body["history"]) states.push_back(h["state"]);
  ASSERT_GE(states.size(), 4u);
  EXPECT_EQ(states.front(), "pending_new");
  EXPECT_EQ(states[1], "new");
  EXPECT_EQ(std::count(states.begin(), states.end(), "partially_filled"), 2);
  EXPECT_EQ(states.back(), "filled");
  EXPECT_EQ(stack.sim_new_orders()["fill-1"], 1);
  stack.stop_gateway();
}

TEST(OrderPath, shouldRejectWithTheBrokersReason) {
  Stack stack(demo_rules());
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("rej-1", "REJ")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("rej-1", "rejected")) << stack.gateway_log();
  HttpResult order = stack.get("/v1/orders/rej-1");
  EXPECT_NE(order.body["reject_reason"].get<std::string>().find("symbol not tradable"),
            std::string::npos)
      << order.raw;
  EXPECT_EQ(order.body["cum_qty"], "0");
  stack.stop_gateway();
}

TEST(OrderPath, shouldCancelAnOpenOrderIdempotently) {
  Stack stack(demo_rules());
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("hold-1", "HOLD")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("hold-1", "new")) << stack.gateway_log();

  HttpResult cancel = stack.post("/v1/orders/hold-1/cancel", {{"client_cancel_id", "cxl-1"}});
  ASSERT_EQ(cancel.status, 202) << cancel.raw;
  EXPECT_EQ(cancel.body["state"], "pending_cancel");
  ASSERT_TRUE(stack.wait_for_state("hold-1", "canceled")) << stack.gateway_log();

  HttpResult again = stack.post("/v1/orders/hold-1/cancel", {{"client_cancel_id", "cxl-1"}});
  EXPECT_EQ(again.status, 200) << again.raw;
  HttpResult other = stack.post("/v1/orders/hold-1/cancel", {{"client_cancel_id", "cxl-2"}});
  EXPECT_EQ(other.status, 409) << other.raw;
  EXPECT_EQ(other.body["error"]["code"], "order_not_cancelable");
  HttpResult missing = stack.post("/v1/orders/nope/cancel", {{"client_cancel_id", "cxl-3"}});
  EXPECT_EQ(missing.status, 404);
  stack.stop_gateway();
}

TEST(OrderPath, shouldAnswerIdempotentReplayConflictAndInvalidInputWithoutSendingAgain) {
  Stack stack(demo_rules());
  stack.start_sim();
  stack.start_gateway();
  auto body = Stack::order("idem-1", "AAPL", "100");
  ASSERT_EQ(stack.post("/v1/orders", body).status, 201);
  ASSERT_TRUE(stack.wait_for_state("idem-1", "filled"));

  auto same = body;
  same["quantity"] = "100.000";  // the same decimal value: an identical request
  HttpResult replay = stack.post("/v1/orders", same);
  EXPECT_EQ(replay.status, 200) << replay.raw;
  EXPECT_EQ(replay.body["state"], "filled");

  auto different = body;
  different["quantity"] = "101";
  HttpResult conflict = stack.post("/v1/orders", different);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body["error"]["code"], "client_order_id_conflict");

  HttpResult bad = stack.post_raw(
      "/v1/orders",
      R"({"client_order_id":"bad-1","account":"ACC-1","broker":"nowhere","symbol":"AAPL",)"
      R"("side":"up","quantity":100,"order_type":"limit"})");
  ASSERT_EQ(bad.status, 400) << bad.raw;
  std::set<std::string> fields;
  for (const auto& f : bad.body["error"]["fields"]) fields.insert(f["field"]);
  EXPECT_TRUE(fields.count("broker") && fields.count("side") && fields.count("quantity") &&
              fields.count("limit_price"))
      << bad.raw;
  EXPECT_EQ(stack.get("/v1/orders/bad-1").status, 404);

  stack.stop_gateway();
  EXPECT_EQ(stack.sim_new_orders()["idem-1"], 1);
  EXPECT_EQ(stack.sim_new_orders().count("bad-1"), 0u);
}

TEST(OrderPath, shouldStoreOneOrderAndSendOneNewOrderSingleFor100ConcurrentIdenticalSubmits) {
  Stack stack(demo_rules());
  stack.start_sim();
  stack.start_gateway();
  std::atomic<int> created{0}, replayed{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      HttpResult r = stack.post("/v1/orders", Stack::order("same-1", "AAPL", "100"));
      if (r.status == 201)
        created++;
      else if (r.status == 200)
        replayed++;
      else
        other++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(replayed.load(), 99);
  EXPECT_EQ(other.load(), 0);
  ASSERT_TRUE(stack.wait_for_state("same-1", "filled"));
  HttpResult list = stack.get("/v1/orders?symbol=AAPL");
  EXPECT_EQ(list.body["orders"].size(), 1u);
  stack.stop_gateway();
  EXPECT_EQ(stack.sim_new_orders()["same-1"], 1);
}

TEST(OrderPath, shouldKeepEveryAcknowledgedOrderAndNeverSendTwiceAcrossKill9) {
  Stack stack(demo_rules());
  stack.start_sim();
  stack.start_gateway();

  // Four clients submit a stream of orders; the gateway is killed in the middle of it.
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        std::string id = "k9-" + std::to_string(next++);
        HttpResult r = stack.post("/v1/orders", Stack::order(id, "AAPL", "10"));
        if (r.status == 201 || r.status == 200) {
          std::lock_guard lock(mu);
          acknowledged.insert(id);
        }
      }
    });
  }
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(mu);
        return acknowledged.size() >= 150;
      },
      30s));
  stack.kill_gateway();
  stop = true;
  for (auto& t : clients) t.join();

  stack.start_gateway();
  for (const auto& id : acknowledged) {
    HttpResult r = stack.get("/v1/orders/" + id);
    ASSERT_EQ(r.status, 200) << "acknowledged order " << id << " lost";
  }
  // Orders never sent before the crash are sent now and fill; orders that may have been in
  // flight are unknown_at_broker, never sent twice.
  ASSERT_TRUE(wait_until(
      [&] {
        HttpResult pending = stack.get("/v1/orders?state=pending_new&limit=1");
        return pending.status == 200 && pending.body["orders"].empty();
      },
      20s));
  stack.stop_gateway();
  for (const auto& [id, count] : stack.sim_new_orders()) {
    EXPECT_EQ(count, 1) << "ClOrdID " << id << " reached the broker " << count << " times";
  }
}

}  // namespace
}  // namespace brokergw::systest
