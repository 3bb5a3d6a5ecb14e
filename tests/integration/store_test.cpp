// Integration tests of the LMDB store on real files: round trips, compare-and-set, indexes,
// listing, batch isolation, map full, corrupt records, close and reopen. Each test works in
// its own temporary directory under /tmp, removed afterwards.
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/core/order.h"
#include "store/store.h"
#include "tests/integration/temp_dir.h"

namespace brokergw::store {
namespace {

using core::Decimal;
using core::OrderState;

using TempDir = ::brokergw::testing::TempDir;

core::Order test_order(const std::string& id, const std::string& account = "acc1",
                       const std::string& broker = "brk1", const std::string& symbol = "AAPL") {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = account;
  r.broker = broker;
  r.symbol = symbol;
  r.side = core::Side::kBuy;
  r.quantity = core::Qty{Decimal::from_units(100)};
  r.order_type = core::OrderType::kLimit;
  r.limit_price = core::Price{*Decimal::parse("187.25")};
  r.time_in_force = core::TimeInForce::kDay;
  return core::make_order(r, 1'700'000'000'000'000);
}

std::unique_ptr<Store> open_store(const std::string& dir, std::uint64_t map_size = 64ull << 20) {
  auto s = open_lmdb_store(LmdbOptions{dir, map_size, 512});
  if (!s) {
    ADD_FAILURE() << "open " << dir << ": " << s.error().detail;
    return nullptr;
  }
  return std::move(*s);
}

Status insert(Store& store, const core::Order& o) {
  return store.write_and_wait([o](WriteTxn& t) { return t.insert_order(o); });
}

Result<VersionedOrder> get(Store& store, const std::string& id) {
  Result<VersionedOrder> out = store_error(StoreErrc::kNotFound);
  Status s = store.read([&](ReadTxn& t) -> Status {
    out = t.get_order(id);
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return out;
}

Result<std::vector<VersionedOrder>> list(Store& store, const OrderFilter& f,
                                         const std::string& after, std::size_t limit) {
  Result<std::vector<VersionedOrder>> out;
  Status s = store.read([&](ReadTxn& t) -> Status {
    out = t.list_orders(f, after, limit);
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return out;
}

std::vector<std::string> ids_of(const std::vector<VersionedOrder>& v) {
  std::vector<std::string> out;
  for (const auto& o : v) out.push_back(o.order.request.client_order_id);
  return out;
}

// ---- 1. round trips, CAS, indexes, listing -------------------------------------------------

TEST(Store, InsertGetUpdateRoundTrip) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);

  core::Order a = test_order("A-1");
  ASSERT_TRUE(insert(*store, a));
  auto got = get(*store, "A-1");
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_EQ(got->version, 1u);
  EXPECT_EQ(got->order, a);

  auto again = insert(*store, a);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, StoreErrc::kAlreadyExists);

  core::Order b = a;
  b.state = OrderState::kNew;
  b.acknowledged = true;
  b.broker_order_id = "BRK-77";
  b.send_attempts = 1;
  b.updated_us = a.updated_us + 5;
  b.history.push_back(core::Transition{b.updated_us, OrderState::kNew, "ack"});
  auto v2 = store->write_and_wait<std::uint64_t>(
      [b](WriteTxn& t, std::optional<std::uint64_t>& out) -> Status {
        auto r = t.update_order(b, 1);
        if (!r) return tl::unexpected(r.error());
        out = *r;
        return {};
      });
  ASSERT_TRUE(v2) << v2.error().detail;
  EXPECT_EQ(*v2, 2u);
  got = get(*store, "A-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->version, 2u);
  EXPECT_EQ(got->order, b);

  // A stale version loses and changes nothing.
  core::Order stale = a;
  stale.reject_reason = "should never be stored";
  Status conflict = store->write_and_wait([stale](WriteTxn& t) -> Status {
    auto r = t.update_order(stale, 1);
    if (!r) return tl::unexpected(r.error());
    return {};
  });
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, StoreErrc::kVersionConflict);
  EXPECT_TRUE(conflict.error().retriable());
  got = get(*store, "A-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->version, 2u);
  EXPECT_EQ(got->order, b);

  Status missing = store->write_and_wait([](WriteTxn& t) -> Status {
    auto r = t.update_order(test_order("nope"), 1);
    if (!r) return tl::unexpected(r.error());
    return {};
  });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, StoreErrc::kNotFound);
  EXPECT_EQ(get(*store, "nope").error().code, StoreErrc::kNotFound);
}

TEST(Store, BrokerIdIndexCancelsAndExecSeen) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(insert(*store, test_order("A-1")));
  ASSERT_TRUE(insert(*store, test_order("A-2")));

  ASSERT_TRUE(store->write_and_wait([](WriteTxn& t) -> Status {
    if (auto s = t.put_broker_order_id("brk1", "X-1", "A-1"); !s) return s;
    if (auto s = t.put_broker_order_id("brk2", "X-1", "A-2"); !s) return s;
    if (auto s = t.insert_cancel(CancelRecord{"C-1", "A-1", 42}); !s) return s;
    return t.mark_exec_seen("brk1", "E-1", 1000);
  }));

  ASSERT_TRUE(store->read([](ReadTxn& t) -> Status {
    EXPECT_EQ(t.find_by_broker_order_id("brk1", "X-1").value(), "A-1");
    EXPECT_EQ(t.find_by_broker_order_id("brk2", "X-1").value(), "A-2");
    EXPECT_EQ(t.find_by_broker_order_id("brk1", "X-2").error().code, StoreErrc::kNotFound);
    // The broker name is part of the key: "brk" + "1X-1" is not "brk1" + "X-1".
    EXPECT_EQ(t.find_by_broker_order_id("brk", "1X-1").error().code, StoreErrc::kNotFound);

    auto c = t.get_cancel("C-1");
    EXPECT_TRUE(c);
    if (c) {
      EXPECT_EQ(c->client_order_id, "A-1");
      EXPECT_EQ(c->created_us, 42);
    }
    EXPECT_EQ(t.get_cancel("C-2").error().code, StoreErrc::kNotFound);

    EXPECT_TRUE(t.exec_seen("brk1", "E-1").value());
    EXPECT_FALSE(t.exec_seen("brk2", "E-1").value());
    EXPECT_FALSE(t.exec_seen("brk1", "E-2").value());
    return {};
  }));

  // put_broker_order_id is an upsert (the latest order of a replace chain wins).
  ASSERT_TRUE(store->write_and_wait(
      [](WriteTxn& t) { return t.put_broker_order_id("brk1", "X-1", "A-2"); }));
  Status dup_cancel = store->write_and_wait([](WriteTxn& t) {
    return t.insert_cancel(CancelRecord{"C-1", "A-2", 43});
  });
  ASSERT_FALSE(dup_cancel);
  EXPECT_EQ(dup_cancel.error().code, StoreErrc::kAlreadyExists);
  Status dup_exec =
      store->write_and_wait([](WriteTxn& t) { return t.mark_exec_seen("brk1", "E-1", 2000); });
  ASSERT_FALSE(dup_exec);
  EXPECT_EQ(dup_exec.error().code, StoreErrc::kAlreadyExists);
  Status bad_broker = store->write_and_wait(
      [](WriteTxn& t) { return t.mark_exec_seen(std::string("b\0x", 3), "E-1", 1000); });
  ASSERT_FALSE(bad_broker);
  EXPECT_EQ(bad_broker.error().code, StoreErrc::kAborted);

  ASSERT_TRUE(store->read([](ReadTxn& t) -> Status {
    EXPECT_EQ(t.find_by_broker_order_id("brk1", "X-1").value(), "A-2");
    EXPECT_EQ(t.get_cancel("C-1").value().client_order_id, "A-1");
    return {};
  }));
}

TEST(Store, ListOrdersFiltersAndPaginates) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  const std::vector<std::string> accounts = {"acc1", "acc2", "acc3"};
  const std::vector<std::string> symbols = {"AAPL", "MSFT"};
  ASSERT_TRUE(store->write_and_wait([&](WriteTxn& t) -> Status {
    for (int i = 0; i < 25; ++i) {
      char id[8];
      std::snprintf(id, sizeof id, "o%02d", i);
      core::Order o = test_order(id, accounts[i % 3], i < 10 ? "brk1" : "brk2", symbols[i % 2]);
      if (i % 5 == 0) o.state = OrderState::kFilled;
      if (auto s = t.insert_order(o); !s) return s;
    }
    return {};
  }));

  // Everything, in pages of 4, in key order.
  std::vector<std::string> all;
  std::string after;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10);
    auto page = list(*store, {}, after, 4);
    ASSERT_TRUE(page) << page.error().detail;
    if (page->empty()) break;
    EXPECT_LE(page->size(), 4u);
    for (const auto& o : *page) all.push_back(o.order.request.client_order_id);
    after = all.back();
  }
  ASSERT_EQ(all.size(), 25u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(all.front(), "o00");

  // Filters, alone and combined, with pagination through a filter.
  OrderFilter acc2;
  acc2.account = "acc2";
  auto p1 = list(*store, acc2, "", 3);
  ASSERT_TRUE(p1);
  EXPECT_EQ(ids_of(*p1), (std::vector<std::string>{"o01", "o04", "o07"}));
  auto p2 = list(*store, acc2, "o07", 100);
  ASSERT_TRUE(p2);
  EXPECT_EQ(ids_of(*p2), (std::vector<std::string>{"o10", "o13", "o16", "o19", "o22"}));

  OrderFilter filled;
  filled.state = OrderState::kFilled;
  auto f = list(*store, filled, "", 100);
  ASSERT_TRUE(f);
  EXPECT_EQ(ids_of(*f), (std::vector<std::string>{"o00", "o05", "o10", "o15", "o20"}));

  OrderFilter combo;
  combo.broker = "brk2";
  combo.symbol = "MSFT";
  combo.account = "acc2";
  auto c = list(*store, combo, "", 100);
  ASSERT_TRUE(c);
  EXPECT_EQ(ids_of(*c), (std::vector<std::string>{"o13", "o19"}));

  // `after` need not exist; it is exclusive when it does.
  auto between = list(*store, {}, "o055", 2);
  ASSERT_TRUE(between);
  EXPECT_EQ(ids_of(*between), (std::vector<std::string>{"o06", "o07"}));
  auto past_end = list(*store, {}, "z", 10);
  ASSERT_TRUE(past_end);
  EXPECT_TRUE(past_end->empty());
  auto none = list(*store, {}, "", 0);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto long_after = list(*store, {}, std::string(2000, 'o'), 10);
  ASSERT_TRUE(long_after) << long_after.error().detail;
  EXPECT_TRUE(long_after->empty());

  int visited = 0;
  ASSERT_TRUE(store->read([&](ReadTxn& t) {
    return t.for_each_order([&](const VersionedOrder&) { return ++visited < 7; });
  }));
  EXPECT_EQ(visited, 7);
}

// ---- 4. a failing write function rolls back only its own writes ----------------------------

TEST(Store, FailingWriteInBatchRollsBackOnlyItself) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(insert(*store, test_order("existing")));

  // Hold the committer inside a write so the next writes queue up and share one batch.
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  store->submit(
      [&entered, released](WriteTxn&) -> Status {
        entered.set_value();
        released.wait();
        return {};
      },
      nullptr);
  entered.get_future().wait();
  const auto before = store->stats();

  std::vector<std::promise<Status>> done(5);
  auto submit = [&](int i, Store::WriteFn fn) {
    store->submit(std::move(fn), [&done, i](Status s) { done[i].set_value(std::move(s)); });
  };
  submit(0, [](WriteTxn& t) { return t.insert_order(test_order("a")); });
  submit(1, [](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(test_order("b1")); !s) return s;
    if (auto s = t.put_broker_order_id("brk1", "B-1", "b1"); !s) return s;
    if (auto s = t.insert_order(test_order("b2")); !s) return s;
    return store_error(StoreErrc::kAborted, "changed my mind");
  });
  submit(2, [](WriteTxn& t) -> Status {
    // Sees the earlier write of its own batch.
    if (!t.get_order("a")) return store_error(StoreErrc::kAborted, "a not visible");
    return t.insert_order(test_order("c"));
  });
  submit(3, [](WriteTxn& t) -> Status {
    if (auto s = t.insert_order(test_order("d")); !s) return s;
    throw std::runtime_error("boom");
  });
  submit(4, [](WriteTxn& t) -> Status {
    if (auto s = t.mark_exec_seen("brk1", "E-9", 1000); !s) return s;
    return t.insert_order(test_order("existing"));  // kAlreadyExists
  });
  release.set_value();

  std::vector<Status> results;
  for (auto& p : done) results.push_back(p.get_future().get());
  EXPECT_TRUE(results[0]);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, StoreErrc::kAborted);
  EXPECT_EQ(results[1].error().detail, "changed my mind");
  EXPECT_TRUE(results[2]) << results[2].error().detail;
  ASSERT_FALSE(results[3]);
  EXPECT_EQ(results[3].error().code, StoreErrc::kAborted);
  EXPECT_NE(results[3].error().detail.find("boom"), std::string::npos);
  ASSERT_FALSE(results[4]);
  EXPECT_EQ(results[4].error().code, StoreErrc::kAlreadyExists);

  const auto after = store->stats();
  EXPECT_GE(after.max_batch, 5u) << "the five writes should have shared one batch";
  EXPECT_EQ(after.commits - before.commits, 2u);  // the blocker's batch and ours

  EXPECT_TRUE(get(*store, "a"));
  EXPECT_TRUE(get(*store, "c"));
  for (const char* gone : {"b1", "b2", "d"}) {
    EXPECT_EQ(get(*store, gone).error().code, StoreErrc::kNotFound) << gone;
  }
  ASSERT_TRUE(store->read([](ReadTxn& t) -> Status {
    EXPECT_EQ(t.find_by_broker_order_id("brk1", "B-1").error().code, StoreErrc::kNotFound);
    EXPECT_FALSE(t.exec_seen("brk1", "E-9").value());
    return {};
  }));
}

// ---- 5. map full ---------------------------------------------------------------------------

TEST(Store, MapFullFailsTheWriteAndKeepsCommittedData) {
  TempDir dir;
  // 32 pages: room for the tables and a few orders (each insert also writes open_orders and meta)
  constexpr std::uint64_t kTinyMap = 128 << 10;
  {
    auto store = open_store(dir.path(), kTinyMap);
    ASSERT_TRUE(store);
    for (int i = 0; i < 5; ++i) {
      Status small = insert(*store, test_order("small-" + std::to_string(i)));
      ASSERT_TRUE(small) << small.error().detail;
    }
    core::Order big = test_order("big");
    big.reject_reason.assign(1 << 20, 'x');
    Status s = insert(*store, big);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, StoreErrc::kMapFull) << s.error().detail;
    EXPECT_NE(s.error().detail.find(dir.path()), std::string::npos) << s.error().detail;
    EXPECT_FALSE(s.error().retriable());

    // A write function that ignores the failure does not get to succeed.
    Status ignored = store->write_and_wait([big](WriteTxn& t) -> Status {
      (void)t.insert_order(big);
      return {};
    });
    ASSERT_FALSE(ignored);
    EXPECT_EQ(ignored.error().code, StoreErrc::kMapFull);

    // The store is still usable for writes that fit.
    EXPECT_TRUE(insert(*store, test_order("small-after")));
    EXPECT_EQ(get(*store, "big").error().code, StoreErrc::kNotFound);
  }
  {
    auto store = open_store(dir.path(), kTinyMap);
    ASSERT_TRUE(store);
    for (int i = 0; i < 5; ++i) {
      auto o = get(*store, "small-" + std::to_string(i));
      ASSERT_TRUE(o) << o.error().detail;
      EXPECT_EQ(o->order, test_order("small-" + std::to_string(i)));
    }
    EXPECT_TRUE(get(*store, "small-after"));
  }
  {
    // The operator's fix: a bigger map.
    auto store = open_store(dir.path(), 16ull << 20);
    ASSERT_TRUE(store);
    core::Order big = test_order("big");
    big.reject_reason.assign(1 << 20, 'x');
    EXPECT_TRUE(insert(*store, big));
    EXPECT_TRUE(get(*store, "small-0"));
  }
}

// ---- 7. close and reopen -------------------------------------------------------------------

TEST(Store, DataPersistsAcrossCloseAndReopen) {
  TempDir dir;
  const std::string path = dir.sub("nested/store");  // created, with its parent
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(insert(*store, test_order("keep-1")));
    // Queued but not awaited: close() must drain them.
    std::vector<std::future<Status>> pending;
    for (int i = 0; i < 50; ++i) {
      auto p = std::make_shared<std::promise<Status>>();
      pending.push_back(p->get_future());
      store->submit(
          [i](WriteTxn& t) { return t.insert_order(test_order("q-" + std::to_string(i))); },
          [p](Status s) { p->set_value(std::move(s)); });
    }
    store->close();
    for (auto& f : pending) EXPECT_TRUE(f.get());
    store->close();  // idempotent

    Status late =
        store->write_and_wait([](WriteTxn& t) { return t.insert_order(test_order("late")); });
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, StoreErrc::kShuttingDown);
    Status read = store->read([](ReadTxn&) -> Status { return {}; });
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, StoreErrc::kShuttingDown);
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  {
    auto store = open_store(path);
    ASSERT_TRUE(store);
    auto o = get(*store, "keep-1");
    ASSERT_TRUE(o);
    EXPECT_EQ(o->order, test_order("keep-1"));
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(get(*store, "q-" + std::to_string(i))) << i;
    EXPECT_EQ(get(*store, "late").error().code, StoreErrc::kNotFound);
  }  // destructor closes
}

TEST(Store, OpenErrorsNameThePath) {
  TempDir dir;
  const std::string file = dir.sub("not-a-dir");
  std::ofstream(file) << "x";
  auto s = open_lmdb_store(LmdbOptions{file, 1 << 20, 16});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StoreErrc::kIo);
  EXPECT_NE(s.error().detail.find(file), std::string::npos) << s.error().detail;

  auto below_file = open_lmdb_store(LmdbOptions{file + "/store", 1 << 20, 16});
  ASSERT_FALSE(below_file);
  EXPECT_NE(below_file.error().detail.find(file), std::string::npos) << below_file.error().detail;
}

// ---- corrupt records (written behind the store's back with LMDB itself) ---------------------

// Runs fn in a raw LMDB write transaction on the store's environment (store closed).
void raw_write(const std::string& dir,
               const std::function<void(MDB_txn*, MDB_dbi orders, MDB_dbi meta)>& fn) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 8), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi orders;
  MDB_dbi meta;
  ASSERT_EQ(mdb_dbi_open(txn, "orders", 0, &orders), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
  fn(txn, orders, meta);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

void raw_put(MDB_txn* txn, MDB_dbi dbi, std::string key, std::string value) {
  MDB_val k{key.size(), key.data()};
  MDB_val v{value.size(), value.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
}

TEST(Store, CorruptRecordsAreReportedNotFatal) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(insert(*store, test_order("good")));
    ASSERT_TRUE(insert(*store, test_order("other")));
  }
  std::string other_bytes;
  raw_write(dir.path(), [&](MDB_txn* txn, MDB_dbi orders, MDB_dbi) {
    raw_put(txn, orders, "bad", "\xa1\x61");  // truncated CBOR
    // A valid record under the wrong key.
    MDB_val k{5, const_cast<char*>("other")};
    MDB_val v;
    ASSERT_EQ(mdb_get(txn, orders, &k, &v), 0);
    other_bytes.assign(static_cast<const char*>(v.mv_data), v.mv_size);
    raw_put(txn, orders, "moved", other_bytes);
  });

  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto bad = get(*store, "bad");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(bad.error().detail.find("orders[bad]"), std::string::npos) << bad.error().detail;
  auto moved = get(*store, "moved");
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, StoreErrc::kCorrupt);
  EXPECT_TRUE(get(*store, "good"));

  auto l = list(*store, {}, "", 10);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, StoreErrc::kCorrupt);
  Status each = store->read(
      [](ReadTxn& t) { return t.for_each_order([](const VersionedOrder&) { return true; }); });
  ASSERT_FALSE(each);
  EXPECT_EQ(each.error().code, StoreErrc::kCorrupt);

  // CAS on a corrupt record refuses rather than overwrites.
  Status upd = store->write_and_wait([](WriteTxn& t) -> Status {
    auto r = t.update_order(test_order("bad"), 1);
    if (!r) return tl::unexpected(r.error());
    return {};
  });
  ASSERT_FALSE(upd);
  EXPECT_EQ(upd.error().code, StoreErrc::kCorrupt);
}

TEST(Store, RefusesAnotherSchemaVersion) {
  TempDir dir;
  { ASSERT_TRUE(open_store(dir.path())); }
  raw_write(dir.path(), [](MDB_txn* txn, MDB_dbi, MDB_dbi meta) {
    raw_put(txn, meta, "schema_version", "99");
  });
  auto s = open_lmdb_store(LmdbOptions{dir.path(), 1 << 20, 16});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(s.error().detail.find(dir.path()), std::string::npos) << s.error().detail;
  EXPECT_NE(s.error().detail.find("99"), std::string::npos) << s.error().detail;
}

}  // namespace
}  // namespace brokergw::store
