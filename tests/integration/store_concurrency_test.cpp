// Concurrency of the LMDB store: many threads racing one idempotent insert (group commit must
// batch them), exec de-duplication, event appends that must get gap-free seqs while readers
// poll, and compare-and-set counters that must not lose updates, with the read inside the
// write and outside it. Run under TSan as well (label "concurrency").
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/core/order.h"
#include "store/store.h"
#include "tests/integration/temp_dir.h"

namespace brokergw::store {
namespace {

using TempDir = ::brokergw::testing::TempDir;

core::Order test_order(const std::string& id) {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = "acc1";
  r.broker = "brk1";
  r.symbol = "AAPL";
  r.quantity = core::Qty{core::Decimal::from_units(10)};
  return core::make_order(r, 1'700'000'000'000'000);
}

std::unique_ptr<Store> open_store(const std::string& dir, std::size_t max_batch = 512) {
  auto s = open_lmdb_store(LmdbOptions{dir, 64ull << 20, max_batch});
  if (!s) {
    ADD_FAILURE() << "open " << dir << ": " << s.error().detail;
    return nullptr;
  }
  return std::move(*s);
}

// ---- 2. one hundred threads, one insert ---------------------------------------------------

struct InsertAnswer {
  bool inserted = false;
  VersionedOrder stored;
};

TEST(StoreConcurrency, HundredThreadsSameInsertStoreOneOrderInFewCommits) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  constexpr int kThreads = 100;
  const core::Order order = test_order("same-id");

  std::latch start(kThreads);
  std::vector<Result<InsertAnswer>> answers(kThreads, store_error(StoreErrc::kAborted));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      answers[i] = store->write_and_wait<InsertAnswer>(
          [&order](WriteTxn& t, std::optional<InsertAnswer>& out) -> Status {
            InsertAnswer a;
            auto existing = t.get_order(order.request.client_order_id);
            if (!existing) {
              if (existing.error().code != StoreErrc::kNotFound) {
                return tl::unexpected(existing.error());
              }
              if (auto s = t.insert_order(order); !s) return s;
              existing = t.get_order(order.request.client_order_id);
              if (!existing) return tl::unexpected(existing.error());
              a.inserted = true;
            }
            a.stored = std::move(*existing);
            out = std::move(a);
            return {};
          });
    });
  }
  for (auto& t : threads) t.join();

  int inserted = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(answers[i]) << i << ": " << answers[i].error().detail;
    inserted += answers[i]->inserted ? 1 : 0;
    EXPECT_EQ(answers[i]->stored.version, 1u);
    EXPECT_EQ(answers[i]->stored.order, order);
  }
  EXPECT_EQ(inserted, 1);

  int stored = 0;
  ASSERT_TRUE(store->read([&](ReadTxn& t) {
    return t.for_each_order([&](const VersionedOrder&) {
      ++stored;
      return true;
    });
  }));
  EXPECT_EQ(stored, 1);

  const StoreStats s = store->stats();
  std::cout << "group commit: writes=" << s.writes << " commits=" << s.commits
            << " max_batch=" << s.max_batch << " failed_commits=" << s.failed_commits << "\n";
  RecordProperty("writes", std::to_string(s.writes));
  RecordProperty("commits", std::to_string(s.commits));
  EXPECT_EQ(s.writes, static_cast<std::uint64_t>(kThreads));
  EXPECT_LT(s.commits, s.writes);
  EXPECT_GT(s.max_batch, 1u);
  EXPECT_EQ(s.failed_commits, 0u);
}

TEST(StoreConcurrency, ExecSeenIsMarkedOnceUnderRace) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  constexpr int kThreads = 32;
  std::latch start(kThreads);
  std::atomic<int> firsts{0};
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      Status s =
          store->write_and_wait([](WriteTxn& t) { return t.mark_exec_seen("brk1", "E-1", 1000); });
      if (s) {
        ++firsts;
      } else if (s.error().code == StoreErrc::kAlreadyExists) {
        ++duplicates;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(firsts.load(), 1);
  EXPECT_EQ(duplicates.load(), kThreads - 1);
}

// ---- event sequence under concurrent appends -------------------------------------------------

// kAppendThreads submit (without waiting) kAppendsEach appends each; every 7th write function
// fails after appending, so its seq must be handed out again. Meanwhile readers poll
// events_after like the polling API and must never see a gap.
TEST(StoreConcurrency, ConcurrentAppendsGetDistinctContiguousSeqs) {
  TempDir dir;
  auto store = open_store(dir.path(), 16);  // small batches: many commits for readers to see
  ASSERT_TRUE(store);
  constexpr int kAppendThreads = 16;
  constexpr int kAppendsEach = 60;
  constexpr int kTotal = kAppendThreads * kAppendsEach;

  struct Slot {
    std::uint64_t seq = 0;  // written by the write function, read after `done`
    bool ok = false;
  };
  std::vector<Slot> slots(kTotal);
  std::atomic<int> pending{kTotal};
  std::promise<void> all_done;
  std::atomic<bool> stop_readers{false};
  std::atomic<int> reader_errors{0};
  std::atomic<std::uint64_t> reader_polls{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      std::uint64_t cursor = 0;
      while (!stop_readers.load()) {
        Status s = store->read([&](ReadTxn& t) -> Status {
          auto last = t.last_event_seq();
          auto events = t.events_after(cursor, 50);
          if (!last || !events) return store_error(StoreErrc::kIo, "read failed");
          for (const StoredEvent& e : *events) {
            if (e.seq != cursor + 1 || e.seq > *last) {
              return store_error(StoreErrc::kCorrupt, "gap at " + std::to_string(cursor));
            }
            cursor = e.seq;
          }
          return {};
        });
        if (!s) ++reader_errors;
        ++reader_polls;
      }
    });
  }

  std::latch start(kAppendThreads);
  std::vector<std::thread> writers;
  for (int w = 0; w < kAppendThreads; ++w) {
    writers.emplace_back([&, w] {
      start.arrive_and_wait();
      for (int i = 0; i < kAppendsEach; ++i) {
        const int n = w * kAppendsEach + i;
        const bool fails = n % 7 == 3;
        StoredEvent e;
        e.type = "order.fill";
        e.broker = "brk1";
        e.account = "acc" + std::to_string(w);
        e.client_order_id = "t" + std::to_string(w) + "-" + std::to_string(i);
        e.at_us = n;
        store->submit(
            [&slots, n, fails, e](WriteTxn& t) -> Status {
              auto seq = t.append_event(e);
              if (!seq) return tl::unexpected(seq.error());
              slots[static_cast<std::size_t>(n)].seq = *seq;
              if (fails) return store_error(StoreErrc::kAborted, "injected");
              return {};
            },
            [&slots, &pending, &all_done, n](Status s) {
              slots[static_cast<std::size_t>(n)].ok = static_cast<bool>(s);
              if (--pending == 0) all_done.set_value();
            });
      }
    });
  }
  for (auto& t : writers) t.join();
  all_done.get_future().wait();
  stop_readers = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(reader_errors.load(), 0);

  // Successful appends: seqs 1..N, each once; failed ones left no trace.
  std::map<std::uint64_t, int> by_seq;
  int expected_ok = 0;
  for (int n = 0; n < kTotal; ++n) {
    const bool fails = n % 7 == 3;
    EXPECT_EQ(slots[static_cast<std::size_t>(n)].ok, !fails) << n;
    if (fails) continue;
    ++expected_ok;
    EXPECT_TRUE(by_seq.emplace(slots[static_cast<std::size_t>(n)].seq, n).second)
        << "seq " << slots[static_cast<std::size_t>(n)].seq << " given twice";
  }
  ASSERT_EQ(static_cast<int>(by_seq.size()), expected_ok);
  EXPECT_EQ(by_seq.begin()->first, 1u);
  EXPECT_EQ(by_seq.rbegin()->first, static_cast<std::uint64_t>(expected_ok));

  // events_after pages through them in order, each seq holding the event appended with it, and
  // one thread's events in the order it submitted them (the queue is FIFO).
  std::uint64_t cursor = 0;
  std::vector<int> last_i(kAppendThreads, -1);
  for (;;) {
    std::vector<StoredEvent> page;
    ASSERT_TRUE(store->read([&](ReadTxn& t) -> Status {
      auto events = t.events_after(cursor, 97);
      if (!events) return tl::unexpected(events.error());
      page = std::move(*events);
      return {};
    }));
    if (page.empty()) break;
    for (const StoredEvent& e : page) {
      ASSERT_EQ(e.seq, cursor + 1);
      cursor = e.seq;
      const int n = by_seq.at(e.seq);
      const int w = n / kAppendsEach;
      const int i = n % kAppendsEach;
      EXPECT_EQ(e.client_order_id, "t" + std::to_string(w) + "-" + std::to_string(i));
      EXPECT_GT(i, last_i[static_cast<std::size_t>(w)]) << "thread " << w << " reordered";
      last_i[static_cast<std::size_t>(w)] = i;
    }
  }
  EXPECT_EQ(cursor, static_cast<std::uint64_t>(expected_ok));
  ASSERT_TRUE(store->read([&](ReadTxn& t) -> Status {
    EXPECT_EQ(t.last_event_seq().value(), static_cast<std::uint64_t>(expected_ok));
    EXPECT_EQ(t.first_event_seq().value(), 1u);
    return {};
  }));
  std::cout << "appends: " << expected_ok << " events, " << store->stats().commits << " commits, "
            << reader_polls.load() << " reader polls\n";
}

// ---- 3. compare-and-set stress -------------------------------------------------------------

constexpr int kCasThreads = 8;
constexpr int kIncrements = 100;

void expect_counter(Store& store, const std::string& id, std::uint32_t expected) {
  ASSERT_TRUE(store.read([&](ReadTxn& t) -> Status {
    auto o = t.get_order(id);
    EXPECT_TRUE(o);
    if (o) {
      EXPECT_EQ(o->order.send_attempts, expected);
      EXPECT_EQ(o->version, expected + 1u);  // one update per increment
    }
    return {};
  }));
}

TEST(StoreConcurrency, CasIncrementsInsideTheWriteLoseNothing) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->write_and_wait([](WriteTxn& t) { return t.insert_order(test_order("ctr")); }));

  std::latch start(kCasThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCasThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int n = 0; n < kIncrements; ++n) {
        Status s = store->write_and_wait([](WriteTxn& t) -> Status {
          auto cur = t.get_order("ctr");
          if (!cur) return tl::unexpected(cur.error());
          core::Order next = cur->order;
          ++next.send_attempts;
          auto v = t.update_order(next, cur->version);
          if (!v) return tl::unexpected(v.error());
          return {};
        });
        if (!s) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  expect_counter(*store, "ctr", kCasThreads * kIncrements);
  std::cout << "cas inside: " << store->stats().writes << " writes in " << store->stats().commits
            << " commits\n";
}

TEST(StoreConcurrency, CasIncrementsReadOutsideRetryOnConflictLoseNothing) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->write_and_wait([](WriteTxn& t) { return t.insert_order(test_order("ctr")); }));

  std::latch start(kCasThreads);
  std::atomic<int> conflicts{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCasThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int n = 0; n < kIncrements; ++n) {
        for (int attempt = 0;; ++attempt) {
          if (attempt > 10000) {
            ++failures;  // livelock: should never happen
            break;
          }
          VersionedOrder seen;
          Status r = store->read([&](ReadTxn& t) -> Status {
            auto o = t.get_order("ctr");
            if (!o) return tl::unexpected(o.error());
            seen = std::move(*o);
            return {};
          });
          if (!r) {
            ++failures;
            break;
          }
          core::Order next = seen.order;
          ++next.send_attempts;
          const std::uint64_t expected = seen.version;
          Status s = store->write_and_wait([next, expected](WriteTxn& t) -> Status {
            auto v = t.update_order(next, expected);
            if (!v) return tl::unexpected(v.error());
            return {};
          });
          if (s) break;
          if (s.error().code != StoreErrc::kVersionConflict) {
            ++failures;
            break;
          }
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  expect_counter(*store, "ctr", kCasThreads * kIncrements);
  std::cout << "cas outside: " << conflicts.load() << " conflicts retried\n";
}

}  // namespace
}  // namespace brokergw::store
