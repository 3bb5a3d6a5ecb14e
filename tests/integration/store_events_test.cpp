// Integration tests of the event journal, the Kafka cursor, compaction, execution
// de-duplication retention and the retry schedule, on real LMDB files (docs/STORE.md).
// Each test works in its own temporary directory under /tmp, removed afterwards.
#include <lmdb.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/order_codec.h"
#include "store/store.h"
#include "tests/integration/temp_dir.h"

namespace brokergw::store {
namespace {

using TempDir = ::brokergw::testing::TempDir;

std::unique_ptr<Store> open_store(const std::string& dir) {
  auto s = open_lmdb_store(LmdbOptions{dir, 64ull << 20, 512});
  if (!s) {
    ADD_FAILURE() << "open " << dir << ": " << s.error().detail;
    return nullptr;
  }
  return std::move(*s);
}

StoredEvent event(const std::string& client_order_id, core::TimestampUs at_us,
                  const std::string& type = "order.fill") {
  StoredEvent e;
  e.type = type;
  e.broker = "brk1";
  e.account = "acc1";
  e.client_order_id = client_order_id;
  e.at_us = at_us;
  e.body = R"({"qty":"10"})";
  return e;
}

Result<std::uint64_t> append(Store& store, const StoredEvent& e) {
  return store.write_and_wait<std::uint64_t>(
      [e](WriteTxn& t, std::optional<std::uint64_t>& out) -> Status {
        auto seq = t.append_event(e);
        if (!seq) return tl::unexpected(seq.error());
        out = *seq;
        return {};
      });
}

// The answer of one ReadTxn query, run in its own read transaction.
template <class T>
Result<T> query(Store& store, const std::function<Result<T>(ReadTxn&)>& fn) {
  Result<T> out = store_error(StoreErrc::kAborted, "not run");
  Status s = store.read([&](ReadTxn& t) -> Status {
    out = fn(t);
    return {};
  });
  if (!s) return tl::unexpected(s.error());
  return out;
}

std::uint64_t last_seq(Store& s) {
  return query<std::uint64_t>(s, [](ReadTxn& t) { return t.last_event_seq(); }).value();
}
std::uint64_t first_seq(Store& s) {
  return query<std::uint64_t>(s, [](ReadTxn& t) { return t.first_event_seq(); }).value();
}
std::uint64_t published(Store& s) {
  return query<std::uint64_t>(s, [](ReadTxn& t) { return t.published_seq(); }).value();
}

std::vector<std::uint64_t> seqs_after(Store& s, std::uint64_t after, std::size_t limit = 1000) {
  auto events =
      query<std::vector<StoredEvent>>(s, [&](ReadTxn& t) { return t.events_after(after, limit); });
  EXPECT_TRUE(events) << events.error().detail;
  std::vector<std::uint64_t> out;
  if (events) {
    for (const StoredEvent& e : *events) out.push_back(e.seq);
  }
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

Status set_published(Store& s, std::uint64_t seq) {
  return s.write_and_wait([seq](WriteTxn& t) { return t.set_published_seq(seq); });
}

Result<CompactionStats> compact(Store& s, core::TimestampUs events_before,
                                core::TimestampUs dedup_before, std::size_t max_items) {
  return s.write_and_wait<CompactionStats>(
      [=](WriteTxn& t, std::optional<CompactionStats>& out) -> Status {
        auto r = t.compact(events_before, dedup_before, max_items);
        if (!r) return tl::unexpected(r.error());
        out = *r;
        return {};
      });
}

bool seen(Store& s, const std::string& exec_id) {
  return query<bool>(s, [&](ReadTxn& t) { return t.exec_seen("brk1", exec_id); }).value();
}

Status mark_seen(Store& s, const std::string& exec_id, core::TimestampUs at) {
  return s.write_and_wait([=](WriteTxn& t) { return t.mark_exec_seen("brk1", exec_id, at); });
}

// ---- the event journal ----------------------------------------------------------------------

TEST(StoreEvents, AppendGivesGapFreeSeqsFromOneAndRoundTrips) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(last_seq(*store), 0u);
  EXPECT_EQ(first_seq(*store), 0u);
  EXPECT_EQ(published(*store), 0u);
  EXPECT_TRUE(seqs_after(*store, 0).empty());

  StoredEvent first = event("A-1", 100);
  first.seq = 99;  // ignored: the store assigns the seq
  first.body = std::string("{\"text\":\"caf\xe9\",\"nul\":\"\0\"}", 26);  // not UTF-8, has NUL
  EXPECT_EQ(append(*store, first).value(), 1u);
  EXPECT_EQ(append(*store, event("A-2", 200)).value(), 2u);
  // Several in one write function: consecutive.
  auto pair = store->write_and_wait<std::vector<std::uint64_t>>(
      [](WriteTxn& t, std::optional<std::vector<std::uint64_t>>& out) -> Status {
        std::vector<std::uint64_t> seqs;
        for (const char* id : {"A-3", "A-4"}) {
          auto seq = t.append_event(event(id, -5));
          if (!seq) return tl::unexpected(seq.error());
          seqs.push_back(*seq);
          // Visible to the same write function at once.
          if (t.last_event_seq().value() != *seq) return store_error(StoreErrc::kAborted, "last");
        }
        out = seqs;
        return {};
      });
  ASSERT_TRUE(pair) << pair.error().detail;
  EXPECT_EQ(*pair, (std::vector<std::uint64_t>{3, 4}));

  EXPECT_EQ(last_seq(*store), 4u);
  EXPECT_EQ(first_seq(*store), 1u);
  EXPECT_EQ(seqs_after(*store, 0), range(1, 4));
  EXPECT_EQ(seqs_after(*store, 1, 2), range(2, 3));
  EXPECT_EQ(seqs_after(*store, 3), range(4, 4));
  EXPECT_TRUE(seqs_after(*store, 4).empty());
  EXPECT_TRUE(seqs_after(*store, 0, 0).empty());
  EXPECT_TRUE(seqs_after(*store, std::numeric_limits<std::uint64_t>::max()).empty());

  auto events =
      query<std::vector<StoredEvent>>(*store, [](ReadTxn& t) { return t.events_after(0, 1); });
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  const StoredEvent& e = events->front();
  EXPECT_EQ(e.seq, 1u);
  EXPECT_EQ(e.type, first.type);
  EXPECT_EQ(e.broker, first.broker);
  EXPECT_EQ(e.account, first.account);
  EXPECT_EQ(e.client_order_id, first.client_order_id);
  EXPECT_EQ(e.at_us, first.at_us);
  EXPECT_EQ(e.body, first.body);
}

TEST(StoreEvents, FailingWriteGivesItsSeqBack) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_EQ(append(*store, event("A-1", 1)).value(), 1u);

  // Alone in its batch.
  Status failed = store->write_and_wait([](WriteTxn& t) -> Status {
    auto seq = t.append_event(event("gone", 2));
    if (!seq) return tl::unexpected(seq.error());
    if (*seq != 2) return store_error(StoreErrc::kAborted, "unexpected seq");
    return store_error(StoreErrc::kAborted, "changed my mind");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().detail, "changed my mind");
  EXPECT_EQ(last_seq(*store), 1u);
  EXPECT_EQ(append(*store, event("A-2", 3)).value(), 2u);

  // Inside a batch: hold the committer so the next writes share one group commit.
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
  std::vector<std::promise<Status>> done(4);
  std::vector<std::uint64_t> got(4, 0);
  auto submit = [&](int i, const std::string& id, bool fail, bool throws) {
    store->submit(
        [&got, i, id, fail, throws](WriteTxn& t) -> Status {
          auto seq = t.append_event(event(id, 10));
          if (!seq) return tl::unexpected(seq.error());
          got[static_cast<std::size_t>(i)] = *seq;
          if (throws) throw std::runtime_error("boom");
          if (fail) return store_error(StoreErrc::kAborted, "no");
          return {};
        },
        [&done, i](Status s) { done[static_cast<std::size_t>(i)].set_value(std::move(s)); });
  };
  submit(0, "B-ok", false, false);
  submit(1, "B-fail", true, false);
  submit(2, "B-throw", false, true);
  submit(3, "C-ok", false, false);
  release.set_value();
  std::vector<Status> results;
  for (auto& p : done) results.push_back(p.get_future().get());
  EXPECT_TRUE(results[0]);
  EXPECT_FALSE(results[1]);
  EXPECT_FALSE(results[2]);
  EXPECT_TRUE(results[3]);
  EXPECT_EQ(got, (std::vector<std::uint64_t>{3, 4, 4, 4}));  // 4 handed out until one kept it

  auto events =
      query<std::vector<StoredEvent>>(*store, [](ReadTxn& t) { return t.events_after(0, 10); });
  ASSERT_TRUE(events);
  std::vector<std::string> ids;
  for (const auto& e : *events) ids.push_back(std::to_string(e.seq) + ":" + e.client_order_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"1:A-1", "2:A-2", "3:B-ok", "4:C-ok"}));
  EXPECT_EQ(last_seq(*store), 4u);
}

TEST(StoreEvents, SeqsAndCursorSurviveReopen) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    for (int i = 1; i <= 3; ++i) ASSERT_EQ(append(*store, event("A", i)).value(), unsigned(i));
    ASSERT_TRUE(set_published(*store, 2));
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(last_seq(*store), 3u);
  EXPECT_EQ(first_seq(*store), 1u);
  EXPECT_EQ(published(*store), 2u);
  EXPECT_EQ(append(*store, event("A", 4)).value(), 4u);
  EXPECT_EQ(seqs_after(*store, 2), range(3, 4));
}

TEST(StoreEvents, PublishedSeqIsMonotonicAndBoundedByLastSeq) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_TRUE(set_published(*store, 0));
  Status beyond_empty = set_published(*store, 1);
  ASSERT_FALSE(beyond_empty);
  EXPECT_EQ(beyond_empty.error().code, StoreErrc::kAborted);

  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(append(*store, event("A", i)));
  ASSERT_TRUE(set_published(*store, 3));
  EXPECT_EQ(published(*store), 3u);
  EXPECT_TRUE(set_published(*store, 2));  // a late delivery report: ignored, not an error
  EXPECT_EQ(published(*store), 3u);
  EXPECT_TRUE(set_published(*store, 3));
  EXPECT_EQ(published(*store), 3u);
  ASSERT_TRUE(set_published(*store, 5));
  EXPECT_EQ(published(*store), 5u);
  Status beyond = set_published(*store, 6);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code, StoreErrc::kAborted);
  EXPECT_NE(beyond.error().detail.find("last_event_seq 5"), std::string::npos)
      << beyond.error().detail;
  EXPECT_EQ(published(*store), 5u);

  // Appended and published in one write function.
  auto seq = store->write_and_wait<std::uint64_t>(
      [](WriteTxn& t, std::optional<std::uint64_t>& out) -> Status {
        auto s = t.append_event(event("B", 6));
        if (!s) return tl::unexpected(s.error());
        if (auto p = t.set_published_seq(*s); !p) return p;
        out = *s;
        return {};
      });
  ASSERT_TRUE(seq);
  EXPECT_EQ(published(*store), 6u);
}

// ---- compaction -----------------------------------------------------------------------------

TEST(StoreCompaction, DeletesOnlyPublishedOldEvents) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(append(*store, event("A", 100 * i)));

  // Nothing published: nothing goes, however old.
  auto none = compact(*store, std::numeric_limits<core::TimestampUs>::max(), 0, 100);
  ASSERT_TRUE(none) << none.error().detail;
  EXPECT_EQ(none->events_deleted, 0u);
  EXPECT_FALSE(none->more);
  EXPECT_EQ(first_seq(*store), 1u);

  ASSERT_TRUE(set_published(*store, 6));
  // Old: at_us < 550, so seqs 1..5.
  auto old = compact(*store, 550, 0, 100);
  ASSERT_TRUE(old) << old.error().detail;
  EXPECT_EQ(old->events_deleted, 5u);
  EXPECT_EQ(old->dedup_keys_deleted, 0u);
  EXPECT_FALSE(old->more);
  EXPECT_EQ(first_seq(*store), 6u);
  EXPECT_EQ(seqs_after(*store, 0), range(6, 10));

  // Everything is old now, but 7..10 are unpublished.
  auto published_only = compact(*store, 1'000'000, 0, 100);
  ASSERT_TRUE(published_only);
  EXPECT_EQ(published_only->events_deleted, 1u);
  EXPECT_EQ(first_seq(*store), 7u);
  EXPECT_EQ(seqs_after(*store, 0), range(7, 10));
  EXPECT_EQ(last_seq(*store), 10u);
}

TEST(StoreCompaction, RetainedEventsStayContiguous) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  // Seq 2 carries a later time than seq 3 (times come from the service, not the store).
  for (core::TimestampUs at : {100, 900, 100, 100}) ASSERT_TRUE(append(*store, event("A", at)));
  ASSERT_TRUE(set_published(*store, 4));
  auto r = compact(*store, 500, 0, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events_deleted, 1u);  // 1 only: 3 and 4 wait until 2 may go too
  EXPECT_EQ(seqs_after(*store, 0), range(2, 4));
  r = compact(*store, 1000, 0, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events_deleted, 3u);
  EXPECT_TRUE(seqs_after(*store, 0).empty());
}

TEST(StoreCompaction, HonoursMaxItemsAndSaysWhenThereIsMore) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(append(*store, event("A", i)));
  ASSERT_TRUE(set_published(*store, 10));

  auto zero = compact(*store, 100, 0, 0);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->events_deleted, 0u);
  EXPECT_TRUE(zero->more);

  std::vector<std::size_t> deleted;
  std::vector<bool> more;
  for (int call = 0; call < 4; ++call) {
    auto r = compact(*store, 100, 0, 4);
    ASSERT_TRUE(r) << r.error().detail;
    deleted.push_back(r->events_deleted);
    more.push_back(r->more);
  }
  EXPECT_EQ(deleted, (std::vector<std::size_t>{4, 4, 2, 0}));
  EXPECT_EQ(more, (std::vector<bool>{true, true, false, false}));

  // Events and dedup keys share the bound; an exact fit is not "more".
  for (int i = 11; i <= 12; ++i) ASSERT_TRUE(append(*store, event("A", i)));
  ASSERT_TRUE(set_published(*store, 12));
  for (const char* id : {"E-1", "E-2", "E-3"}) ASSERT_TRUE(mark_seen(*store, id, 50));
  auto shared = compact(*store, 100, 100, 4);
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->events_deleted, 2u);
  EXPECT_EQ(shared->dedup_keys_deleted, 2u);
  EXPECT_TRUE(shared->more);
  auto rest = compact(*store, 100, 100, 1);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->events_deleted, 0u);
  EXPECT_EQ(rest->dedup_keys_deleted, 1u);
  EXPECT_FALSE(rest->more);
}

TEST(StoreCompaction, ForgetsOldDedupKeysAndKeepsRecentOnes) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(mark_seen(*store, "E-old", 100));
  ASSERT_TRUE(mark_seen(*store, "E-older", -7));  // times before the epoch sort first too
  ASSERT_TRUE(mark_seen(*store, "E-edge", 500));
  ASSERT_TRUE(mark_seen(*store, "E-new", 1000));
  ASSERT_TRUE(
      store->write_and_wait([](WriteTxn& t) { return t.mark_exec_seen("brk2", "E-old", 100); }));

  auto r = compact(*store, 0, 500, 100);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->dedup_keys_deleted, 3u);  // brk1/E-older, brk1/E-old, brk2/E-old
  EXPECT_EQ(r->events_deleted, 0u);
  EXPECT_FALSE(r->more);
  EXPECT_FALSE(seen(*store, "E-old"));
  EXPECT_FALSE(seen(*store, "E-older"));
  EXPECT_TRUE(seen(*store, "E-edge"));  // not before 500
  EXPECT_TRUE(seen(*store, "E-new"));
  EXPECT_FALSE(
      query<bool>(*store, [](ReadTxn& t) { return t.exec_seen("brk2", "E-old"); }).value());

  // A forgotten key can be marked again (and is retained by its new time).
  EXPECT_TRUE(mark_seen(*store, "E-old", 2000));
  auto dup = mark_seen(*store, "E-new", 3000);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, StoreErrc::kAlreadyExists);
  r = compact(*store, 0, 1500, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dedup_keys_deleted, 2u);  // E-edge and E-new
  EXPECT_TRUE(seen(*store, "E-old"));
  EXPECT_FALSE(seen(*store, "E-new"));
}

TEST(StoreCompaction, LastSeqSurvivesCompactingEverything) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(append(*store, event("A", i)));
    ASSERT_TRUE(set_published(*store, 5));
    auto r = compact(*store, 100, 0, 100);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->events_deleted, 5u);
    EXPECT_EQ(first_seq(*store), 0u);
    EXPECT_EQ(last_seq(*store), 5u);
    EXPECT_EQ(published(*store), 5u);
    EXPECT_TRUE(seqs_after(*store, 0).empty());
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(last_seq(*store), 5u);
  EXPECT_EQ(first_seq(*store), 0u);
  EXPECT_EQ(append(*store, event("A", 6)).value(), 6u);
  EXPECT_EQ(first_seq(*store), 6u);
  EXPECT_EQ(seqs_after(*store, 0), range(6, 6));
  EXPECT_EQ(seqs_after(*store, 5), range(6, 6));
}

// ---- execution de-duplication keys ---------------------------------------------------------

TEST(StoreExecSeen, KeyLengthLimitIsChecked) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  // LMDB keys hold 511 bytes; the time index adds 8 to "brk1\0<client_order_id>\0<exec_id>"
  // (client_order_id "" in this shorthand).
  const std::size_t fits = 511 - 8 - 6;
  EXPECT_TRUE(mark_seen(*store, std::string(fits, 'x'), 1));
  Status too_long = mark_seen(*store, std::string(fits + 1, 'y'), 1);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, StoreErrc::kAborted);
  EXPECT_TRUE(seen(*store, std::string(fits, 'x')));
  EXPECT_FALSE(seen(*store, std::string(fits + 1, 'y')));
  // The stored key is compactable like any other.
  auto r = compact(*store, 0, 2, 10);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->dedup_keys_deleted, 1u);
}

TEST(StoreExecSeen, RecordsOfAnEarlierVersionReadAsLegacyDuplicates) {
  TempDir dir;
  { ASSERT_TRUE(open_store(dir.path())); }
  // An earlier version keyed reports on broker '\0' ExecID, valued with the 8-byte time.
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_set_maxdbs(env, 16), 0);
    ASSERT_EQ(mdb_env_open(env, dir.path().c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi seen_dbi;
    MDB_dbi index_dbi;
    ASSERT_EQ(mdb_dbi_open(txn, "exec_seen", 0, &seen_dbi), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "exec_seen_by_time", 0, &index_dbi), 0);
    std::string key("brk1\0E-7", 8);
    // The store's time bytes: big-endian, sign bit flipped (so keys sort like times).
    std::string time(8, '\0');
    std::uint64_t t = 42ull ^ (1ull << 63);
    for (int i = 7; i >= 0; --i, t >>= 8) time[static_cast<std::size_t>(i)] = static_cast<char>(t);
    std::string index = time + key;
    MDB_val k{key.size(), key.data()};
    MDB_val v{time.size(), time.data()};
    ASSERT_EQ(mdb_put(txn, seen_dbi, &k, &v, 0), 0);
    MDB_val ik{index.size(), index.data()};
    MDB_val empty{0, nullptr};
    ASSERT_EQ(mdb_put(txn, index_dbi, &ik, &empty, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto found = query<std::optional<ExecRecord>>(
      *store, [](ReadTxn& t) { return t.find_exec("brk1", "any-order", "E-7"); });
  ASSERT_TRUE(found && found->has_value());
  EXPECT_TRUE((*found)->legacy);
  EXPECT_EQ((*found)->seen_us, 42);
  // Compacted like any other key.
  auto r = compact(*store, 0, 100, 10);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->dedup_keys_deleted, 1u);
}

// ---- the retry schedule --------------------------------------------------------------------

RetryEntry retry(const std::string& id, core::TimestampUs due, std::uint32_t attempt = 1,
                 core::Step step = core::Step::kQuery) {
  return RetryEntry{id, due, attempt, step};
}

Status schedule(Store& s, const RetryEntry& e) {
  return s.write_and_wait([e](WriteTxn& t) { return t.schedule_retry(e); });
}

Status cancel(Store& s, const std::string& id) {
  return s.write_and_wait([id](WriteTxn& t) { return t.cancel_retry(id); });
}

std::vector<std::string> due(Store& s, core::TimestampUs now, std::size_t limit = 100) {
  auto r = query<std::vector<RetryEntry>>(s, [&](ReadTxn& t) { return t.due_retries(now, limit); });
  EXPECT_TRUE(r) << r.error().detail;
  std::vector<std::string> out;
  if (r) {
    for (const RetryEntry& e : *r) out.push_back(e.client_order_id);
  }
  return out;
}

std::optional<RetryEntry> get_retry(Store& s, const std::string& id) {
  return query<std::optional<RetryEntry>>(s, [&](ReadTxn& t) { return t.get_retry(id); }).value();
}

std::optional<core::TimestampUs> next_due(Store& s) {
  return query<std::optional<core::TimestampUs>>(s, [](ReadTxn& t) { return t.next_retry_due(); })
      .value();
}

using Ids = std::vector<std::string>;

// The number of entries of a table, read with LMDB itself (the store must be closed).
std::size_t raw_count(const std::string& dir, const char* table) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  EXPECT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi dbi;
  EXPECT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
  MDB_stat st;
  EXPECT_EQ(mdb_stat(txn, dbi, &st), 0);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return st.ms_entries;
}

TEST(StoreRetries, ScheduleReplaceCancelAndDueOrder) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(next_due(*store), std::nullopt);
    EXPECT_TRUE(due(*store, std::numeric_limits<core::TimestampUs>::max()).empty());
    EXPECT_FALSE(get_retry(*store, "A").has_value());

    ASSERT_TRUE(schedule(*store, retry("A", 300)));
    ASSERT_TRUE(schedule(*store, retry("B", 100)));
    ASSERT_TRUE(schedule(*store, retry("D", 200)));
    ASSERT_TRUE(schedule(*store, retry("C", 200)));  // same time as D: ordered by id
    ASSERT_TRUE(schedule(*store, retry("E", 500, 3, core::Step::kResend)));

    EXPECT_EQ(next_due(*store), 100);
    EXPECT_TRUE(due(*store, 99).empty());
    EXPECT_EQ(due(*store, 100), (Ids{"B"}));
    EXPECT_EQ(due(*store, 200), (Ids{"B", "C", "D"}));
    EXPECT_EQ(due(*store, 200, 2), (Ids{"B", "C"}));
    EXPECT_TRUE(due(*store, 200, 0).empty());
    EXPECT_EQ(due(*store, 1000), (Ids{"B", "C", "D", "A", "E"}));
    auto e = get_retry(*store, "E");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->due_us, 500);
    EXPECT_EQ(e->attempt, 3u);
    EXPECT_EQ(e->step, core::Step::kResend);

    // Replace: the old due time is gone, not duplicated.
    ASSERT_TRUE(schedule(*store, retry("C", 50, 2, core::Step::kResend)));
    ASSERT_TRUE(schedule(*store, retry("B", 400, 2)));
    EXPECT_EQ(next_due(*store), 50);
    EXPECT_EQ(due(*store, 200), (Ids{"C", "D"}));
    EXPECT_EQ(due(*store, 1000), (Ids{"C", "D", "A", "B", "E"}));
    EXPECT_EQ(get_retry(*store, "C")->attempt, 2u);
    EXPECT_EQ(get_retry(*store, "C")->step, core::Step::kResend);

    // Cancel; cancelling what is not there is a no-op.
    ASSERT_TRUE(cancel(*store, "C"));
    ASSERT_TRUE(cancel(*store, "C"));
    ASSERT_TRUE(cancel(*store, "never"));
    ASSERT_TRUE(cancel(*store, ""));
    EXPECT_FALSE(get_retry(*store, "C").has_value());
    EXPECT_EQ(next_due(*store), 200);
    EXPECT_EQ(due(*store, 1000), (Ids{"D", "A", "B", "E"}));

    // Schedule and cancel in one write, and a failed write changes nothing.
    ASSERT_TRUE(store->write_and_wait([](WriteTxn& t) -> Status {
      if (auto s = t.schedule_retry(retry("F", 10)); !s) return s;
      return t.cancel_retry("D");
    }));
    Status failed = store->write_and_wait([](WriteTxn& t) -> Status {
      if (auto s = t.schedule_retry(retry("A", 1)); !s) return s;
      if (auto s = t.cancel_retry("B"); !s) return s;
      return store_error(StoreErrc::kAborted, "no");
    });
    ASSERT_FALSE(failed);
    EXPECT_EQ(due(*store, 1000), (Ids{"F", "A", "B", "E"}));
    EXPECT_EQ(get_retry(*store, "A")->due_us, 300);

    // Negative due times sort first.
    ASSERT_TRUE(schedule(*store, retry("G", -1)));
    EXPECT_EQ(next_due(*store), -1);
    EXPECT_EQ(due(*store, 0), (Ids{"G"}));
  }
  EXPECT_EQ(raw_count(dir.path(), "retries"), 5u);
  EXPECT_EQ(raw_count(dir.path(), "retries_due"), 5u);
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    EXPECT_EQ(next_due(*store), -1);
    EXPECT_EQ(due(*store, 1000), (Ids{"G", "F", "A", "B", "E"}));
    auto e = get_retry(*store, "E");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->client_order_id, "E");
    EXPECT_EQ(e->due_us, 500);
    EXPECT_EQ(e->attempt, 3u);
    EXPECT_EQ(e->step, core::Step::kResend);
  }
}

TEST(StoreRetries, RefusesIdsThatCannotBeKeys) {
  TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  Status empty = schedule(*store, retry("", 1));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, StoreErrc::kAborted);
  // The due index adds 8 bytes of time to the id.
  EXPECT_TRUE(schedule(*store, retry(std::string(503, 'a'), 1)));
  Status too_long = schedule(*store, retry(std::string(504, 'b'), 1));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, StoreErrc::kAborted);
  EXPECT_FALSE(get_retry(*store, std::string(504, 'b')).has_value());
  EXPECT_FALSE(get_retry(*store, "").has_value());
  EXPECT_EQ(due(*store, 1).size(), 1u);
}

// ---- corrupt records (written behind the store's back) -------------------------------------

void raw_put(const std::string& dir, const char* table, const std::string& key,
             const std::string& value) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, table, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v);
  return out;
}

void expect_corrupt(const Status& s, const std::string& names) {
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StoreErrc::kCorrupt) << s.error().detail;
  EXPECT_NE(s.error().detail.find(names), std::string::npos)
      << "detail \"" << s.error().detail << "\" should name " << names;
}

Status as_status(Store& s, const std::function<Status(ReadTxn&)>& fn) { return s.read(fn); }

template <class T>
Status drop(const Result<T>& r) {
  if (!r) return tl::unexpected(r.error());
  return {};
}

TEST(StoreEvents, CorruptRecordsAreNamed) {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(append(*store, event("A", i)));
    ASSERT_TRUE(set_published(*store, 3));
    ASSERT_TRUE(schedule(*store, retry("R-1", 5)));
  }
  raw_put(dir.path(), "events", be64(2), "\xa1\x61");  // truncated CBOR
  raw_put(dir.path(), "retries", "R-1", "\x80");       // an array, not a record
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    expect_corrupt(as_status(*store, [](ReadTxn& t) { return drop(t.events_after(0, 10)); }),
                   "events[2]");
    // Before the bad record: fine.
    EXPECT_EQ(seqs_after(*store, 0, 1), range(1, 1));
    expect_corrupt(as_status(*store, [](ReadTxn& t) { return drop(t.get_retry("R-1")); }),
                   "retries[R-1]");
    expect_corrupt(as_status(*store, [](ReadTxn& t) { return drop(t.due_retries(10, 10)); }),
                   "retries[R-1]");
    // Compaction refuses to step over the bad event; a replace refuses to overwrite.
    expect_corrupt(drop(compact(*store, 100, 0, 10)), "events[2]");
    EXPECT_EQ(first_seq(*store), 1u);
    expect_corrupt(schedule(*store, retry("R-1", 6)), "retries[R-1]");
  }
  StoredEvent moved = event("A", 3);
  moved.seq = 7;  // a valid record under the wrong key
  raw_put(dir.path(), "events", be64(3), codec::encode_event(moved));
  raw_put(dir.path(), "meta", "last_event_seq", "3");  // text, not 8 bytes
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  expect_corrupt(as_status(*store, [](ReadTxn& t) { return drop(t.events_after(2, 10)); }),
                 "events[3]: record is for seq 7");
  expect_corrupt(as_status(*store, [](ReadTxn& t) { return drop(t.last_event_seq()); }),
                 "meta[last_event_seq]");
  expect_corrupt(drop(append(*store, event("B", 4))), "meta[last_event_seq]");
}

}  // namespace
}  // namespace brokergw::store
