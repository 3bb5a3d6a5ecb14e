// LMDB-only tests of the open-orders index and the schedule's stored step names
// (docs/STORE.md): the migration of a schema-1 store (the index is built once, at open, in the
// transaction that checks the version), an order that cannot be migrated, an index that
// disagrees with its orders, and retry records written before steps had an enum. The contract
// itself (both implementations) is in store_contract_test.cpp.
#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/core/order.h"
#include "gateway/core/resolution.h"
#include "store/store.h"
#include "tests/integration/temp_dir.h"

namespace brokergw::store {
namespace {

using core::OrderState;
using TempDir = ::brokergw::testing::TempDir;
using Ids = std::vector<std::string>;

const std::string kOpenCount("open_count\0", 11);

core::Order order(const std::string& id, const std::string& broker, OrderState state) {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = "acc1";
  r.broker = broker;
  r.symbol = "AAPL";
  r.quantity = core::Qty{core::Decimal::from_units(10)};
  core::Order o = core::make_order(r, 1'700'000'000'000'000);
  o.state = state;
  return o;
}

std::unique_ptr<Store> open_store(const std::string& dir) {
  auto s = open_lmdb_store(LmdbOptions{dir, 64ull << 20, 64});
  if (!s) {
    ADD_FAILURE() << "open " << dir << ": " << s.error().detail;
    return nullptr;
  }
  return std::move(*s);
}

// Runs fn in a raw LMDB write transaction on the store's environment (the store closed).
void raw(const std::string& dir, const std::function<void(MDB_txn*)>& fn) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  fn(txn);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

MDB_dbi table(MDB_txn* txn, const char* name) {
  MDB_dbi dbi = 0;
  EXPECT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0) << name;
  return dbi;
}

MDB_val val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

void put(MDB_txn* txn, const char* name, const std::string& key, const std::string& value) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  EXPECT_EQ(mdb_put(txn, table(txn, name), &k, &v, 0), 0) << name;
}

void del(MDB_txn* txn, const char* name, const std::string& key) {
  MDB_val k = val(key);
  EXPECT_EQ(mdb_del(txn, table(txn, name), &k, nullptr), 0) << name;
}

std::optional<std::string> get(MDB_txn* txn, const char* name, const std::string& key) {
  MDB_val k = val(key);
  MDB_val v;
  if (mdb_get(txn, table(txn, name), &k, &v) != 0) return std::nullopt;
  return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
}

// Turns a store back into what a schema-1 build left: no open_orders table, no open counts.
void make_schema_1(const std::string& dir) {
  raw(dir, [](MDB_txn* txn) {
    ASSERT_EQ(mdb_drop(txn, table(txn, "open_orders"), 1), 0);
    MDB_dbi meta = table(txn, "meta");
    MDB_cursor* c = nullptr;
    ASSERT_EQ(mdb_cursor_open(txn, meta, &c), 0);
    MDB_val k;
    MDB_val v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      std::string key(static_cast<const char*>(k.mv_data), k.mv_size);
      if (key.rfind(kOpenCount, 0) == 0) ASSERT_EQ(mdb_cursor_del(c, 0), 0);
    }
    mdb_cursor_close(c);
    put(txn, "meta", "schema_version", "1");
  });
}

std::string schema_version(const std::string& dir) {
  std::string out;
  raw(dir, [&](MDB_txn* txn) { out = get(txn, "meta", "schema_version").value_or("(none)"); });
  return out;
}

Ids open_ids(Store& s, const std::string& broker) {
  Ids out;
  Status st = s.read([&](ReadTxn& t) {
    return t.for_each_open_order(broker, "", [&](const VersionedOrder& o) {
      out.push_back(o.order.request.client_order_id);
      return true;
    });
  });
  EXPECT_TRUE(st) << st.error().detail;
  return out;
}

std::size_t count(Store& s, const std::string& broker) {
  std::size_t n = 0;
  EXPECT_TRUE(s.read([&](ReadTxn& t) -> Status {
    auto r = t.count_open_orders(broker);
    if (!r) return tl::unexpected(r.error());
    n = *r;
    return {};
  }));
  return n;
}

void insert_all(Store& s, const std::vector<core::Order>& orders) {
  for (const core::Order& o : orders) {
    ASSERT_TRUE(s.write_and_wait([o](WriteTxn& t) { return t.insert_order(o); }));
  }
}

TEST(StoreOpenOrders, ASchema1StoreGetsItsIndexAtOpen) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    insert_all(
        *store,
        {order("A", "brk1", OrderState::kPendingNew), order("B", "brk1", OrderState::kFilled),
         order("C", "brk2", OrderState::kNew), order("D", "brk1", OrderState::kPartiallyFilled),
         order("E", "brk2", OrderState::kCanceled)});
  }
  EXPECT_EQ(schema_version(dir.path()), "2");
  make_schema_1(dir.path());
  raw(dir.path(), [](MDB_txn* txn) {
    MDB_dbi dbi;
    EXPECT_EQ(mdb_dbi_open(txn, "open_orders", 0, &dbi), MDB_NOTFOUND);
  });
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(open_ids(*store, "brk1"), (Ids{"A", "D"}));
    EXPECT_EQ(open_ids(*store, "brk2"), (Ids{"C"}));
    EXPECT_EQ(count(*store, "brk1"), 2u);
    EXPECT_EQ(count(*store, "brk2"), 1u);
    EXPECT_EQ(count(*store, ""), 3u);
    // The migrated index is kept like any other.
    core::Order a = order("A", "brk1", OrderState::kRejected);
    ASSERT_TRUE(store->write_and_wait([a](WriteTxn& t) -> Status {
      auto v = t.update_order(a, 1);
      if (!v) return tl::unexpected(v.error());
      return {};
    }));
    EXPECT_EQ(count(*store, "brk1"), 1u);
  }
  EXPECT_EQ(schema_version(dir.path()), "2");
  raw(dir.path(), [](MDB_txn* txn) {
    EXPECT_EQ(get(txn, "meta", kOpenCount + "brk1").value_or("").size(), 8u);
    EXPECT_TRUE(get(txn, "open_orders", std::string("brk1\0D", 6)));
    EXPECT_FALSE(get(txn, "open_orders", std::string("brk1\0A", 6)));
  });
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(open_ids(*store, ""), (Ids{"D", "C"}));
}

TEST(StoreOpenOrders, AnOrderThatCannotBeMigratedFailsTheOpenAndKeepsTheStore) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    insert_all(*store, {order("A", "brk1", OrderState::kNew)});
  }
  make_schema_1(dir.path());
  raw(dir.path(), [](MDB_txn* txn) { put(txn, "orders", "bad", "\xa1\x61"); });
  auto failed = open_lmdb_store(LmdbOptions{dir.path(), 64ull << 20, 64});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(failed.error().detail.find("orders[bad]"), std::string::npos) << failed.error().detail;
  EXPECT_NE(failed.error().detail.find(dir.path()), std::string::npos) << failed.error().detail;
  EXPECT_EQ(schema_version(dir.path()), "1");  // nothing of the migration was committed

  raw(dir.path(), [](MDB_txn* txn) { del(txn, "orders", "bad"); });
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(open_ids(*store, "brk1"), (Ids{"A"}));
}

TEST(StoreOpenOrders, AnIndexThatDisagreesWithItsOrdersIsCorrupt) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    insert_all(*store,
               {order("A", "brk1", OrderState::kNew), order("B", "brk1", OrderState::kNew)});
  }
  raw(dir.path(), [](MDB_txn* txn) {
    del(txn, "open_orders", std::string("brk1\0A", 6));
    put(txn, "open_orders", std::string("brk1\0Z", 6), "");
    put(txn, "meta", kOpenCount + "brk2", "x");
  });
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  Status end_a = store->write_and_wait([](WriteTxn& t) -> Status {
    auto v = t.update_order(order("A", "brk1", OrderState::kFilled), 1);
    if (!v) return tl::unexpected(v.error());
    return {};
  });
  ASSERT_FALSE(end_a);
  EXPECT_EQ(end_a.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(end_a.error().detail.find("open_orders has no"), std::string::npos)
      << end_a.error().detail;

  Ids visited;
  Status walk = store->read([&](ReadTxn& t) {
    return t.for_each_open_order("brk1", "", [&](const VersionedOrder& o) {
      visited.push_back(o.order.request.client_order_id);
      return true;
    });
  });
  EXPECT_EQ(visited, (Ids{"B"}));
  ASSERT_FALSE(walk);
  EXPECT_EQ(walk.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(walk.error().detail.find("open_orders[brk1/Z]: no order"), std::string::npos)
      << walk.error().detail;

  Status counted = store->read([](ReadTxn& t) -> Status {
    auto n = t.count_open_orders("brk2");
    if (!n) return tl::unexpected(n.error());
    return {};
  });
  ASSERT_FALSE(counted);
  EXPECT_EQ(counted.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(counted.error().detail.find("meta[open_count/brk2]"), std::string::npos)
      << counted.error().detail;
}

// Retry records as a build before core::Step wrote them: "action" holds the name.
std::string old_retry(const std::string& id, core::TimestampUs due, const std::string& action) {
  nlohmann::json doc = {
      {"client_order_id", id}, {"due_us", due}, {"attempt", 1}, {"action", action}};
  auto bytes = nlohmann::json::to_cbor(doc);
  return std::string(bytes.begin(), bytes.end());
}

std::string due_key(core::TimestampUs due, const std::string& id) {
  auto v = static_cast<std::uint64_t>(due) ^ (1ull << 63);
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v);
  return out + id;
}

TEST(StoreOpenOrders, RetryRecordsOfAnOlderBuildReadUnchanged) {
  TempDir dir;
  { ASSERT_TRUE(open_store(dir.path())); }
  raw(dir.path(), [](MDB_txn* txn) {
    put(txn, "retries", "T", old_retry("T", 10, "timeout"));
    put(txn, "retries_due", due_key(10, "T"), "");
    put(txn, "retries", "Q", old_retry("Q", 20, "status_query"));
    put(txn, "retries_due", due_key(20, "Q"), "");
    put(txn, "retries", "R", old_retry("R", 30, "resend"));
    put(txn, "retries_due", due_key(30, "R"), "");
  });
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->read([](ReadTxn& t) -> Status {
      auto due = t.due_retries(100, 10);
      if (!due) return tl::unexpected(due.error());
      EXPECT_EQ(*due, (std::vector<RetryEntry>{{"T", 10, 1, core::Step::kDeadline},
                                               {"Q", 20, 1, core::Step::kQuery},
                                               {"R", 30, 1, core::Step::kResend}}));
      return {};
    }));
  }
  raw(dir.path(), [](MDB_txn* txn) { put(txn, "retries", "Q", old_retry("Q", 20, "later")); });
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  Status bad = store->read([](ReadTxn& t) -> Status {
    auto r = t.get_retry("Q");
    if (!r) return tl::unexpected(r.error());
    return {};
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(bad.error().detail.find("retries[Q]: field retry.action: unknown value \"later\""),
            std::string::npos)
      << bad.error().detail;
}

}  // namespace
}  // namespace brokergw::store
