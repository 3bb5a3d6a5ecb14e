// System tests of the bounds on resolution and recovery (docs/RECOVERY.md, "The resolution
// budget" and "The lane's hard bound"): many unknown orders at once never flood a broker that
// answers nothing, and the status walk after a logon stays within the lane's queue_capacity
// while new orders still get in. Real brokergw and brokersim processes, real FIX over loopback,
// real LMDB. The only assertions on time are upper bounds on counts, which a slow machine can
// only make smaller; every wait has a deadline.
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/system/harness.h"

namespace brokergw::systest {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

// Short timings for tests; production defaults are 30 s and 1, 2, 4, 8 minutes.
std::string link_toml(int ack_timeout_ms, int base_ms, int cap_ms, int attempts, int jitter_pct) {
  return "ack_timeout_ms = " + std::to_string(ack_timeout_ms) +
         "\nretry_base_ms = " + std::to_string(base_ms) +
         "\nretry_cap_ms = " + std::to_string(cap_ms) +
         "\nretry_max_attempts = " + std::to_string(attempts) +
         "\nretry_jitter_pct = " + std::to_string(jitter_pct) + "\n";
}

GatewayOptions gateway_with(const std::string& broker_toml, std::size_t queue_capacity = 10000) {
  GatewayOptions gw;
  gw.broker_toml = broker_toml;
  gw.queue_capacity = queue_capacity;
  return gw;
}

double seconds_since(steady_clock::time_point start) {
  return std::chrono::duration<double>(steady_clock::now() - start).count();
}

std::string numbered(const std::string& prefix, int i) {
  return prefix + (i < 10 ? "0" : "") + std::to_string(i);
}

// Every event the gateway journaled, in sequence order (paged).
std::vector<json> all_events(Stack& stack) {
  std::vector<json> out;
  long after = 0;
  while (true) {
    HttpResult r = stack.get("/v1/events?after=" + std::to_string(after) + "&limit=1000");
    if (r.status != 200 || !r.body.is_object() || r.body["events"].empty()) return out;
    for (const auto& e : r.body["events"]) out.push_back(e);
    const long next = r.body.value("next_after", after);
    if (next <= after) return out;
    after = next;
  }
}

std::map<std::string, std::vector<json>> events_by_order(Stack& stack) {
  std::map<std::string, std::vector<json>> out;
  for (auto& e : all_events(stack)) out[e.value("client_order_id", "")].push_back(std::move(e));
  return out;
}

std::size_t count_type(const std::vector<json>& events, const std::string& type) {
  return static_cast<std::size_t>(std::count_if(
      events.begin(), events.end(), [&](const json& e) { return e.value("type", "") == type; }));
}

// "type(reason_code) ..." for failure messages.
std::string describe(const std::vector<json>& events) {
  std::string out;
  for (const auto& e : events)
    out += e.value("type", "?") + "(" + e.value("reason_code", "") + ") ";
  return out;
}

// Every order of broker "sim" (paged), by client_order_id.
std::map<std::string, json> all_orders(Stack& stack) {
  std::map<std::string, json> out;
  std::string after;
  while (true) {
    HttpResult r = stack.get("/v1/orders?broker=sim&limit=1000" +
                             (after.empty() ? std::string() : "&after=" + after));
    if (r.status != 200 || !r.body.is_object()) return out;
    for (const auto& o : r.body["orders"]) out[o.value("client_order_id", "")] = o;
    if (!r.body.contains("next_after")) return out;
    after = r.body["next_after"].get<std::string>();
  }
}

// The value of a counter or gauge line ("name value") in /metrics; -1 when absent.
long metric(Stack& stack, const std::string& name) {
  const std::string text = "\n" + stack.get("/metrics").raw;
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stol(text.substr(at + name.size() + 2));
}

json sim_health(Stack& stack) { return stack.get("/v1/health").body["brokers"]["sim"]; }

// A journal entry's ClOrdID ("" when it has none).
std::string clordid_of(const json& m) {
  return m.contains("cl_ord_id") && m["cl_ord_id"].is_string() ? m["cl_ord_id"].get<std::string>()
                                                               : "";
}

// Journal entries per ClOrdID, optionally only those without PossResend=Y.
std::map<std::string, int> per_clordid(const Stack& stack, const std::string& msg_type,
                                       bool first_sends_only = false) {
  std::map<std::string, int> out;
  for (const auto& m : stack.sim_messages(msg_type)) {
    if (first_sends_only && m.value("poss_resend", false)) continue;
    out[clordid_of(m)]++;
  }
  return out;
}

// POSTs the order until it is accepted, retrying 503 broker_busy (a full lane refuses a new
// order before anything is stored) every 10 ms until `timeout`. Any other answer ends it.
struct Submitted {
  int status = 0;
  int busy = 0;              // 503 broker_busy answers before the final one
  double refused_for_s = 0;  // from the first attempt to the final answer
};

Submitted submit_until_accepted(Stack& stack, const json& order,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  Submitted out;
  const auto start = steady_clock::now();
  while (true) {
    HttpResult r = stack.post("/v1/orders", order);
    out.status = r.status;
    const bool busy =
        r.status == 503 && r.body.is_object() && r.body["error"].value("code", "") == "broker_busy";
    if (!busy || steady_clock::now() - start >= timeout) break;
    ++out.busy;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  out.refused_for_s = seconds_since(start);
  return out;
}

// Polls GET /v1/health on its own thread with its own HTTP client (the Stack is used from the
// test's main thread only) and keeps the largest `queued` of broker "sim" it saw.
class HealthPoller {
 public:
  explicit HealthPoller(int api_port) : port_(api_port), thread_([this] { run(); }) {}
  ~HealthPoller() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long samples() const { return samples_; }
  long max_queued() const { return max_queued_; }
  long capacity() const { return capacity_; }

 private:
  void run() {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(10, 0);
    while (!stop_) {
      auto r = c.Get("/v1/health");
      if (r && r->status == 200) {
        const json body = json::parse(r->body, nullptr, false);
        if (body.is_object() && body["brokers"].contains("sim")) {
          const json& b = body["brokers"]["sim"];
          max_queued_ = std::max<long>(max_queued_, b.value("queued", 0L));
          capacity_ = b.value("queue_capacity", 0L);
          ++samples_;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  const int port_;
  std::atomic<bool> stop_{false};
  std::atomic<long> samples_{0};
  std::atomic<long> max_queued_{0};
  std::atomic<long> capacity_{0};
  std::thread thread_;
};

// Sum of M over the gateway's "recovery walk re-queued N and asked the status of M orders".
long walk_asked(const Stack& stack) {
  static const std::regex line("asked the status of ([0-9]+) orders");
  const std::string log = stack.gateway_log();
  long sum = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it) {
    sum += std::stol((*it)[1].str());
  }
  return sum;
}

// 60 orders to a broker that never answers them and never answers a status request. All go
// unknown_at_broker after the ack timeout and all want their first status request at once; the
// resolution budget (10 per second, burst 10; at most 20 awaiting an answer) spreads them out.
// Each order still gets exactly retry_max_attempts status requests (waiting for the budget is
// not an attempt), nothing is resent or lost, and each ends in attention.
TEST(Bounds, shouldNeverFloodABrokerWithResolutionRequestsWhateverTheNumberOfUnknownOrders) {
  constexpr int kOrders = 60;
  constexpr int kMaxPerS = 10;
  constexpr int kMaxInFlight = 20;
  constexpr int kAttempts = 3;
  SimOptions sim{{"symbol = \"DEAF\"\naction = \"silent\"\nanswer_status = false"}};
  Stack stack(sim,
              gateway_with(link_toml(300, 200, 400, kAttempts, 10) +
                           "resolution_max_per_s = " + std::to_string(kMaxPerS) +
                           "\nresolution_max_in_flight = " + std::to_string(kMaxInFlight) + "\n"));
  stack.start_sim();
  stack.start_gateway();
  std::vector<std::string> ids;
  for (int i = 0; i < kOrders; ++i) ids.push_back(numbered("deaf-", i));

  // The budget can have sent at most max_in_flight + max_per_s * elapsed requests (its burst is
  // max_per_s), plus a small allowance; elapsed is taken after the journal was read, so a slow
  // machine only makes the bound looser.
  const auto bound = [&](double elapsed_s) { return kMaxInFlight + kMaxPerS * elapsed_s + 10; };
  const auto first_submit = steady_clock::now();
  for (const auto& id : ids) {
    ASSERT_EQ(stack.post("/v1/orders", Stack::order(id, "DEAF")).status, 201) << id;
  }
  std::this_thread::sleep_for(std::chrono::seconds(4));
  const std::size_t queries = stack.sim_messages("H").size();
  const double elapsed_s = seconds_since(first_submit);
  std::cout << "[ info ] " << queries << " status requests in " << elapsed_s << " s (bound "
            << bound(elapsed_s) << ")\n";
  EXPECT_LE(static_cast<double>(queries), bound(elapsed_s)) << stack.sim_journal();
  EXPECT_GT(queries, 0u) << "resolution has started";
  const long waits = metric(stack, "brokergw_resolution_budget_waits_total");
  std::cout << "[ info ] brokergw_resolution_budget_waits_total " << waits << "\n";
  EXPECT_GT(waits, 0) << "attempts waited for the budget";
  EXPECT_LE(sim_health(stack)["resolution_in_flight"].get<long>(), kMaxInFlight)
      << sim_health(stack).dump();

  // None lost, none guessed: every order is listed, unknown (or still pending).
  {
    const auto orders = all_orders(stack);
    ASSERT_EQ(orders.size(), static_cast<std::size_t>(kOrders));
    for (const auto& id : ids) {
      ASSERT_TRUE(orders.count(id)) << id;
      const std::string state = orders.at(id).value("state", "");
      EXPECT_TRUE(state == "unknown_at_broker" || state == "pending_new") << id << " " << state;
    }
  }

  // Eventually every order is out of attempts.
  ASSERT_TRUE(
      wait_until([&] { return sim_health(stack)["attention_required"] == kOrders; }, 20s, 100ms))
      << sim_health(stack).dump() << "\n"
      << stack.sim_messages("H").size() << " status requests";
  const double attention_s = seconds_since(first_submit);
  std::cout << "[ info ] all " << kOrders << " orders in attention " << attention_s
            << " s after the first submit\n";
  // Nothing goes out after the alerts (the longest backoff is 400 ms + 10 %).
  std::this_thread::sleep_for(600ms);

  const auto queries_of = per_clordid(stack, "H");
  const auto first_sends = per_clordid(stack, "D", true);
  const auto all_sends = stack.sim_new_orders();
  const std::size_t total_queries = stack.sim_messages("H").size();
  const double total_s = seconds_since(first_submit);
  EXPECT_LE(static_cast<double>(total_queries), bound(total_s));
  EXPECT_EQ(total_queries, static_cast<std::size_t>(kOrders * kAttempts))
      << "exactly retry_max_attempts status requests per order: waiting is not an attempt";
  auto events = events_by_order(stack);
  const auto orders = all_orders(stack);
  ASSERT_EQ(orders.size(), static_cast<std::size_t>(kOrders));
  for (const auto& id : ids) {
    EXPECT_EQ(first_sends.count(id) ? first_sends.at(id) : 0, 1) << id;
    EXPECT_EQ(all_sends.count(id) ? all_sends.at(id) : 0, 1) << id << ": asked, never resent";
    EXPECT_EQ(queries_of.count(id) ? queries_of.at(id) : 0, kAttempts) << id;
    EXPECT_EQ(orders.at(id).value("state", ""), "unknown_at_broker") << id << ": nothing guessed";
    const auto& ev = events[id];
    EXPECT_EQ(count_type(ev, "order.unknown"), 1u) << id << ": " << describe(ev);
    EXPECT_EQ(count_type(ev, "order.attention_required"), 1u) << id << ": " << describe(ev);
    if (!ev.empty()) EXPECT_EQ(ev.back().value("reason_code", ""), "attempts_exhausted") << id;
  }
  const json health = sim_health(stack);
  EXPECT_EQ(health["unknown_orders"], kOrders) << health.dump();
  EXPECT_EQ(metric(stack, "brokergw_orders_attention_required{broker=\"sim\"}"), kOrders);
  EXPECT_EQ(metric(stack, "brokergw_operator_alerts_total"), kOrders);
  EXPECT_EQ(metric(stack, "brokergw_status_queries_total"), kOrders * kAttempts);
  EXPECT_EQ(metric(stack, "brokergw_resends_total"), 0);
  stack.stop_gateway();
}

// The status walk after a logon stays within the lane's hard bound. 30 acknowledged orders are
// open when the broker restarts; brokersim keeps its order book in memory only (SIMULATOR.md,
// "Limits"), so after the restart it answers every status request "unknown order". With
// queue_capacity = 8 and a send rate of 20 messages per second, the walk fills the lane and
// must wait for room. Shown: the walk asks exactly once about each order open at the logon, the
// lane never holds more than queue_capacity items, each "unknown order" answer for an
// acknowledged order is flagged (order.anomaly, broker_lost_order) with nothing changed, lost or
// doubled, and new orders submitted during the walk are accepted and sent.
TEST(Bounds, shouldAskAboutEveryOpenOrderAfterALogonWithinTheLaneBound) {
  constexpr int kOpen = 30;
  constexpr int kLate = 10;
  constexpr std::size_t kCapacity = 8;
  SimOptions sim{{"action = \"ack\""}};
  Stack stack(sim, gateway_with(link_toml(2000, 200, 800, 3, 10) +
                                    "query_on_reconnect = true\nmax_messages_per_s = 20\n",
                                kCapacity));
  stack.start_sim();
  stack.start_gateway();

  std::vector<std::string> open_ids, late_ids;
  int busy_before = 0;
  for (int i = 0; i < kOpen; ++i) {
    open_ids.push_back(numbered("open-", i));
    const Submitted s = submit_until_accepted(stack, Stack::order(open_ids.back()));
    ASSERT_EQ(s.status, 201) << open_ids.back();
    busy_before += s.busy;
  }
  for (const auto& id : open_ids) ASSERT_TRUE(stack.wait_for_state(id, "new", 15s)) << id;
  std::cout << "[ info ] " << kOpen << " orders acknowledged; " << busy_before
            << " broker_busy answers on the way\n";
  ASSERT_EQ(stack.sim_messages("H").size(), 0u) << "no status request before the restart";

  // The broker restarts and forgets its orders (its FIX session store and sequence numbers
  // survive in its state_dir).
  stack.stop_sim();
  ASSERT_TRUE(wait_until([&] { return sim_health(stack)["logged_on"] == false; }, 20s));
  HealthPoller poller(stack.api_port());
  stack.start_sim();
  ASSERT_TRUE(wait_until([&] { return sim_health(stack)["logged_on"] == true; }, 20s, 5ms))
      << stack.gateway_log();

  // New orders during the walk: refused as broker_busy while the lane is full, accepted within
  // the retry deadline. (Today the walk refills the lane before each send batch goes out, so
  // most of them wait until the walk is over; the info lines below show how many got in.)
  int busy_late = 0;
  double longest_refusal_s = 0;
  for (int i = 0; i < kLate; ++i) {
    late_ids.push_back(numbered("z-late-", i));
    const Submitted s = submit_until_accepted(stack, Stack::order(late_ids.back()));
    ASSERT_EQ(s.status, 201) << late_ids.back() << " refused for " << s.refused_for_s << " s";
    busy_late += s.busy;
    longest_refusal_s = std::max(longest_refusal_s, s.refused_for_s);
  }
  std::cout << "[ info ] " << kLate << " new orders during the walk: " << busy_late
            << " broker_busy answers, longest wait " << longest_refusal_s << " s\n";
  // How new orders and the walk shared the lane, as the broker received them.
  auto late_sent_during_walk = [&] {
    std::size_t last_walk_query = 0, late_before = 0;
    const std::set<std::string> open(open_ids.begin(), open_ids.end());
    const std::string journal = stack.sim_journal();
    std::istringstream in(journal);
    std::vector<json> entries;
    for (std::string line; std::getline(in, line);) {
      json e = json::parse(line, nullptr, false);
      if (e.is_object()) entries.push_back(std::move(e));
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].value("msg_type", "") == "H" && open.count(clordid_of(entries[i]))) {
        last_walk_query = i;
      }
    }
    for (std::size_t i = 0; i < last_walk_query; ++i) {
      const json& e = entries[i];
      late_before += e.value("msg_type", "") == "D" && clordid_of(e).rfind("z-late-", 0) == 0;
    }
    return late_before;
  };

  // Every open order is asked about and flagged; the new orders are acknowledged.
  auto lost_flagged = [&] {
    auto events = events_by_order(stack);
    for (const auto& id : open_ids) {
      if (count_type(events[id], "order.anomaly") == 0) return false;
    }
    return true;
  };
  ASSERT_TRUE(wait_until(lost_flagged, 20s, 50ms))
      << stack.sim_messages("H").size() << " status requests\n"
      << stack.gateway_log();
  for (const auto& id : late_ids) ASSERT_TRUE(stack.wait_for_state(id, "new", 15s)) << id;
  // Late answers, and any further status request, have time to show.
  std::this_thread::sleep_for(1000ms);
  poller.stop();

  std::cout << "[ info ] new orders sent before the walk's last status request: "
            << late_sent_during_walk() << " of " << kLate << "\n";
  std::cout << "[ info ] health polled " << poller.samples() << " times during the walk; largest "
            << "queued " << poller.max_queued() << " of " << poller.capacity() << "\n";
  EXPECT_GT(poller.samples(), 0);
  EXPECT_EQ(poller.capacity(), static_cast<long>(kCapacity));
  EXPECT_LE(poller.max_queued(), static_cast<long>(kCapacity)) << "the lane exceeded its bound";

  const auto queries = per_clordid(stack, "H");
  const std::size_t total_queries = stack.sim_messages("H").size();
  std::size_t late_asked = 0;
  for (const auto& id : open_ids) {
    EXPECT_EQ(queries.count(id) ? queries.at(id) : 0, 1) << id << ": asked exactly once";
  }
  for (const auto& id : late_ids) {
    const int n = queries.count(id) ? queries.at(id) : 0;
    EXPECT_LE(n, 1) << id;
    late_asked += static_cast<std::size_t>(n);
  }
  std::cout << "[ info ] " << total_queries << " status requests after the restart (" << late_asked
            << " for orders submitted during the walk)\n";
  EXPECT_EQ(total_queries, kOpen + late_asked) << "one status request per open order, no more";
  EXPECT_EQ(walk_asked(stack), static_cast<long>(total_queries))
      << "every status request the walk counted reached the broker";

  auto events = events_by_order(stack);
  const auto orders = all_orders(stack);
  ASSERT_EQ(orders.size(), static_cast<std::size_t>(kOpen + kLate)) << "nothing lost";
  const auto first_sends = per_clordid(stack, "D", true);
  const auto all_sends = stack.sim_new_orders();
  for (const auto& id : open_ids) {
    const auto& ev = events[id];
    EXPECT_EQ(count_type(ev, "order.anomaly"), 1u) << id << ": " << describe(ev);
    for (const auto& e : ev) {
      if (e.value("type", "") != "order.anomaly") continue;
      EXPECT_EQ(e.value("anomaly", ""), "broker_lost_order") << e.dump();
      EXPECT_EQ(e.value("reason_code", ""), "broker_lost_order") << e.dump();
      EXPECT_EQ(e.value("reported_as", ""), "status_unknown_order") << e.dump();
      EXPECT_EQ(e.value("state", ""), "new") << e.dump();
    }
    EXPECT_EQ(count_type(ev, "order.new"), 1u) << id << ": " << describe(ev);
    EXPECT_EQ(ev.size(), 2u) << id << ": " << describe(ev);
    EXPECT_EQ(orders.at(id).value("state", ""), "new") << id << ": nothing changed or guessed";
    EXPECT_EQ(first_sends.count(id) ? first_sends.at(id) : 0, 1) << id;
    EXPECT_EQ(all_sends.count(id) ? all_sends.at(id) : 0, 1) << id << ": never sent again";
  }
  for (const auto& id : late_ids) {
    const auto& ev = events[id];
    EXPECT_EQ(count_type(ev, "order.new"), 1u) << id << ": " << describe(ev);
    EXPECT_EQ(count_type(ev, "order.anomaly"), 0u) << id << ": " << describe(ev);
    EXPECT_EQ(orders.at(id).value("state", ""), "new") << id;
    EXPECT_EQ(all_sends.count(id) ? all_sends.at(id) : 0, 1) << id;
  }
  EXPECT_EQ(metric(stack, "brokergw_operator_alerts_total"), kOpen);
  EXPECT_EQ(metric(stack, "brokergw_broker_anomalies_total"), kOpen);
  EXPECT_EQ(metric(stack, "brokergw_resends_total"), 0);
  EXPECT_EQ(sim_health(stack)["open_orders"], kOpen + kLate);
  stack.stop_gateway();
}

}  // namespace
}  // namespace brokergw::systest
