// System tests of the resolution rules (gateway/core/resolution.h is the spec) against what real
// FIX counterparties do: reject every PossResend copy as a duplicate ClOrdID, refuse status
// requests (35=j), answer Pending New forever, lose an order with the connection and say
// "unknown order" after the reconnect, and answer a cancel the gateway did not live to see.
// Real brokergw and brokersim processes, real FIX over loopback, real LMDB; every wait bounded.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/system/harness.h"

namespace brokergw::systest {
namespace {

using nlohmann::json;

// Short timings for tests; production defaults are 30 s and 1, 2, 4, 8 minutes.
std::string link_toml(int ack_timeout_ms, int base_ms, int cap_ms, int attempts, int jitter_pct) {
  return "ack_timeout_ms = " + std::to_string(ack_timeout_ms) +
         "\nretry_base_ms = " + std::to_string(base_ms) +
         "\nretry_cap_ms = " + std::to_string(cap_ms) +
         "\nretry_max_attempts = " + std::to_string(attempts) +
         "\nretry_jitter_pct = " + std::to_string(jitter_pct) + "\n";
}

GatewayOptions gateway_with(const std::string& broker_toml, const std::string& log_level = "info") {
  GatewayOptions gw;
  gw.broker_toml = broker_toml;
  gw.log_level = log_level;
  return gw;
}

// The order's events, in event sequence order.
std::vector<json> events_of(Stack& stack, const std::string& id) {
  std::vector<json> out;
  HttpResult r = stack.get("/v1/events?after=0&limit=1000");
  if (r.status != 200 || !r.body.is_object()) return out;
  for (const auto& e : r.body["events"]) {
    if (e.value("client_order_id", "") == id) out.push_back(e);
  }
  return out;
}

std::vector<std::string> types_of(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.value("type", ""));
  return out;
}

std::size_t count_type(const std::vector<json>& events, const std::string& type) {
  return static_cast<std::size_t>(std::count_if(
      events.begin(), events.end(), [&](const json& e) { return e.value("type", "") == type; }));
}

// "type(reason_code) ..." for failure messages.
std::string describe(const std::vector<json>& events) {
  std::string out;
  for (const auto& e : events) {
    out += e.value("type", "?") + "(" + e.value("reason_code", "") + ") ";
  }
  return out;
}

bool has_event(Stack& stack, const std::string& id, const std::string& type) {
  return count_type(events_of(stack, id), type) > 0;
}

// Journal entries of one message type for one ClOrdID (a cancel's own ClOrdID for 35=F).
std::vector<json> sim_messages_for(const Stack& stack, const std::string& msg_type,
                                   const std::string& cl_ord_id) {
  std::vector<json> out;
  for (auto& m : stack.sim_messages(msg_type)) {
    if (m["cl_ord_id"].is_string() && m["cl_ord_id"] == cl_ord_id) out.push_back(std::move(m));
  }
  return out;
}

double ts_ms(const json& journal_entry) { return journal_entry["ts_us"].get<double>() / 1000.0; }

// An event's "at" (RFC 3339, UTC, microseconds) as milliseconds since the Unix epoch.
double at_ms(const json& event) {
  const std::string at = event.value("at", "");
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micros = 0;
  if (std::sscanf(at.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &year, &month, &day, &hour, &minute, &second,
                  &micros) != 7) {
    return 0;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<double>(::timegm(&tm)) * 1000.0 + micros / 1000.0;
}

std::vector<std::string> history_states(Stack& stack, const std::string& id) {
  std::vector<std::string> out;
  HttpResult r = stack.get("/v1/orders/" + id);
  if (r.status != 200) return out;
  for (const auto& h : r.body["history"]) out.push_back(h["state"]);
  return out;
}

// Exactly this line ("name{labels} value") is in /metrics.
bool has_metric(Stack& stack, const std::string& line) {
  return ("\n" + stack.get("/metrics").raw).find("\n" + line + "\n") != std::string::npos;
}

// The counters of the simulator's shutdown line ("stopped: orders=1 duplicates=0 ...").
std::map<std::string, long> sim_counters(const Stack& stack) {
  std::map<std::string, long> out;
  const std::string log = stack.sim_log();
  const auto at = log.rfind("stopped: ");
  if (at == std::string::npos) return out;
  std::istringstream in(log.substr(at + 9, log.find('\n', at) - at - 9));
  std::string kv;
  while (in >> kv) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = std::stol(kv.substr(eq + 1));
  }
  return out;
}

json sim_health(Stack& stack) { return stack.get("/v1/health").body["brokers"]["sim"]; }

// Resend strategy against a broker that never acknowledges, rejects every PossResend copy of a
// ClOrdID it holds as a duplicate (OrdRejReason=6) and refuses every status request (35=j):
//   attempt 1  resend          -> duplicate ClOrdID: the broker has it; ask now
//   attempt 2  status request  -> 35=j: the broker cannot be asked; resend when attempt 2's
//                                 backoff (400 ms) is up
//   attempt 3  resend          -> duplicate ClOrdID from a broker that cannot be asked: it has
//                                 the order but cannot say in what state, and resending only
//                                 repeats that: order.attention_required (duplicate_clordid),
//                                 the order stays unknown_at_broker.
TEST(Resolution,
     shouldFlagAnOperatorWhenABrokerThatRefusesStatusRequestsRejectsResendsAsDuplicate) {
  SimOptions sim{{"symbol = \"DARK\"\naction = \"silent\""},
                 {"status_requests = \"unsupported\"", "poss_resend_duplicate = \"reject\""}};
  Stack stack(sim,
              gateway_with(link_toml(300, 200, 800, 3, 10) + "unknown_resolution = \"resend\"\n"));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("dark-1", "DARK")).status, 201);
  ASSERT_TRUE(
      wait_until([&] { return has_event(stack, "dark-1", "order.attention_required"); }, 15s))
      << stack.gateway_log();
  // Nothing more goes out, not even after the longest backoff (cap 800 ms + 10 %).
  std::this_thread::sleep_for(1500ms);

  const auto nos = sim_messages_for(stack, "D", "dark-1");
  const auto queries = sim_messages_for(stack, "H", "dark-1");
  ASSERT_EQ(nos.size(), 3u) << "the first send and two resends\n" << stack.sim_journal();
  ASSERT_EQ(queries.size(), 1u) << stack.sim_journal();
  EXPECT_EQ(nos.size() - 1 + queries.size(), 3u) << "exactly retry_max_attempts attempts";
  EXPECT_LE(nos.size(), 1u + 3u) << "at most 1 + max_attempts NewOrderSingles";
  EXPECT_FALSE(nos[0]["poss_resend"].get<bool>());
  EXPECT_TRUE(nos[1]["poss_resend"].get<bool>());
  EXPECT_TRUE(nos[2]["poss_resend"].get<bool>());

  // The attempts as the simulator received them: resend, status request, resend.
  EXPECT_GE(ts_ms(nos[1]) - ts_ms(nos[0]), 300 - 1) << "the first resend after the ack timeout";
  const double gap1 = ts_ms(queries[0]) - ts_ms(nos[1]);  // asked at once after the duplicate
  const double gap2 = ts_ms(nos[2]) - ts_ms(queries[0]);  // attempt 2's backoff: 400 ms +-10 %
  EXPECT_GE(gap1, 0);
  EXPECT_LT(gap1, 150) << "a duplicate ClOrdID is followed by a status request at once";
  EXPECT_GE(gap2, 400 * 0.9 - 1);
  EXPECT_LE(gap2, 400 * 1.1 + 250);
  EXPECT_GT(gap2, gap1) << "backoff grows";

  const auto events = events_of(stack, "dark-1");
  const std::vector<std::string> expected_types = {"order.unknown", "order.resolution",
                                                   "order.resolution", "order.attention_required"};
  EXPECT_EQ(types_of(events), expected_types) << describe(events);
  if (events.size() == 4) {
    EXPECT_EQ(events[0]["reason_code"], "silence");
    EXPECT_EQ(events[1]["reason_code"], "duplicate_clordid");
    EXPECT_EQ(events[2]["reason_code"], "status_unsupported");
    EXPECT_EQ(events[3]["reason_code"], "duplicate_clordid");
    EXPECT_EQ(events[3]["state"], "unknown_at_broker");
  }
  EXPECT_EQ(stack.get("/v1/orders/dark-1").body["state"], "unknown_at_broker")
      << "nothing is guessed";

  const json health = stack.get("/v1/health").body;
  const json& broker = health["brokers"]["sim"];
  EXPECT_EQ(health["status"], "degraded") << health.dump();
  EXPECT_EQ(broker["status_query_refused"], true) << health.dump();
  EXPECT_EQ(broker["attention_required"], 1) << health.dump();
  ASSERT_EQ(broker["attention_orders"].size(), 1u) << health.dump();
  EXPECT_EQ(broker["attention_orders"][0]["client_order_id"], "dark-1");
  EXPECT_TRUE(has_metric(stack, "brokergw_orders_attention_required{broker=\"sim\"} 1"));
  EXPECT_TRUE(has_metric(stack, "brokergw_operator_alerts_total 1"));

  stack.stop_gateway();
  stack.stop_sim();
  auto counters = sim_counters(stack);
  EXPECT_EQ(counters["orders"], 1) << stack.sim_log();
  EXPECT_EQ(counters["duplicates"], 2);
  EXPECT_EQ(counters["status_unsupported"], 1);
}

// Resend strategy against a broker that rejects every PossResend copy as a duplicate and never
// answers a status request (no 35=j either, so the gateway cannot learn that it cannot ask):
//   attempt 1  resend          -> duplicate ClOrdID: ask now
//   attempt 2  status request  -> silence until attempt 2's backoff (400 ms)
//   attempt 3  status request  -> silence until attempt 3's backoff (800 ms, the cap)
//   then attempts are exhausted: order.attention_required, the order stays unknown_at_broker.
TEST(Resolution, shouldFlagAnOperatorAfterExactlyMaxAttemptsWhenResendsAreDuplicatesAndNoAnswer) {
  SimOptions sim{{"symbol = \"DEAF\"\naction = \"silent\"\nanswer_status = false"},
                 {"poss_resend_duplicate = \"reject\""}};
  Stack stack(sim,
              gateway_with(link_toml(300, 200, 800, 3, 10) + "unknown_resolution = \"resend\"\n"));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("deaf-1", "DEAF")).status, 201);
  ASSERT_TRUE(
      wait_until([&] { return has_event(stack, "deaf-1", "order.attention_required"); }, 15s))
      << stack.gateway_log();
  std::this_thread::sleep_for(1000ms);  // nothing goes out after the alert

  const auto nos = sim_messages_for(stack, "D", "deaf-1");
  const auto queries = sim_messages_for(stack, "H", "deaf-1");
  ASSERT_EQ(nos.size(), 2u) << stack.sim_journal();
  ASSERT_EQ(queries.size(), 2u) << stack.sim_journal();
  EXPECT_EQ(nos.size() - 1 + queries.size(), 3u) << "exactly retry_max_attempts attempts";
  EXPECT_LE(nos.size(), 1u + 3u);
  EXPECT_TRUE(nos[1]["poss_resend"].get<bool>());

  const auto events = events_of(stack, "deaf-1");
  ASSERT_EQ(count_type(events, "order.attention_required"), 1u) << describe(events);
  const json& alert = events.back();
  EXPECT_EQ(alert["type"], "order.attention_required") << describe(events);
  EXPECT_EQ(alert["reason_code"], "attempts_exhausted");
  EXPECT_EQ(alert["state"], "unknown_at_broker");

  // Gaps between attempts (and from the last attempt to the alert) grow: ~0, 400, 800 ms.
  const double gap1 = ts_ms(queries[0]) - ts_ms(nos[1]);
  const double gap2 = ts_ms(queries[1]) - ts_ms(queries[0]);
  const double gap3 = at_ms(alert) - ts_ms(queries[1]);
  EXPECT_LT(gap1, 150);
  EXPECT_GE(gap2, 400 * 0.9 - 1);
  EXPECT_LE(gap2, 400 * 1.1 + 250);
  EXPECT_GE(gap3, 800 * 0.9 - 5);
  EXPECT_LE(gap3, 800 * 1.1 + 250);
  EXPECT_LT(gap1, gap2);
  EXPECT_LT(gap2, gap3);

  EXPECT_EQ(stack.get("/v1/orders/deaf-1").body["state"], "unknown_at_broker");
  const json health = stack.get("/v1/health").body;
  EXPECT_EQ(health["status"], "degraded") << health.dump();
  EXPECT_EQ(health["brokers"]["sim"]["attention_required"], 1) << health.dump();
  ASSERT_EQ(health["brokers"]["sim"]["attention_orders"].size(), 1u) << health.dump();
  EXPECT_EQ(health["brokers"]["sim"]["attention_orders"][0]["client_order_id"], "deaf-1");
  EXPECT_TRUE(has_metric(stack, "brokergw_orders_attention_required{broker=\"sim\"} 1"));
  EXPECT_TRUE(has_metric(stack, "brokergw_operator_alerts_total 1"));

  stack.stop_gateway();
  stack.stop_sim();
  auto counters = sim_counters(stack);
  EXPECT_EQ(counters["orders"], 1) << stack.sim_log();
  EXPECT_EQ(counters["duplicates"], 1);
  EXPECT_EQ(counters["status_unanswered"], 2);
}

// Status query strategy against a broker that holds the order but never acknowledges it: every
// status answer is ExecType=I, OrdStatus=A (Pending New). Each answer is adopted (order.status,
// back to pending_new with a fresh ack deadline and the attempt count carried), so the order is
// asked again after each ack timeout and, after retry_max_attempts answers, is flagged for an
// operator: it stays unknown_at_broker (nothing is guessed).
TEST(Resolution, shouldReaskAPendingNewAnswerAfterEachAckTimeoutThenFlagAnOperator) {
  SimOptions sim{{"symbol = \"SLOW\"\naction = \"silent\""}};
  Stack stack(sim, gateway_with(link_toml(300, 200, 800, 3, 10)));
  stack.start_sim();
  stack.start_gateway();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("slow-1", "SLOW")).status, 201);
  ASSERT_TRUE(
      wait_until([&] { return has_event(stack, "slow-1", "order.attention_required"); }, 15s))
      << stack.gateway_log();
  std::this_thread::sleep_for(1000ms);  // nothing goes out after the alert

  const auto queries = sim_messages_for(stack, "H", "slow-1");
  ASSERT_EQ(queries.size(), 3u) << stack.sim_journal();
  EXPECT_EQ(sim_messages_for(stack, "D", "slow-1").size(), 1u) << "asked, never resent";
  for (std::size_t i = 1; i < queries.size(); ++i) {
    // The answer arrives at once; the next question waits for a whole ack timeout after it.
    EXPECT_GE(ts_ms(queries[i]) - ts_ms(queries[i - 1]), 300 - 1) << "query " << i;
    EXPECT_LE(ts_ms(queries[i]) - ts_ms(queries[i - 1]), 300 + 800) << "query " << i;
  }

  const auto events = events_of(stack, "slow-1");
  const std::vector<std::string> expected_types = {
      "order.unknown", "order.status", "order.unknown", "order.status",
      "order.unknown", "order.status", "order.unknown", "order.attention_required"};
  EXPECT_EQ(types_of(events), expected_types) << describe(events);
  for (const auto& e : events) {
    if (e["type"] != "order.status") continue;
    EXPECT_EQ(e["broker_state"], "pending_new") << e.dump();
    EXPECT_EQ(e["reason_code"], "status_pending") << e.dump();
    EXPECT_EQ(e["state"], "pending_new") << e.dump();
  }
  EXPECT_EQ(history_states(stack, "slow-1"),
            (std::vector<std::string>{"pending_new", "unknown_at_broker", "pending_new",
                                      "unknown_at_broker", "pending_new", "unknown_at_broker",
                                      "pending_new", "unknown_at_broker"}));
  EXPECT_EQ(stack.get("/v1/orders/slow-1").body["state"], "unknown_at_broker");
  const json health = sim_health(stack);
  EXPECT_EQ(health["attention_required"], 1) << health.dump();
  ASSERT_EQ(health["attention_orders"].size(), 1u) << health.dump();
  EXPECT_EQ(health["attention_orders"][0]["client_order_id"], "slow-1");
  EXPECT_TRUE(has_metric(stack, "brokergw_orders_attention_required{broker=\"sim\"} 1"));
  stack.stop_gateway();
}

// The broker drops the connection on receipt of the order and forgets it (as if the message
// were lost). The ack timeout is long (20 s), so it cannot be what resolves the order: after the
// reconnect the logon status query is answered "unknown order" (OrdStatus=8, OrdRejReason=5),
// and the same ClOrdID goes again at once with PossResend=Y; the broker places it and fills it.
TEST(Resolution, shouldResendAtOnceWhenTheLogonStatusQueryFindsTheSentOrderUnknown) {
  SimOptions sim{{"symbol = \"LOST\"\naction = \"fill\"\ndisconnect = \"before_placing\"",
                  "symbol = \"AAPL\"\naction = \"fill\""}};
  Stack stack(sim, gateway_with(link_toml(20000, 200, 800, 3, 10)));
  stack.start_sim();
  stack.start_gateway();
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("lost-1", "LOST")).status, 201);
  ASSERT_TRUE(stack.wait_for_state("lost-1", "filled", 15s)) << stack.gateway_log();
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ info ] lost order filled " << elapsed_ms << " ms after it was submitted\n";
  EXPECT_LT(elapsed_ms, 10000) << "resolved well before the 20 s ack timeout";

  const auto nos = sim_messages_for(stack, "D", "lost-1");
  const auto queries = sim_messages_for(stack, "H", "lost-1");
  ASSERT_EQ(nos.size(), 2u) << stack.sim_journal();
  ASSERT_GE(queries.size(), 1u) << stack.sim_journal();
  EXPECT_FALSE(nos[0]["poss_resend"].get<bool>());
  EXPECT_TRUE(nos[1]["poss_resend"].get<bool>()) << "the same ClOrdID, PossResend=Y";
  EXPECT_GT(ts_ms(queries[0]), ts_ms(nos[0]));
  EXPECT_LT(ts_ms(queries[0]), ts_ms(nos[1])) << "asked before resending";
  EXPECT_LT(ts_ms(nos[1]) - ts_ms(queries[0]), 500) << "resent promptly after 'unknown order'";
  EXPECT_LT(ts_ms(nos[1]) - ts_ms(nos[0]), 10000);

  const auto events = events_of(stack, "lost-1");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["type"], "order.unknown") << describe(events);
  EXPECT_EQ(events.front()["reason_code"], "not_at_broker_resend") << describe(events);
  EXPECT_EQ(count_type(events, "order.rejected"), 0u) << describe(events);
  EXPECT_EQ(count_type(events, "order.new"), 1u) << describe(events);
  EXPECT_EQ(events.back()["type"], "order.fill") << describe(events);
  EXPECT_EQ(stack.get("/v1/orders/lost-1").body["cum_qty"], "100");
  for (const auto& e : events) {
    EXPECT_NE(e["reason_code"], "silence") << "no ack timeout involved: " << describe(events);
  }

  stack.stop_gateway();
  stack.stop_sim();
  auto counters = sim_counters(stack);
  EXPECT_EQ(counters["orders"], 1) << "exactly one order at the broker\n" << stack.sim_log();
  EXPECT_EQ(counters["duplicates"], 0);
  EXPECT_EQ(counters["forgotten_orders"], 1);
}

// Waits until the gateway's debug log shows a FIX message with all of `needles` going out.
bool gateway_sent(Stack& stack, const std::vector<std::string>& needles,
                  std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        std::istringstream in(stack.gateway_log());
        std::string line;
        while (std::getline(in, line)) {
          if (line.find(" out 8=FIX") == std::string::npos) continue;
          if (std::all_of(needles.begin(), needles.end(),
                          [&](const std::string& n) { return line.find(n) != std::string::npos; }))
            return true;
        }
        return false;
      },
      timeout);
}

// An acknowledged order, its cancel on the wire, the gateway SIGKILLed before the answer can
// arrive (the simulator is frozen meanwhile, so the cancel sits unread in its socket), then the
// simulator runs on (it cancels the order; its answer is stored for the session) and the gateway
// restarts and runs until `settled`. Returns what the broker received and the order's events.
struct CancelInFlight {
  std::size_t cancels_at_broker = 0;
  std::vector<json> events;
};

CancelInFlight kill_with_cancel_in_flight(Stack& stack, const std::string& id,
                                          const std::string& cancel_id,
                                          const std::function<bool()>& settled) {
  CancelInFlight out;
  stack.start_sim();
  stack.start_gateway();
  EXPECT_EQ(stack.post("/v1/orders", Stack::order(id, "HOLD")).status, 201);
  EXPECT_TRUE(stack.wait_for_state(id, "new", 10s)) << stack.gateway_log();
  stack.sim_process().signal(SIGSTOP);
  HttpResult cancel = stack.post("/v1/orders/" + id + "/cancel", {{"client_cancel_id", cancel_id}});
  EXPECT_EQ(cancel.status, 202) << cancel.raw;
  EXPECT_TRUE(gateway_sent(stack, {"|35=F|", "|11=" + cancel_id + "|"}, 5s))
      << "the cancel never went out\n"
      << stack.gateway_log();
  stack.kill_gateway();
  stack.sim_process().signal(SIGCONT);
  EXPECT_TRUE(wait_until([&] { return !sim_messages_for(stack, "F", cancel_id).empty(); }, 5s))
      << "the simulator never read the cancel\n"
      << stack.sim_log();
  stack.start_gateway();
  EXPECT_TRUE(wait_until(settled, 15s)) << stack.gateway_log();
  // Late answers (the session's resend, status answers, answers to resent cancels) have time to
  // arrive: longer than the longest backoff (cap 800 ms + 10 %).
  std::this_thread::sleep_for(1500ms);
  out.cancels_at_broker = sim_messages_for(stack, "F", cancel_id).size();
  out.events = events_of(stack, id);
  return out;
}

// No order.cancel_rejected after the first order.canceled.
bool no_cancel_reject_after_canceled(const std::vector<json>& events) {
  bool canceled = false;
  for (const auto& e : events) {
    if (e["type"] == "order.canceled") canceled = true;
    if (canceled && e["type"] == "order.cancel_rejected") return false;
  }
  return true;
}

// The broker answers status requests: after the restart the cancel in flight is asked about
// first (never blindly sent again); the canceled report reaches the gateway through the
// session's resend (the gateway's ResendRequest at logon), and a later status answer changes
// nothing.
TEST(Resolution, shouldEndCanceledWhenKilledWithACancelInFlight) {
  Stack stack(SimOptions{{"symbol = \"HOLD\"\naction = \"ack\""}},
              gateway_with(link_toml(2000, 200, 800, 3, 10), "debug"));
  const CancelInFlight r = kill_with_cancel_in_flight(stack, "hold-1", "cx-hold-1", [&] {
    return stack.get("/v1/orders/hold-1").body["state"] == "canceled";
  });
  std::cout << "[ info ] cancels received by the broker: " << r.cancels_at_broker << "\n";
  EXPECT_EQ(stack.get("/v1/orders/hold-1").body["state"], "canceled");
  EXPECT_TRUE(no_cancel_reject_after_canceled(r.events)) << describe(r.events);
  EXPECT_EQ(count_type(r.events, "order.cancel_rejected"), 0u) << describe(r.events);
  EXPECT_EQ(count_type(r.events, "order.canceled"), 1u) << describe(r.events);
  EXPECT_EQ(r.cancels_at_broker, 1u) << "a cancel in flight is asked about, not sent again";
  EXPECT_EQ(sim_messages_for(stack, "D", "hold-1").size(), 1u);
  stack.stop_gateway();
}

// The broker refuses status requests (35=j), so after the restart the gateway's only way to
// resolve the cancel in flight is to send it again (same cancel id), which the broker would
// answer "too late" (CxlRejReason=0, OrdStatus=4: the first copy canceled the order). The
// session's resend of the canceled report (the gateway's ResendRequest at logon) usually settles
// the order within a millisecond of the logon, before any resend. Whichever arrives first, no
// order.cancel_rejected follows order.canceled and the order ends canceled.
TEST(Resolution, shouldEndCanceledWhenKilledWithACancelInFlightAtABrokerWithoutStatusRequests) {
  Stack stack(SimOptions{{"symbol = \"HOLD\"\naction = \"ack\""},
                         {"status_requests = \"unsupported\"", "resent_cancel = \"too_late\""}},
              gateway_with(link_toml(2000, 200, 800, 3, 10), "debug"));
  const CancelInFlight r = kill_with_cancel_in_flight(stack, "hold-2", "cx-hold-2", [&] {
    return stack.get("/v1/orders/hold-2").body["state"] == "canceled";
  });
  std::cout << "[ info ] cancels received by the broker: " << r.cancels_at_broker << "\n";
  EXPECT_EQ(stack.get("/v1/orders/hold-2").body["state"], "canceled");
  EXPECT_TRUE(no_cancel_reject_after_canceled(r.events)) << describe(r.events);
  EXPECT_EQ(count_type(r.events, "order.canceled"), 1u) << describe(r.events);
  EXPECT_LE(r.cancels_at_broker, 1u + 3u) << "at most the first cancel and max_attempts resends";
  stack.stop_gateway();
}

CancelInFlight too_late_only(Stack& stack, const std::string& id) {
  return kill_with_cancel_in_flight(stack, id, "cx-" + id, [&] {
    HttpResult o = stack.get("/v1/orders/" + id);
    return o.body["state"] == "canceled" || has_event(stack, id, "order.attention_required");
  });
}

GatewayOptions reset_on_logon_gateway() {
  return gateway_with(link_toml(2000, 200, 800, 3, 10) + "sequence_reset = \"on_logon\"\n",
                      "debug");
}

const SimOptions kHoldWithoutStatus{
    {"symbol = \"HOLD\"\naction = \"ack\""},
    {"status_requests = \"unsupported\"", "resent_cancel = \"too_late\""}};

// As above, but the session is reset at every logon, so the broker's canceled report is never
// resent by the session: the only answers the gateway gets are the broker's "too late" answers
// to the resent cancel (OrderCancelReject CxlRejReason=0 with OrdStatus=4, "order already
// canceled"). The broker never says the order is live, so the gateway must never report the
// cancel rejected nor the order live; it ends canceled.
TEST(Resolution, shouldNeverReportTheCancelRejectedWhenTheOnlyAnswerIsTooLateToTheResentCancel) {
  Stack stack(kHoldWithoutStatus, reset_on_logon_gateway());
  const CancelInFlight r = too_late_only(stack, "hold-3");
  const std::string state = stack.get("/v1/orders/hold-3").body["state"];
  std::cout << "[ info ] cancels received by the broker: " << r.cancels_at_broker
            << "; the order ends " << state << "; events: " << describe(r.events) << "\n";
  EXPECT_GE(r.cancels_at_broker, 2u) << "the cancel was resent and answered";
  EXPECT_LE(r.cancels_at_broker, 1u + 3u) << "at most the first cancel and max_attempts resends";
  EXPECT_EQ(count_type(r.events, "order.cancel_rejected"), 0u) << describe(r.events);
  // From the restart on (the cancel was pending), the order is never reported live.
  bool restarted = false;
  for (const auto& e : r.events) {
    restarted |= e["type"] == "order.unknown";
    if (!restarted) continue;
    EXPECT_NE(e["state"], "new") << "reported live after the cancel: " << describe(r.events);
  }
  EXPECT_TRUE(restarted) << describe(r.events);
  EXPECT_EQ(state, "canceled") << describe(r.events);
  stack.stop_gateway();
}

// The "too late" OrderCancelReject carries OrdStatus=4, the broker's word that the order is
// canceled: the gateway takes it as the Canceled report it never got.
TEST(Resolution, shouldEndCanceledWhenTheOnlyAnswerIsTooLateToTheResentCancel) {
  Stack stack(kHoldWithoutStatus, reset_on_logon_gateway());
  const CancelInFlight r = too_late_only(stack, "hold-4");
  EXPECT_EQ(stack.get("/v1/orders/hold-4").body["state"], "canceled") << describe(r.events);
  EXPECT_EQ(count_type(r.events, "order.canceled"), 1u) << describe(r.events);
  EXPECT_TRUE(no_cancel_reject_after_canceled(r.events)) << describe(r.events);
  EXPECT_EQ(count_type(r.events, "order.attention_required"), 0u) << describe(r.events);
  stack.stop_gateway();
}

}  // namespace
}  // namespace brokergw::systest
