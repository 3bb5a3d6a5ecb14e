// Concurrency of the LMDB store: many threads racing one idempotent insert (group commit must
// batch them), exec de-duplication, and compare-and-set counters that must not lose updates,
// with the read inside the write and outside it. Run under TSan as well.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/core/order.h"
#include "store/store.h"

namespace brokergw::store {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/brokergw-store-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

core::Order test_order(const std::string& id) {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = "acc1";
  r.broker = "brk1";
  r.symbol = "AAPL";
  r.quantity = core::Qty{core::Decimal::from_units(10)};
  return core::make_order(r, 1'700'000'000'000'000);
}

std::unique_ptr<Store> open_store(const std::string& dir) {
  auto s = open_lmdb_store(LmdbOptions{dir, 64ull << 20, 512});
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
      Status s = store->write_and_wait([](WriteTxn& t) { return t.mark_exec_seen("brk1", "E-1"); });
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
