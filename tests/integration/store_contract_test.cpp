// The store contract (store/store.h), run against both implementations: the LMDB store on real
// files (each test in its own directory under /tmp) and MemoryStore, its in-memory twin for
// service tests (tests/support/memory_store.h). Orders and compare-and-set, cancels, execution
// de-duplication, events and the published cursor, nested-write isolation, the schedule with
// every step (kNeverDue included), the open-orders index, FIX sessions, concurrent writers and
// readers, close. The twin's fault injection is tested in store_memory_faults_test.cpp.
#include <algorithm>
#include <atomic>
#include <future>
#include <latch>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/core/order.h"
#include "gateway/core/resolution.h"
#include "store/store.h"
#include "tests/integration/temp_dir.h"
#include "tests/support/memory_store.h"

namespace brokergw::store {
namespace {

using ::brokergw::testing::MemoryStore;
using ::brokergw::testing::TempDir;
using core::OrderState;
using core::Step;
using Ids = std::vector<std::string>;

core::Order order(const std::string& id, const std::string& broker = "brk1",
                  OrderState state = OrderState::kPendingNew, const std::string& account = "acc1") {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = account;
  r.broker = broker;
  r.symbol = "AAPL";
  r.side = core::Side::kBuy;
  r.quantity = core::Qty{core::Decimal::from_units(100)};
  r.order_type = core::OrderType::kMarket;
  core::Order o = core::make_order(r, 1'700'000'000'000'000);
  o.state = state;
  return o;
}

StoredEvent event(const std::string& client_order_id, core::TimestampUs at_us) {
  StoredEvent e;
  e.type = "order.fill";
  e.broker = "brk1";
  e.account = "acc1";
  e.client_order_id = client_order_id;
  e.at_us = at_us;
  e.body = R"({"qty":"10"})";
  return e;
}

template <class T>
Status drop(const Result<T>& r) {
  if (!r) return tl::unexpected(r.error());
  return {};
}

enum class Backend { kLmdb, kMemory };
void PrintTo(Backend b, std::ostream* os) { *os << (b == Backend::kLmdb ? "Lmdb" : "Memory"); }

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kLmdb) {
      dir_ = std::make_unique<TempDir>();
      auto s = open_lmdb_store(LmdbOptions{dir_->path(), 64ull << 20, 512});
      ASSERT_TRUE(s) << s.error().detail;
      store_ = std::move(*s);
    } else {
      store_ = std::make_unique<MemoryStore>();
    }
  }
  void TearDown() override {
    store_.reset();  // closes before the directory goes
    dir_.reset();
  }

  Store& store() { return *store_; }

  Status write(Store::WriteFn fn) { return store_->write_and_wait(std::move(fn)); }

  // The answer of one ReadTxn query in its own read transaction.
  template <class T>
  Result<T> query(const std::function<Result<T>(ReadTxn&)>& fn) {
    Result<T> out = store_error(StoreErrc::kAborted, "not run");
    Status s = store_->read([&](ReadTxn& t) -> Status {
      out = fn(t);
      return {};
    });
    if (!s) return tl::unexpected(s.error());
    return out;
  }

  Result<VersionedOrder> get(const std::string& id) {
    return query<VersionedOrder>([&](ReadTxn& t) { return t.get_order(id); });
  }

  Result<std::uint64_t> update(const core::Order& o, std::uint64_t expected) {
    return store_->write_and_wait<std::uint64_t>(
        [o, expected](WriteTxn& t, std::optional<std::uint64_t>& out) -> Status {
          auto v = t.update_order(o, expected);
          if (!v) return tl::unexpected(v.error());
          out = *v;
          return {};
        });
  }

  Ids open_ids(const std::string& broker, const std::string& after = "") {
    Ids out;
    Status s = store_->read([&](ReadTxn& t) {
      return t.for_each_open_order(broker, after, [&](const VersionedOrder& o) {
        EXPECT_FALSE(core::is_terminal(o.order.state));
        if (!broker.empty()) EXPECT_EQ(o.order.request.broker, broker);
        out.push_back(o.order.request.client_order_id);
        return true;
      });
    });
    EXPECT_TRUE(s) << s.error().detail;
    return out;
  }

  std::size_t open_count(const std::string& broker) {
    auto n = query<std::size_t>([&](ReadTxn& t) { return t.count_open_orders(broker); });
    EXPECT_TRUE(n) << n.error().detail;
    return n.value_or(9999);
  }

  Ids due(core::TimestampUs now, std::size_t limit = 100) {
    auto r = query<std::vector<RetryEntry>>([&](ReadTxn& t) { return t.due_retries(now, limit); });
    EXPECT_TRUE(r) << r.error().detail;
    Ids out;
    for (const RetryEntry& e : r.value_or(std::vector<RetryEntry>{})) {
      out.push_back(e.client_order_id);
    }
    return out;
  }

  std::optional<core::TimestampUs> next_due() {
    return query<std::optional<core::TimestampUs>>([](ReadTxn& t) { return t.next_retry_due(); })
        .value();
  }

  std::optional<RetryEntry> retry(const std::string& id) {
    return query<std::optional<RetryEntry>>([&](ReadTxn& t) { return t.get_retry(id); }).value();
  }

  Status schedule(const RetryEntry& e) {
    return write([e](WriteTxn& t) { return t.schedule_retry(e); });
  }

  std::vector<std::uint64_t> seqs_after(std::uint64_t after) {
    auto r =
        query<std::vector<StoredEvent>>([&](ReadTxn& t) { return t.events_after(after, 1000); });
    EXPECT_TRUE(r) << r.error().detail;
    std::vector<std::uint64_t> out;
    for (const StoredEvent& e : r.value_or(std::vector<StoredEvent>{})) out.push_back(e.seq);
    return out;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Store> store_;
};

// ---- orders, broker ids, cancels, de-duplication ---------------------------------------------

TEST_P(StoreContract, OrdersInsertOnceAndCompareAndSet) {
  const core::Order a = order("A-1");
  ASSERT_TRUE(write([a](WriteTxn& t) { return t.insert_order(a); }));
  Status again = write([a](WriteTxn& t) { return t.insert_order(a); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, StoreErrc::kAlreadyExists);
  auto got = get("A-1");
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_EQ(got->version, 1u);
  EXPECT_EQ(got->order, a);

  core::Order b = a;
  b.state = OrderState::kNew;
  b.acknowledged = true;
  auto v2 = update(b, 1);
  ASSERT_TRUE(v2) << v2.error().detail;
  EXPECT_EQ(*v2, 2u);
  auto stale = update(a, 1);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, StoreErrc::kVersionConflict);
  EXPECT_TRUE(stale.error().retriable());
  EXPECT_EQ(get("A-1")->order, b);
  EXPECT_EQ(get("A-1")->version, 2u);
  EXPECT_EQ(update(order("nope"), 1).error().code, StoreErrc::kNotFound);
  EXPECT_EQ(get("nope").error().code, StoreErrc::kNotFound);

  // Listing: id order, strictly after, filter, limit.
  for (const char* id : {"C-1", "B-1", "B-2"}) {
    ASSERT_TRUE(write([o = order(id, "brk2")](WriteTxn& t) { return t.insert_order(o); }));
  }
  auto list = [&](const OrderFilter& f, const std::string& after, std::size_t limit) {
    auto r = query<std::vector<VersionedOrder>>(
        [&](ReadTxn& t) { return t.list_orders(f, after, limit); });
    Ids out;
    for (const auto& o : r.value()) out.push_back(o.order.request.client_order_id);
    return out;
  };
  EXPECT_EQ(list({}, "", 10), (Ids{"A-1", "B-1", "B-2", "C-1"}));
  EXPECT_EQ(list({}, "B-1", 10), (Ids{"B-2", "C-1"}));
  EXPECT_EQ(list({}, "", 2), (Ids{"A-1", "B-1"}));
  EXPECT_TRUE(list({}, "", 0).empty());
  OrderFilter brk2;
  brk2.broker = "brk2";
  EXPECT_EQ(list(brk2, "", 10), (Ids{"B-1", "B-2", "C-1"}));
  OrderFilter live;
  live.state = OrderState::kNew;
  EXPECT_EQ(list(live, "", 10), (Ids{"A-1"}));
  std::size_t seen = 0;
  ASSERT_TRUE(store().read([&](ReadTxn& t) {
    return t.for_each_order([&](const VersionedOrder&) { return ++seen < 3; });
  }));
  EXPECT_EQ(seen, 3u);
}

TEST_P(StoreContract, ExecRecordsAreKeptPerOrderWithTheirContent) {
  ExecRecord fill;
  fill.seen_us = 100;
  fill.content = core::ExecContent{"F", core::Decimal::parse("5"), core::Decimal::parse("10"),
                                   core::Decimal::parse("5")};
  fill.booked_qty = core::Qty{*core::Decimal::parse("5")};
  fill.booked_px = core::Price{*core::Decimal::parse("10")};
  ASSERT_TRUE(write([&](WriteTxn& t) { return t.put_exec("brk1", "A-1", "1", fill); }));
  auto find = [&](const char* order_id, const char* exec_id) {
    return query<std::optional<ExecRecord>>(
               [&](ReadTxn& t) { return t.find_exec("brk1", order_id, exec_id); })
        .value();
  };
  ASSERT_TRUE(find("A-1", "1").has_value());
  EXPECT_EQ(*find("A-1", "1"), fill);
  // The same ExecID for another order (a broker that restarted its ExecIDs) is another key.
  EXPECT_FALSE(find("A-2", "1").has_value());
  EXPECT_FALSE(find("A-1", "2").has_value());
  // A replacement (a bust of the fill) keeps the first-seen time, and one index entry.
  ExecRecord busted = fill;
  busted.busted = true;
  busted.seen_us = 900;
  ASSERT_TRUE(write([&](WriteTxn& t) { return t.put_exec("brk1", "A-1", "1", busted); }));
  ASSERT_TRUE(find("A-1", "1").has_value());
  EXPECT_TRUE(find("A-1", "1")->busted);
  EXPECT_EQ(find("A-1", "1")->seen_us, 100);
  auto stats = store().write_and_wait<CompactionStats>(
      [](WriteTxn& t, std::optional<CompactionStats>& out) -> Status {
        auto r = t.compact(0, 500, 10);
        if (!r) return tl::unexpected(r.error());
        out = *r;
        return {};
      });
  ASSERT_TRUE(stats) << stats.error().detail;
  EXPECT_EQ(stats->dedup_keys_deleted, 1u);
  EXPECT_FALSE(find("A-1", "1").has_value());
}

TEST_P(StoreContract, BrokerIdsCancelsAndExecDedup) {
  ASSERT_TRUE(write([](WriteTxn& t) { return t.put_broker_order_id("brk1", "X-1", "A-1"); }));
  ASSERT_TRUE(write([](WriteTxn& t) { return t.put_broker_order_id("brk1", "X-1", "A-2"); }));
  auto found =
      query<std::string>([](ReadTxn& t) { return t.find_by_broker_order_id("brk1", "X-1"); });
  EXPECT_EQ(found.value(), "A-2");  // an upsert: the latest client order id wins
  auto other =
      query<std::string>([](ReadTxn& t) { return t.find_by_broker_order_id("brk2", "X-1"); });
  EXPECT_EQ(other.error().code, StoreErrc::kNotFound);
  Status bad = write([](WriteTxn& t) { return t.put_broker_order_id("", "X-1", "A-1"); });
  EXPECT_EQ(bad.error().code, StoreErrc::kAborted);

  const CancelRecord c{"CX-1", "A-1", 5};
  ASSERT_TRUE(write([c](WriteTxn& t) { return t.insert_cancel(c); }));
  EXPECT_EQ(write([c](WriteTxn& t) { return t.insert_cancel(c); }).error().code,
            StoreErrc::kAlreadyExists);
  auto got = query<CancelRecord>([](ReadTxn& t) { return t.get_cancel("CX-1"); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->client_order_id, "A-1");
  EXPECT_EQ(got->created_us, 5);
  EXPECT_EQ(query<CancelRecord>([](ReadTxn& t) { return t.get_cancel("CX-2"); }).error().code,
            StoreErrc::kNotFound);

  ASSERT_TRUE(write([](WriteTxn& t) { return t.mark_exec_seen("brk1", "E-1", 10); }));
  ASSERT_TRUE(write([](WriteTxn& t) { return t.mark_exec_seen("brk1", "E-2", 20); }));
  EXPECT_EQ(write([](WriteTxn& t) { return t.mark_exec_seen("brk1", "E-1", 30); }).error().code,
            StoreErrc::kAlreadyExists);
  auto seen = [&](const char* broker, const char* id) {
    return query<bool>([&](ReadTxn& t) { return t.exec_seen(broker, id); }).value();
  };
  EXPECT_TRUE(seen("brk1", "E-1"));
  EXPECT_FALSE(seen("brk2", "E-1"));
  // Compaction forgets keys first seen before the cutoff, oldest first.
  auto stats = store().write_and_wait<CompactionStats>(
      [](WriteTxn& t, std::optional<CompactionStats>& out) -> Status {
        auto r = t.compact(0, 15, 10);
        if (!r) return tl::unexpected(r.error());
        out = *r;
        return {};
      });
  ASSERT_TRUE(stats) << stats.error().detail;
  EXPECT_EQ(stats->dedup_keys_deleted, 1u);
  EXPECT_FALSE(stats->more);
  EXPECT_FALSE(seen("brk1", "E-1"));
  EXPECT_TRUE(seen("brk1", "E-2"));
}

// ---- events and the published cursor ---------------------------------------------------------

TEST_P(StoreContract, EventsAreGapFreeAndThePublishedCursorOnlyMovesForward) {
  EXPECT_EQ(query<std::uint64_t>([](ReadTxn& t) { return t.last_event_seq(); }).value(), 0u);
  EXPECT_EQ(query<std::uint64_t>([](ReadTxn& t) { return t.first_event_seq(); }).value(), 0u);
  for (int i = 1; i <= 3; ++i) {
    StoredEvent e = event("A", i);
    e.seq = 99;  // ignored
    auto seq = store().write_and_wait<std::uint64_t>(
        [e](WriteTxn& t, std::optional<std::uint64_t>& out) -> Status {
          auto s = t.append_event(e);
          if (!s) return tl::unexpected(s.error());
          out = *s;
          return {};
        });
    ASSERT_TRUE(seq) << seq.error().detail;
    EXPECT_EQ(*seq, static_cast<std::uint64_t>(i));
  }
  // A function that appended and then failed hands its seq out again.
  Status failed = write([](WriteTxn& t) -> Status {
    if (auto s = t.append_event(event("B", 4)); !s) return tl::unexpected(s.error());
    return store_error(StoreErrc::kAborted, "no");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, StoreErrc::kAborted);
  ASSERT_TRUE(write([](WriteTxn& t) { return drop(t.append_event(event("C", 5))); }));
  EXPECT_EQ(seqs_after(0), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs_after(2), (std::vector<std::uint64_t>{3, 4}));
  auto fourth = query<std::vector<StoredEvent>>([](ReadTxn& t) { return t.events_after(3, 1); });
  ASSERT_EQ(fourth.value().size(), 1u);
  EXPECT_EQ(fourth->front().client_order_id, "C");
  EXPECT_EQ(fourth->front().body, R"({"qty":"10"})");

  auto published = [&] {
    return query<std::uint64_t>([](ReadTxn& t) { return t.published_seq(); }).value();
  };
  EXPECT_EQ(published(), 0u);
  ASSERT_TRUE(write([](WriteTxn& t) { return t.set_published_seq(3); }));
  ASSERT_TRUE(write([](WriteTxn& t) { return t.set_published_seq(2); }));  // late: ignored
  EXPECT_EQ(published(), 3u);
  EXPECT_EQ(write([](WriteTxn& t) { return t.set_published_seq(5); }).error().code,
            StoreErrc::kAborted);
  EXPECT_EQ(published(), 3u);

  // Compaction deletes published old events only, from the oldest end.
  auto stats = store().write_and_wait<CompactionStats>(
      [](WriteTxn& t, std::optional<CompactionStats>& out) -> Status {
        auto r = t.compact(100, 0, 10);
        if (!r) return tl::unexpected(r.error());
        out = *r;
        return {};
      });
  ASSERT_TRUE(stats) << stats.error().detail;
  EXPECT_EQ(stats->events_deleted, 3u);
  EXPECT_EQ(seqs_after(0), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(query<std::uint64_t>([](ReadTxn& t) { return t.first_event_seq(); }).value(), 4u);
  EXPECT_EQ(query<std::uint64_t>([](ReadTxn& t) { return t.last_event_seq(); }).value(), 4u);
}

// Functions of one group: a failing one (or one that throws) rolls back only its own writes.
TEST_P(StoreContract, AFailedWriteRollsBackOnlyItsOwnWrites) {
  std::vector<std::future<Status>> results;
  auto submit = [&](Store::WriteFn fn) {
    auto p = std::make_shared<std::promise<Status>>();
    results.push_back(p->get_future());
    store().submit(std::move(fn), [p](Status s) { p->set_value(std::move(s)); });
  };
  submit([](WriteTxn& t) { return t.insert_order(order("G-1")); });
  submit([](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(order("G-2")); !s) return s;
    if (auto s = t.append_event(event("G-2", 1)); !s) return tl::unexpected(s.error());
    if (auto s = t.schedule_retry(RetryEntry{"G-2", 5, 0, Step::kDeadline}); !s) return s;
    return store_error(StoreErrc::kAborted, "changed my mind");
  });
  submit([](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(order("G-3")); !s) return s;
    throw std::runtime_error("boom");
  });
  submit([](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(order("G-4")); !s) return s;
    return drop(t.append_event(event("G-4", 1)));
  });
  std::vector<Status> got;
  for (auto& f : results) got.push_back(f.get());
  EXPECT_TRUE(got[0]);
  EXPECT_EQ(got[1].error().code, StoreErrc::kAborted);
  EXPECT_EQ(got[1].error().detail, "changed my mind");
  EXPECT_EQ(got[2].error().code, StoreErrc::kAborted);
  EXPECT_TRUE(got[3]);
  EXPECT_TRUE(get("G-1"));
  EXPECT_EQ(get("G-2").error().code, StoreErrc::kNotFound);
  EXPECT_EQ(get("G-3").error().code, StoreErrc::kNotFound);
  EXPECT_TRUE(get("G-4"));
  EXPECT_EQ(seqs_after(0), (std::vector<std::uint64_t>{1}));
  EXPECT_FALSE(retry("G-2"));
  EXPECT_EQ(open_ids(""), (Ids{"G-1", "G-4"}));
  EXPECT_EQ(open_count("brk1"), 2u);
}

// ---- the schedule ----------------------------------------------------------------------------

TEST_P(StoreContract, ScheduleHoldsEveryStepAndNeverDueNeverFallsDue) {
  EXPECT_EQ(next_due(), std::nullopt);
  const RetryEntry attention =
      RetryEntry::of("R-A", core::Wait{Step::kAttention, core::kNeverDue, 5});
  ASSERT_TRUE(schedule(attention));
  // Only never-due entries: nothing will fall due.
  EXPECT_EQ(next_due(), std::nullopt);
  EXPECT_TRUE(due(std::numeric_limits<core::TimestampUs>::max()).empty());
  EXPECT_EQ(retry("R-A"), attention);

  const RetryEntry deadline{"R-D", 300, 0, Step::kDeadline, 250};
  const RetryEntry query_entry{"R-Q", 100, 1, Step::kQuery};
  const RetryEntry resend{"R-R", 100, 2, Step::kResend};
  for (const RetryEntry& e : {deadline, query_entry, resend}) ASSERT_TRUE(schedule(e));
  EXPECT_EQ(next_due(), 100);
  EXPECT_TRUE(due(99).empty());
  EXPECT_EQ(due(100), (Ids{"R-Q", "R-R"}));  // ties in id order
  EXPECT_EQ(due(std::numeric_limits<core::TimestampUs>::max()), (Ids{"R-Q", "R-R", "R-D"}));
  EXPECT_EQ(due(1000, 1), (Ids{"R-Q"}));
  for (const RetryEntry& e : {attention, deadline, query_entry, resend}) {
    auto got = retry(e.client_order_id);
    ASSERT_TRUE(got) << e.client_order_id;
    EXPECT_EQ(*got, e);
    EXPECT_EQ(got->wait(), e.wait());
  }

  // Replacing moves an entry between due and never due, index included.
  ASSERT_TRUE(schedule(RetryEntry{"R-A", 50, 5, Step::kQuery}));
  EXPECT_EQ(next_due(), 50);
  EXPECT_EQ(due(1000), (Ids{"R-A", "R-Q", "R-R", "R-D"}));
  ASSERT_TRUE(schedule(RetryEntry::of("R-Q", core::Wait{Step::kAttention, core::kNeverDue, 3})));
  ASSERT_TRUE(schedule(RetryEntry::of("R-R", core::Wait{Step::kAttention, core::kNeverDue, 3})));
  EXPECT_EQ(due(std::numeric_limits<core::TimestampUs>::max()), (Ids{"R-A", "R-D"}));
  ASSERT_TRUE(write([](WriteTxn& t) -> Status {
    if (auto s = t.cancel_retry("R-A"); !s) return s;
    if (auto s = t.cancel_retry("R-D"); !s) return s;
    return t.cancel_retry("never-scheduled");
  }));
  EXPECT_EQ(next_due(), std::nullopt);
  EXPECT_TRUE(due(std::numeric_limits<core::TimestampUs>::max()).empty());
  EXPECT_EQ(retry("R-Q")->step, Step::kAttention);
  EXPECT_FALSE(retry("R-A"));

  EXPECT_EQ(schedule(RetryEntry{"", 1, 0, Step::kQuery}).error().code, StoreErrc::kAborted);
  EXPECT_EQ(schedule(RetryEntry{std::string(504, 'x'), 1, 0, Step::kQuery}).error().code,
            StoreErrc::kAborted);
}

// ---- the open-orders index -------------------------------------------------------------------

TEST_P(StoreContract, OpenOrdersIndexFollowsInsertsAndUpdates) {
  EXPECT_TRUE(open_ids("").empty());
  EXPECT_EQ(open_count(""), 0u);
  for (const auto& [id, broker] : std::vector<std::pair<std::string, std::string>>{
           {"O-3", "brk1"}, {"O-1", "brk1"}, {"O-2", "brk2"}, {"O-4", "brk1"}, {"O-0", "brk2"}}) {
    ASSERT_TRUE(write([o = order(id, broker)](WriteTxn& t) { return t.insert_order(o); }));
  }
  // A terminal order never enters the index.
  ASSERT_TRUE(write(
      [](WriteTxn& t) { return t.insert_order(order("T-1", "brk1", OrderState::kRejected)); }));

  EXPECT_EQ(open_ids("brk1"), (Ids{"O-1", "O-3", "O-4"}));
  EXPECT_EQ(open_ids("brk2"), (Ids{"O-0", "O-2"}));
  EXPECT_TRUE(open_ids("brk3").empty());
  EXPECT_TRUE(open_ids(std::string("brk1\0x", 6)).empty());
  EXPECT_EQ(open_ids(""), (Ids{"O-1", "O-3", "O-4", "O-0", "O-2"}));  // broker, then id
  EXPECT_EQ(open_ids("brk1", "O-1"), (Ids{"O-3", "O-4"}));            // strictly after
  EXPECT_EQ(open_ids("brk1", "O-2"), (Ids{"O-3", "O-4"}));
  EXPECT_TRUE(open_ids("brk1", "O-4").empty());
  EXPECT_EQ(open_ids("", "O-1"), (Ids{"O-3", "O-4", "O-2"}));  // `after` within each broker
  EXPECT_EQ(open_ids("brk1", std::string(600, 'A')), (Ids{"O-1", "O-3", "O-4"}));
  EXPECT_EQ(open_count("brk1"), 3u);
  EXPECT_EQ(open_count("brk2"), 2u);
  EXPECT_EQ(open_count("brk3"), 0u);
  EXPECT_EQ(open_count(""), 5u);

  // Stops when fn says so.
  Ids first;
  ASSERT_TRUE(store().read([&](ReadTxn& t) {
    return t.for_each_open_order("", "", [&](const VersionedOrder& o) {
      first.push_back(o.order.request.client_order_id);
      return first.size() < 2;
    });
  }));
  EXPECT_EQ(first, (Ids{"O-1", "O-3"}));

  // Non-terminal to non-terminal: still there; to terminal: gone.
  core::Order o3 = get("O-3")->order;
  o3.state = OrderState::kPartiallyFilled;
  ASSERT_TRUE(update(o3, 1));
  EXPECT_EQ(open_ids("brk1"), (Ids{"O-1", "O-3", "O-4"}));
  EXPECT_EQ(open_count("brk1"), 3u);
  o3.state = OrderState::kFilled;
  ASSERT_TRUE(update(o3, 2));
  EXPECT_EQ(open_ids("brk1"), (Ids{"O-1", "O-4"}));
  EXPECT_EQ(open_count("brk1"), 2u);
  EXPECT_EQ(open_count(""), 4u);
  // A terminal update of a terminal order changes nothing; a lost CAS changes nothing either.
  ASSERT_TRUE(update(o3, 3));
  core::Order o1 = get("O-1")->order;
  o1.state = OrderState::kCanceled;
  EXPECT_EQ(update(o1, 7).error().code, StoreErrc::kVersionConflict);
  EXPECT_EQ(open_count("brk1"), 2u);

  // The index and the order write are one: a function that fails after it leaves no trace.
  Status failed = write([o1](WriteTxn& t) -> Status {
    if (auto v = t.update_order(o1, 1); !v) return tl::unexpected(v.error());
    if (auto s = t.insert_order(order("O-5", "brk2")); !s) return s;
    return store_error(StoreErrc::kAborted, "no");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(open_ids(""), (Ids{"O-1", "O-4", "O-0", "O-2"}));
  EXPECT_EQ(open_count("brk2"), 2u);

  // An open order needs a broker that can key the index.
  EXPECT_EQ(write([](WriteTxn& t) { return t.insert_order(order("O-6", "")); }).error().code,
            StoreErrc::kAborted);
  EXPECT_EQ(write([](WriteTxn& t) { return t.insert_order(order("O-7", std::string("b\0k", 3))); })
                .error()
                .code,
            StoreErrc::kAborted);
  EXPECT_EQ(get("O-6").error().code, StoreErrc::kNotFound);

  // fn may end the orders it is handed, through the same write transaction.
  Ids ended;
  ASSERT_TRUE(write([&ended](WriteTxn& t) -> Status {
    Status inner;
    Status walk = t.for_each_open_order("", "", [&](const VersionedOrder& o) {
      core::Order done = o.order;
      done.state = OrderState::kExpired;
      auto v = t.update_order(done, o.version);
      if (!v) inner = tl::unexpected(v.error());
      ended.push_back(done.request.client_order_id);
      return static_cast<bool>(v);
    });
    if (!walk) return walk;
    return inner;
  }));
  EXPECT_EQ(ended, (Ids{"O-1", "O-4", "O-0", "O-2"}));
  EXPECT_TRUE(open_ids("").empty());
  EXPECT_EQ(open_count(""), 0u);
  EXPECT_EQ(open_count("brk1"), 0u);
  EXPECT_EQ(open_count("brk2"), 0u);
}

// ---- FIX sessions ----------------------------------------------------------------------------

TEST_P(StoreContract, SessionsKeepNumbersAndMessages) {
  const std::string sid = "FIX.4.4:GW->BRK";
  EXPECT_EQ(query<SessionState>([&](ReadTxn& t) { return t.get_session(sid); }).error().code,
            StoreErrc::kNotFound);
  ASSERT_TRUE(write([&](WriteTxn& t) { return t.put_session(sid, SessionState{5, 7, 11}); }));
  auto st = query<SessionState>([&](ReadTxn& t) { return t.get_session(sid); });
  ASSERT_TRUE(st);
  EXPECT_EQ(st->next_sender, 5);
  EXPECT_EQ(st->next_target, 7);
  EXPECT_EQ(st->creation_us, 11);
  EXPECT_EQ(write([&](WriteTxn& t) {
              return t.put_session(sid, SessionState{0, 1, 0});
            })
                .error()
                .code,
            StoreErrc::kAborted);
  ASSERT_TRUE(write([&](WriteTxn& t) -> Status {
    for (int seq : {1, 2, 3, 5}) {
      if (auto s = t.put_session_message(sid, seq, "m" + std::to_string(seq)); !s) return s;
    }
    return t.put_session_message(sid + "X", 4, "other");
  }));
  auto messages = [&](int begin, int end) {
    return query<std::vector<std::string>>(
               [&](ReadTxn& t) { return t.get_session_messages(sid, begin, end); })
        .value();
  };
  EXPECT_EQ(messages(2, 10), (Ids{"m2", "m3", "m5"}));
  auto trimmed = store().write_and_wait<std::size_t>(
      [&](WriteTxn& t, std::optional<std::size_t>& out) -> Status {
        auto n = t.trim_session_messages(sid, 3, 10);
        if (!n) return tl::unexpected(n.error());
        out = *n;
        return {};
      });
  EXPECT_EQ(trimmed.value(), 2u);
  EXPECT_EQ(messages(0, 10), (Ids{"m3", "m5"}));
  ASSERT_TRUE(write([&](WriteTxn& t) { return t.reset_session(sid, 99); }));
  EXPECT_TRUE(messages(0, 100).empty());
  EXPECT_EQ(query<SessionState>([&](ReadTxn& t) { return t.get_session(sid); })->creation_us, 99);
  EXPECT_EQ(query<std::vector<std::string>>([&](ReadTxn& t) {
              return t.get_session_messages(sid + "X", 1, 10);
            }).value(),
            (Ids{"other"}));
}

// ---- concurrency and close -------------------------------------------------------------------

// Writers on many threads (each submits its orders, events and index changes), readers polling
// at the same time: seqs stay gap-free, the index agrees with the orders, groups batch.
TEST_P(StoreContract, ConcurrentWritersAndReadersAgree) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::latch start(kThreads + 1);
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    start.arrive_and_wait();
    while (!stop.load()) {
      Status s = store().read([&](ReadTxn& t) -> Status {
        auto last = t.last_event_seq();
        auto events = t.events_after(0, 100000);
        auto open = t.count_open_orders("");
        if (!last || !events || !open) return store_error(StoreErrc::kIo, "read failed");
        // A snapshot shows whole groups: every event appended with its order, gap-free.
        if (events->size() != *last) bad_reads.fetch_add(1);
        std::size_t visited = 0;
        Status each = t.for_each_open_order("", "", [&](const VersionedOrder&) {
          ++visited;
          return true;
        });
        if (!each || visited != *open) bad_reads.fetch_add(1);
        return {};
      });
      if (!s) bad_reads.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "W" + std::to_string(w) + "-" + std::to_string(i);
        const std::string broker = "brk" + std::to_string(w % 3);
        Status s = store().write_and_wait([id, broker, i](WriteTxn& t) -> Status {
          core::Order o = order(id, broker);
          if (auto s = t.insert_order(o); !s) return s;
          if (auto s = t.append_event(event(id, i)); !s) return tl::unexpected(s.error());
          if (i % 2 == 0) return {};
          o.state = OrderState::kFilled;
          return drop(t.update_order(o, 1));
        });
        ASSERT_TRUE(s) << id << ": " << s.error().detail;
      }
    });
  }
  for (auto& t : writers) t.join();
  stop.store(true);
  reader.join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(seqs_after(0).size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(open_count(""), static_cast<std::size_t>(kThreads * kPerThread / 2));
  std::size_t per_broker = 0;
  for (int b = 0; b < 3; ++b) per_broker += open_count("brk" + std::to_string(b));
  EXPECT_EQ(per_broker, open_count(""));
  const StoreStats s = store().stats();
  EXPECT_EQ(s.writes, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(s.commits, s.writes);
  EXPECT_EQ(s.failed_commits, 0u);
}

TEST_P(StoreContract, CloseDrainsThenRefuses) {
  std::vector<std::future<Status>> queued;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<Status>>();
    queued.push_back(p->get_future());
    store().submit([i](WriteTxn& t) { return t.insert_order(order("Q-" + std::to_string(i))); },
                   [p](Status s) { p->set_value(std::move(s)); });
  }
  store().close();
  for (auto& f : queued) EXPECT_TRUE(f.get());
  store().close();  // idempotent
  Status late = write([](WriteTxn& t) { return t.insert_order(order("late")); });
  EXPECT_EQ(late.error().code, StoreErrc::kShuttingDown);
  EXPECT_EQ(store().read([](ReadTxn&) -> Status { return {}; }).error().code,
            StoreErrc::kShuttingDown);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract,
                         ::testing::Values(Backend::kLmdb, Backend::kMemory),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kLmdb ? std::string("Lmdb")
                                                               : std::string("Memory");
                         });

}  // namespace
}  // namespace brokergw::store
