// MemoryStore's fault injection (tests/support/memory_store.h): a failed group commit applies
// nothing and fails every function that had succeeded, fail_next_writes fails functions unrun,
// fail_writes_matching fails matching operations and poisons their function, set_map_full
// refuses what stores a record and leaves reads and deletions working, and all of it may be
// changed from any thread while writers run. The contract the twin shares with the LMDB store
// is in store_contract_test.cpp.
#include <atomic>
#include <functional>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/core/order.h"
#include "gateway/core/resolution.h"
#include "store/store.h"
#include "tests/support/memory_store.h"

namespace brokergw::store {
namespace {

using ::brokergw::testing::MemoryStore;
using core::OrderState;
using core::Step;

core::Order order(const std::string& id) {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = "acc1";
  r.broker = "brk1";
  r.symbol = "AAPL";
  r.quantity = core::Qty{core::Decimal::from_units(100)};
  return core::make_order(r, 1'700'000'000'000'000);
}

StoredEvent event(const std::string& client_order_id, core::TimestampUs at_us) {
  StoredEvent e;
  e.type = "order.fill";
  e.broker = "brk1";
  e.client_order_id = client_order_id;
  e.at_us = at_us;
  return e;
}

template <class T>
Status drop(const Result<T>& r) {
  if (!r) return tl::unexpected(r.error());
  return {};
}

// Runs fn with the committer held inside a first write function, so everything fn submits is
// queued together and becomes one group (max_batch allowing).
void as_one_group(MemoryStore& store, const std::function<void()>& fn) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  store.submit(
      [&entered, released](WriteTxn&) -> Status {
        entered.set_value();
        released.wait();
        return {};
      },
      nullptr);
  entered.get_future().wait();
  fn();
  release.set_value();
  store.flush();
}

TEST(MemoryStoreFaults, FailCommitDropsTheWholeGroup) {
  MemoryStore store;
  std::vector<Status> results(3);
  store.fail_commit(2, StoreErrc::kIo);  // 1: the holding function's group; 2: the three below
  as_one_group(store, [&] {
    store.submit([](WriteTxn& t) { return t.insert_order(order("F-1")); },
                 [&](Status s) { results[0] = std::move(s); });
    store.submit(
        [](WriteTxn& t) -> Status {
          if (auto s = t.append_event(event("F-2", 1)); !s) return tl::unexpected(s.error());
          return t.schedule_retry(RetryEntry{"F-2", 5, 0, Step::kDeadline});
        },
        [&](Status s) { results[1] = std::move(s); });
    store.submit([](WriteTxn&) { return store_error(StoreErrc::kAborted, "own error"); },
                 [&](Status s) { results[2] = std::move(s); });
  });
  EXPECT_EQ(results[0].error().code, StoreErrc::kIo);
  EXPECT_EQ(results[1].error().code, StoreErrc::kIo);
  EXPECT_EQ(results[2].error().detail, "own error");  // failed by itself: keeps its error
  Status nothing = store.read([](ReadTxn& t) -> Status {
    EXPECT_EQ(t.get_order("F-1").error().code, StoreErrc::kNotFound);
    EXPECT_EQ(t.last_event_seq().value(), 0u);
    EXPECT_FALSE(t.get_retry("F-2").value());
    EXPECT_EQ(t.count_open_orders("").value(), 0u);
    return {};
  });
  EXPECT_TRUE(nothing);
  EXPECT_EQ(store.faults().injected_commit_failures, 1u);
  EXPECT_EQ(store.stats().failed_commits, 1u);
  EXPECT_EQ(store.stats().commits, 1u);  // the holding function's group
  // The next commit is fine, and the sequence continues where the dropped group started.
  auto seq = store.write_and_wait<std::uint64_t>(
      [](WriteTxn& t, std::optional<std::uint64_t>& out) -> Status {
        auto s = t.append_event(event("F-3", 1));
        if (!s) return tl::unexpected(s.error());
        out = *s;
        return {};
      });
  EXPECT_EQ(seq.value(), 1u);
  EXPECT_EQ(store.faults().commits, 2u);
}

TEST(MemoryStoreFaults, FailNextWritesFailsFunctionsUnrun) {
  MemoryStore store;
  store.fail_next_writes(2, StoreErrc::kMapFull);
  std::atomic<int> ran{0};
  auto insert = [&](const std::string& id) {
    return store.write_and_wait([&ran, id](WriteTxn& t) {
      ++ran;
      return t.insert_order(order(id));
    });
  };
  EXPECT_EQ(insert("N-1").error().code, StoreErrc::kMapFull);
  EXPECT_EQ(insert("N-2").error().code, StoreErrc::kMapFull);
  EXPECT_TRUE(insert("N-3"));
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(store.faults().injected_write_failures, 2u);
  EXPECT_EQ(store.stats().writes, 1u);
}

TEST(MemoryStoreFaults, FailWritesMatchingPoisonsTheFunction) {
  MemoryStore store;
  std::vector<std::string> asked;
  store.fail_writes_matching(
      [&asked](const ::brokergw::testing::WriteOp& op) {
        asked.push_back(std::string(op.name));
        return op.name == "append_event";
      },
      StoreErrc::kIo, 1);
  // The function ignores the append's error; it fails anyway and its order is rolled back.
  Status s = store.write_and_wait([](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(order("M-1")); !s) return s;
    (void)t.append_event(event("M-1", 1));
    return {};
  });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StoreErrc::kIo);
  EXPECT_TRUE(s.error().retriable());
  EXPECT_EQ(asked, (std::vector<std::string>{"insert_order", "append_event"}));
  EXPECT_EQ(store.faults().injected_op_failures, 1u);
  // count 1: the retry succeeds.
  ASSERT_TRUE(store.write_and_wait([](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(order("M-1")); !s) return s;
    return drop(t.append_event(event("M-1", 1)));
  }));
  store.fail_writes_matching(
      [](const ::brokergw::testing::WriteOp& op) {
        return op.name == "update_order" && op.key == "M-1";
      },
      StoreErrc::kCorrupt);
  core::Order filled = order("M-1");
  filled.state = OrderState::kFilled;
  EXPECT_EQ(store.write_and_wait([filled](WriteTxn& t) { return drop(t.update_order(filled, 1)); })
                .error()
                .code,
            StoreErrc::kCorrupt);
  store.clear_faults();
  EXPECT_TRUE(
      store.write_and_wait([filled](WriteTxn& t) { return drop(t.update_order(filled, 1)); }));
}

TEST(MemoryStoreFaults, MapFullRefusesStoringButReadsAndDeletesWork) {
  MemoryStore store;
  ASSERT_TRUE(store.write_and_wait([](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(order("P-1")); !s) return s;
    if (auto s = t.append_event(event("P-1", 1)); !s) return tl::unexpected(s.error());
    return t.schedule_retry(RetryEntry{"P-1", 5, 0, Step::kDeadline});
  }));
  store.set_map_full(true);
  EXPECT_EQ(
      store.write_and_wait([](WriteTxn& t) { return t.insert_order(order("P-2")); }).error().code,
      StoreErrc::kMapFull);
  // A duplicate is still a duplicate.
  EXPECT_EQ(
      store.write_and_wait([](WriteTxn& t) { return t.insert_order(order("P-1")); }).error().code,
      StoreErrc::kAlreadyExists);
  EXPECT_EQ(store.write_and_wait([](WriteTxn& t) { return drop(t.append_event(event("P", 2))); })
                .error()
                .code,
            StoreErrc::kMapFull);
  EXPECT_TRUE(store.write_and_wait([](WriteTxn& t) { return t.set_published_seq(1); }));
  EXPECT_TRUE(store.write_and_wait([](WriteTxn& t) { return t.cancel_retry("P-1"); }));
  EXPECT_TRUE(store.read([](ReadTxn& t) -> Status {
    EXPECT_TRUE(t.get_order("P-1"));
    EXPECT_FALSE(t.get_retry("P-1").value());
    EXPECT_EQ(t.published_seq().value(), 1u);
    return {};
  }));
  EXPECT_EQ(store.faults().map_full_failures, 2u);
  store.set_map_full(false);
  EXPECT_TRUE(store.write_and_wait([](WriteTxn& t) { return t.insert_order(order("P-2")); }));
}

TEST(MemoryStoreFaults, FaultsAreThreadSafe) {
  MemoryStore store;
  constexpr int kThreads = 6;
  constexpr int kPerThread = 50;
  std::latch start(kThreads + 1);
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "Z" + std::to_string(w) + "-" + std::to_string(i);
        Status s = store.write_and_wait([id](WriteTxn& t) -> Status {
          if (auto s = t.insert_order(order(id)); !s) return s;
          return drop(t.append_event(event(id, 1)));
        });
        (s ? ok : failed).fetch_add(1);
      }
    });
  }
  start.arrive_and_wait();
  for (int i = 0; i < 20; ++i) {
    store.fail_next_writes(1, StoreErrc::kIo);
    store.fail_commit(1, StoreErrc::kIo);
    store.set_map_full(i % 2 == 0);
    (void)store.faults();
    std::this_thread::yield();
  }
  store.clear_faults();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load() + failed.load(), kThreads * kPerThread);
  // Whatever failed left nothing behind: the events are exactly the stored orders, gap-free.
  ASSERT_TRUE(store.read([&](ReadTxn& t) -> Status {
    EXPECT_EQ(t.last_event_seq().value(), static_cast<std::uint64_t>(ok.load()));
    EXPECT_EQ(t.count_open_orders("").value(), static_cast<std::size_t>(ok.load()));
    return {};
  }));
}

}  // namespace
}  // namespace brokergw::store
