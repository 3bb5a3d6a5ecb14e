// Service tests: the order service's threads (API callers, the broker lane, the adapter's
// report thread, the scheduler) in one process, on the in-memory store twin with injected
// faults (tests/support/memory_store.h), against a real broker simulator process over FIX on
// loopback. They prove that the store error handlers run and that no item is dropped, and they
// run under ThreadSanitizer in CI (label "concurrency").
#include <atomic>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "adapters/fix/fix_adapter.h"
#include "gateway/service/order_service.h"
#include "tests/integration/service_support.h"
#include "tests/support/memory_store.h"
#include "tests/system/harness.h"

namespace brokergw {
namespace {

using namespace std::chrono_literals;
using systest::Process;
using systest::TempDir;
using systest::wait_until;

// One broker simulator process and an OrderService with one FIX lane to it.
class ServiceStack {
 public:
  ServiceStack(const std::vector<std::string>& rules, std::uint64_t ack_timeout_ms = 30000)
      : fix_port_(systest::free_port()) {
    sim_ = servicetest::start_sim(dir_, fix_port_, rules);
    config::BrokerConfig b = servicetest::sim_broker(fix_port_);
    auto adapter = adapters::fix::make_fix_adapter(b, dir_.file("gw-state"), store_);
    if (!adapter) throw std::runtime_error(adapter.error());
    service::BrokerPolicy policy;
    policy.queue_capacity = 1000;
    policy.rules.policy.ack_timeout_ms = ack_timeout_ms;
    policy.rules.policy.backoff = {.base_ms = 200, .cap_ms = 800, .max_attempts = 20};
    std::vector<service::OrderService::BrokerLaneConfig> lanes;
    lanes.push_back({std::move(*adapter), policy});
    service_ = std::make_unique<service::OrderService>(store_, std::move(lanes),
                                                       service::system_now_us, notifier_);
  }
  ~ServiceStack() {
    if (service_) service_->stop();
    store_.close();
  }

  void start() {
    service_->start();
    if (!wait_until([&] { return service_->broker_status().at(0).logged_on; }, 15s)) {
      throw std::runtime_error("the FIX session did not log on:\n" + sim_->log());
    }
  }

  static core::NewOrderRequest order(const std::string& id, const std::string& qty = "10") {
    core::NewOrderRequest r;
    r.client_order_id = id;
    r.account = "ACC-" + std::to_string(id.size() % 3);
    r.broker = "sim";
    r.symbol = "AAPL";
    r.side = core::Side::kBuy;
    r.quantity = core::Qty{*core::Decimal::parse(qty)};
    r.order_type = core::OrderType::kMarket;
    return r;
  }

  std::string state(const std::string& id) {
    auto o = service_->get(id);
    return o ? std::string(core::to_string(o->order.state)) : "missing";
  }
  // What a failing test prints: the order's history, the counters, the simulator's log.
  std::string explain(const std::string& id) {
    std::ostringstream out;
    if (auto o = service_->get(id)) {
      out << id << " sends=" << o->order.send_attempts << " history:";
      for (const auto& h : o->order.history) {
        out << " " << core::to_string(h.state) << "(" << h.reason << ")";
      }
    }
    const auto& m = service_->metrics();
    out << "\nsent=" << m.messages_sent << " send_failures=" << m.send_failures
        << " store_retries=" << m.store_retries << " store_failures=" << m.store_failures
        << " applied=" << m.reports_applied << " injected=" << store_.faults().injected_op_failures
        << "\nlogged_on=" << service_->broker_status().at(0).logged_on
        << " queued=" << service_->broker_status().at(0).queued << "\nsim log:\n"
        << sim_->log();
    return out.str();
  }
  bool wait_for_state(const std::string& id, const std::string& s, std::chrono::seconds t = 15s) {
    return wait_until([&] { return state(id) == s; }, t);
  }
  // NewOrderSingles the simulator received for one ClOrdID (from its journal).
  int new_orders_at_broker(const std::string& id) const {
    int n = 0;
    std::istringstream in(systest::read_file(dir_.file("journal.jsonl")));
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"msg_type\":\"D\"") != std::string::npos &&
          line.find("\"cl_ord_id\":\"" + id + "\"") != std::string::npos) {
        ++n;
      }
    }
    return n;
  }

  testing::MemoryStore& store() { return store_; }
  service::OrderService& service() { return *service_; }
  std::string sim_log() const { return sim_->log(); }

 private:
  TempDir dir_;
  int fix_port_;
  testing::MemoryStore store_;
  events::EventNotifier notifier_;
  std::unique_ptr<Process> sim_;
  std::unique_ptr<service::OrderService> service_;
};

const std::string kFill = "symbol = \"AAPL\"\naction = \"fill\"\nfills = 2\nfill_interval_ms = 5";

bool is_update_of(const testing::WriteOp& op, const std::string& id) {
  return op.name == "update_order" && op.key == id;
}

TEST(ServiceFaults, shouldRetryARetriableStoreErrorInTheLaneAndSendTheOrderOnce) {
  ServiceStack stack({kFill}, /*ack_timeout_ms=*/2000);
  stack.start();
  // The lane's send transaction (marking the send attempt) fails twice with an I/O error.
  stack.store().fail_writes_matching(
      [](const testing::WriteOp& op) { return is_update_of(op, "io-1"); }, store::StoreErrc::kIo,
      2);
  auto out = stack.service().submit(ServiceStack::order("io-1"));
  ASSERT_EQ(out.status, service::SubmitStatus::kCreated);
  ASSERT_TRUE(stack.wait_for_state("io-1", "filled", 30s)) << stack.explain("io-1");
  EXPECT_EQ(stack.store().faults().injected_op_failures, 2u);
  EXPECT_GE(stack.service().metrics().store_retries.load(), 2u);
  EXPECT_EQ(stack.service().metrics().store_failures.load(), 0u);
  EXPECT_EQ(stack.new_orders_at_broker("io-1"), 1);
}

TEST(ServiceFaults, shouldParkAnItemOnAFatalStoreErrorAlertAndSendItLaterWithoutBlockingOthers) {
  ServiceStack stack({kFill}, /*ack_timeout_ms=*/2000);
  stack.start();
  stack.store().fail_writes_matching(
      [](const testing::WriteOp& op) { return is_update_of(op, "fatal-1"); },
      store::StoreErrc::kCorrupt, 1);
  ASSERT_EQ(stack.service().submit(ServiceStack::order("fatal-1")).status,
            service::SubmitStatus::kCreated);
  // Orders behind it are not blocked by the parked item.
  ASSERT_EQ(stack.service().submit(ServiceStack::order("after-1")).status,
            service::SubmitStatus::kCreated);
  ASSERT_TRUE(stack.wait_for_state("after-1", "filled", 30s)) << stack.explain("after-1");
  EXPECT_EQ(stack.service().metrics().store_failures.load(), 1u);
  EXPECT_GE(stack.service().metrics().operator_alerts.load(), 1u);
  // The parked item is retried (every 5 s) and goes out once.
  ASSERT_TRUE(stack.wait_for_state("fatal-1", "filled", 30s)) << stack.explain("fatal-1");
  EXPECT_EQ(stack.new_orders_at_broker("fatal-1"), 1);
}

TEST(ServiceFaults, shouldKeepADueDeadlineWhenTheSchedulersWriteFailsAndDeclareSilenceLater) {
  ServiceStack stack({"symbol = \"AAPL\"\naction = \"silent\""}, /*ack_timeout_ms=*/300);
  stack.start();
  ASSERT_EQ(stack.service().submit(ServiceStack::order("quiet-1")).status,
            service::SubmitStatus::kCreated);
  ASSERT_TRUE(wait_until(
      [&] {
        auto o = stack.service().get("quiet-1");
        return o && o->order.send_attempts == 1;
      },
      10s));
  // The scheduler's write that would make it unknown fails twice; the deadline stays due.
  stack.store().fail_writes_matching(
      [](const testing::WriteOp& op) { return is_update_of(op, "quiet-1"); }, store::StoreErrc::kIo,
      2);
  ASSERT_TRUE(wait_until(
      [&] {
        auto o = stack.service().get("quiet-1");
        return o && o->order.history.size() >= 2 &&
               o->order.history[1].state == core::OrderState::kUnknownAtBroker;
      },
      15s))
      << stack.state("quiet-1");
  EXPECT_EQ(stack.store().faults().injected_op_failures, 2u);
  EXPECT_GE(stack.service().metrics().store_failures.load(), 2u);
  EXPECT_EQ(stack.new_orders_at_broker("quiet-1"), 1);
}

TEST(ServiceConcurrency, shouldApplyIntakeCancelsAndFillsFromManyThreadsWithoutLosingAnUpdate) {
  ServiceStack stack({"symbol = \"AAPL\"\naction = \"fill\"\nfills = 3\nfill_interval_ms = 2"},
                     2000);
  stack.start();
  constexpr int kThreads = 4, kPerThread = 25;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "c-" + std::to_string(t) + "-" + std::to_string(i);
        if (stack.service().submit(ServiceStack::order(id, "30")).status ==
            service::SubmitStatus::kCreated) {
          created++;
        }
        // The same request again from this thread: a replay, nothing sent twice.
        EXPECT_EQ(stack.service().submit(ServiceStack::order(id, "30")).status,
                  service::SubmitStatus::kReplayed);
        // Every other order gets a cancel racing its fills.
        if (i % 2 == 0) (void)stack.service().cancel(id, "x-" + id);
        (void)stack.service().broker_status();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string id = "c-" + std::to_string(t) + "-" + std::to_string(i);
      ASSERT_TRUE(wait_until(
          [&] {
            auto o = stack.service().get(id);
            return o && core::is_terminal(o->order.state);
          },
          30s))
          << id << " " << stack.state(id);
      auto o = stack.service().get(id);
      core::check_invariants(o->order);
      // One broker order per ClOrdID; a cancel may have caught an order before it left.
      if (i % 2 == 0) {
        EXPECT_LE(stack.new_orders_at_broker(id), 1) << id;
      } else {
        EXPECT_EQ(stack.new_orders_at_broker(id), 1) << id;
      }
    }
  }
}

}  // namespace
}  // namespace brokergw

namespace brokergw {
namespace {

adapters::BrokerReport report(const std::string& id, const std::string& exec_id,
                              core::OrderEvent ev, const char* exec_type, const char* last_qty,
                              const char* last_px, const char* cum) {
  adapters::BrokerReport r;
  r.broker = "sim";
  r.client_order_id = id;
  r.exec_id = exec_id;
  r.event = std::move(ev);
  r.content.exec_type = exec_type;
  if (last_qty) r.content.last_qty = core::Decimal::parse(last_qty);
  if (last_px) r.content.last_px = core::Decimal::parse(last_px);
  r.content.cum_qty = core::Decimal::parse(cum);
  r.raw = "35=8|11=" + id + "|17=" + exec_id;
  r.summary = exec_type;
  return r;
}

std::vector<store::StoredEvent> events_of(testing::MemoryStore& store, const std::string& id) {
  std::vector<store::StoredEvent> out;
  (void)store.read([&](store::ReadTxn& t) -> store::Status {
    auto all = t.events_after(0, 10000);
    if (!all) return tl::unexpected(all.error());
    for (auto& e : *all) {
      if (e.client_order_id == id) out.push_back(std::move(e));
    }
    return {};
  });
  return out;
}

core::Qty qty(const char* s) { return core::Qty{*core::Decimal::parse(s)}; }
core::Price px(const char* s) { return core::Price{*core::Decimal::parse(s)}; }

// The report intake's rules for ExecIDs and ExecRefIDs (docs/EVENTS.md, "De-duplication" and
// "Busts, corrections and restatements"), reports handed to the service as its FIX adapter
// would, on an order the simulator acknowledged.
TEST(ServiceReports, shouldKeepDuplicatesConflictsBustsAndCorrectionsApart) {
  ServiceStack stack({"symbol = \"AAPL\"\naction = \"ack\""});
  stack.start();
  ASSERT_EQ(stack.service().submit(ServiceStack::order("x-1", "10")).status,
            service::SubmitStatus::kCreated);
  ASSERT_TRUE(stack.wait_for_state("x-1", "new")) << stack.explain("x-1");
  auto& svc = stack.service();
  const std::size_t before = events_of(stack.store(), "x-1").size();
  using adapters::ReportOutcome;
  EXPECT_EQ(svc.on_report(
                report("x-1", "1", core::EvFill{"1", "", qty("4"), px("10")}, "F", "4", "10", "4")),
            ReportOutcome::kJournaled);
  // The same report again (a resend): a duplicate, nothing applied or journaled.
  EXPECT_EQ(svc.on_report(report("x-1", "1", core::EvFill{"1", "", qty("4"), px("10")}, "F", "4.0",
                                 "10", "4")),
            ReportOutcome::kDuplicate);
  // The same ExecID with another quantity: an anomaly showing both, nothing applied.
  EXPECT_EQ(svc.on_report(
                report("x-1", "1", core::EvFill{"1", "", qty("3"), px("10")}, "F", "3", "10", "7")),
            ReportOutcome::kJournaled);
  EXPECT_EQ(stack.service().get("x-1")->order.cum_qty, qty("4"));
  auto ev = events_of(stack.store(), "x-1");
  ASSERT_EQ(ev.size(), before + 2);
  EXPECT_EQ(ev.back().type, "order.anomaly");
  EXPECT_NE(ev.back().body.find("\"anomaly\":\"exec_id_conflict\""), std::string::npos)
      << ev.back().body;
  EXPECT_NE(ev.back().body.find("\"first_seen\":\"ExecType=F LastQty=4 LastPx=10 CumQty=4\""),
            std::string::npos)
      << ev.back().body;
  EXPECT_NE(ev.back().body.find("\"this_report\":\"ExecType=F LastQty=3"), std::string::npos);
  EXPECT_NE(ev.back().body.find("\"raw_message\""), std::string::npos);
  // A second fill, then a bust of the first: exactly its 4@10 comes back out.
  (void)svc.on_report(
      report("x-1", "2", core::EvFill{"2", "", qty("6"), px("11")}, "F", "6", "11", "10"));
  ASSERT_TRUE(stack.wait_for_state("x-1", "filled"));
  (void)svc.on_report(report("x-1", "3", core::EvBust{"1", {}, {}}, "H", "4", "10", "6"));
  auto o = stack.service().get("x-1")->order;
  EXPECT_EQ(o.state, core::OrderState::kPartiallyFilled);
  EXPECT_EQ(o.cum_qty, qty("6"));
  EXPECT_EQ(o.avg_price, px("11"));
  EXPECT_FALSE(core::fills_missing(o));
  EXPECT_EQ(events_of(stack.store(), "x-1").back().type, "order.fill_busted");
  // The same fill busted again under another ExecID: nothing left to take back.
  (void)svc.on_report(report("x-1", "4", core::EvBust{"1", {}, {}}, "H", "4", "10", "6"));
  EXPECT_NE(events_of(stack.store(), "x-1").back().body.find("unknown_exec_ref"),
            std::string::npos);
  // A correction of the second fill: 6@11 -> 5@12.
  (void)svc.on_report(
      report("x-1", "5", core::EvCorrect{"2", {}, {}, qty("5"), px("12")}, "G", "5", "12", "5"));
  o = stack.service().get("x-1")->order;
  EXPECT_EQ(o.cum_qty, qty("5"));
  EXPECT_EQ(o.avg_price, px("12"));
  EXPECT_EQ(events_of(stack.store(), "x-1").back().type, "order.fill_corrected");
  // A correction of a fill never booked: an anomaly.
  (void)svc.on_report(
      report("x-1", "6", core::EvCorrect{"E-none", {}, {}, qty("1"), px("1")}, "G", "1", "1", "5"));
  EXPECT_NE(events_of(stack.store(), "x-1").back().body.find("unknown_exec_ref"),
            std::string::npos);
  EXPECT_EQ(stack.service().get("x-1")->order.cum_qty, qty("5"));
  EXPECT_EQ(stack.service().metrics().exec_id_conflicts.load(), 1u);
  EXPECT_EQ(stack.service().metrics().fill_adjustments.load(), 2u);
}

}  // namespace
}  // namespace brokergw
