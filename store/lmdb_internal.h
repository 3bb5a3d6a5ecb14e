// Internal to the LMDB implementation of store::Store (store/lmdb_*.cpp; contract and tables in
// store/store.h, design in docs/STORE.md): the key encodings, the table handles, the cursor
// guard, and the transaction classes that implement ReadTxn and WriteTxn on an MDB_txn. Only
// store/lmdb_*.cpp include this header (and so lmdb.h); nothing outside store/ sees it.
//
// Threads: a LmdbTxn is used by exactly one thread, the one that holds its MDB_txn: the caller
// of Store::read() for a read-only one, the committer for a (nested) write one. The helpers are
// pure.
//
// Invariants kept by LmdbWriteTxn, each inside the one write transaction that changes a record:
//  * retries and retries_due hold the same entries (one due key per entry, same due_us);
//  * exec_seen and exec_seen_by_time hold the same keys (same first-seen time);
//  * open_orders holds broker '\0' id exactly for the non-terminal orders, and meta's
//    "open_count\0<broker>" is the number of that broker's keys (absent when 0).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "store/keys.h"
#include "store/store.h"

namespace brokergw::store::lmdb {

// Bumped when the key or record format changes. "1" had no open_orders table: a store at "1" is
// migrated at open (lmdb_schema.cpp); any other version is refused.
constexpr std::string_view kSchemaKey = "schema_version";
constexpr std::string_view kSchemaVersion = "2";
constexpr std::string_view kSchemaVersionWithoutOpenOrders = "1";
// Event sequence and Kafka cursor (meta values: 8-byte big-endian; absent means 0).
constexpr std::string_view kLastEventSeqKey = "last_event_seq";
constexpr std::string_view kPublishedSeqKey = "published_seq";
// Per-broker open-order counts: meta key kOpenCountPrefix + broker, 8-byte big-endian value,
// absent when the broker has no open order.
constexpr std::string_view kOpenCountPrefix{"open_count\0", 11};
// Concurrent read transactions (LMDB's default is 126). 64 bytes each in the lock file.
constexpr unsigned kMaxReaders = 512;
// Named databases the environment may hold: the 12 of Dbis plus room to grow. LMDB keeps this
// in the handle, not the file, so raising it later needs no migration.
constexpr unsigned kMaxDbs = 32;

inline MDB_val as_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// The key rules shared with the in-memory twin (store/keys.h).
using keys::broker_key;
using keys::broker_name_error;
using keys::printable;

StoreErrc classify(int rc);
StoreError lmdb_error(int rc, std::string context);

// Fixed-width big-endian integers: LMDB compares keys with memcmp, so these sort numerically.
std::string be64(std::uint64_t v);
std::string be32(std::uint32_t v);
std::optional<std::uint32_t> from_be32(std::string_view s);
std::optional<std::uint64_t> from_be64(std::string_view s);

// Timestamps are signed; with the sign bit flipped, their big-endian bytes sort in time order
// (negative times first, core::kNeverDue last), which the time-ordered indexes rely on.
std::string time_bytes(core::TimestampUs t);
std::optional<core::TimestampUs> time_from_bytes(std::string_view s);
// Index key of the time-ordered tables (retries_due, exec_seen_by_time): time, then the key of
// the entry it indexes, so entries due at the same time are ordered by that key.
std::string time_key(core::TimestampUs t, std::string_view suffix);
// "<time>+<key>" for error texts.
std::string printable_time_key(std::string_view key);

// FIX session state (fix_sessions value): next_sender and next_target as 4-byte big-endian,
// creation_us as 8-byte big-endian two's complement: 16 bytes.
constexpr std::size_t kSessionStateSize = 16;
std::string encode_session_state(const SessionState& st);
// Empty when the session's sequence numbers are usable (>= 1).
std::string session_state_error(const SessionState& st);
// fix_messages key: session_id '\0' 4-byte big-endian seq. A session id has no '\0', so the
// messages of one session are exactly the keys starting with session_id '\0', in seq order.
std::string session_prefix(std::string_view session_id);
std::string session_message_key(std::string_view session_id, int seq);

struct Dbis {
  MDB_dbi orders = 0;
  MDB_dbi broker_ids = 0;
  MDB_dbi cancels = 0;
  MDB_dbi exec_seen = 0;
  MDB_dbi exec_seen_by_time = 0;
  MDB_dbi events = 0;
  MDB_dbi open_orders = 0;
  MDB_dbi retries = 0;
  MDB_dbi retries_due = 0;
  MDB_dbi meta = 0;
  MDB_dbi fix_sessions = 0;
  MDB_dbi fix_messages = 0;
};

class Cursor {
 public:
  Cursor() = default;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  int open(MDB_txn* txn, MDB_dbi dbi) { return mdb_cursor_open(txn, dbi, &cursor_); }
  int get(MDB_val* k, MDB_val* v, MDB_cursor_op op) { return mdb_cursor_get(cursor_, k, v, op); }
  int del() { return mdb_cursor_del(cursor_, 0); }

 private:
  MDB_cursor* cursor_ = nullptr;
};

// The read operations, shared by read-only and (nested) write transactions. Base is ReadTxn
// or WriteTxn (both instantiated in lmdb_read.cpp). Does not own txn_.
template <class Base>
class LmdbTxn : public Base {
 public:
  LmdbTxn(MDB_txn* txn, const Dbis& dbis, const std::string& path)
      : txn_(txn), dbis_(dbis), path_(path) {}

  Result<VersionedOrder> get_order(std::string_view client_order_id) override;
  Result<std::string> find_by_broker_order_id(std::string_view broker,
                                              std::string_view broker_order_id) override;
  Result<CancelRecord> get_cancel(std::string_view client_cancel_id) override;
  Result<std::optional<ExecRecord>> find_exec(std::string_view broker,
                                              std::string_view client_order_id,
                                              std::string_view exec_id) override;
  Result<std::vector<VersionedOrder>> list_orders(const OrderFilter& filter, std::string_view after,
                                                  std::size_t limit) override;
  Status for_each_order(const std::function<bool(const VersionedOrder&)>& fn) override;
  Status for_each_open_order(std::string_view broker, std::string_view after,
                             const std::function<bool(const VersionedOrder&)>& fn) override;
  Result<std::size_t> count_open_orders(std::string_view broker) override;
  Result<std::vector<StoredEvent>> events_after(std::uint64_t after_seq,
                                                std::size_t limit) override;
  Result<std::uint64_t> last_event_seq() override { return meta_u64(kLastEventSeqKey); }
  Result<std::uint64_t> first_event_seq() override;
  Result<std::uint64_t> published_seq() override { return meta_u64(kPublishedSeqKey); }
  Result<std::optional<RetryEntry>> get_retry(std::string_view client_order_id) override;
  Result<std::vector<RetryEntry>> due_retries(core::TimestampUs now_us, std::size_t limit) override;
  Result<std::optional<core::TimestampUs>> next_retry_due() override;
  Result<SessionState> get_session(std::string_view session_id) override;
  Result<std::vector<std::string>> get_session_messages(std::string_view session_id, int begin,
                                                        int end) override;

  // The first LMDB failure seen in this transaction (not "not found"/"exists"). After one,
  // LMDB refuses the transaction, so a write function that ignored it must not succeed.
  const std::optional<StoreError>& poisoned() const { return poisoned_; }

 protected:
  tl::unexpected<StoreError> fail(int rc, std::string context);

  // The value stored under key in dbi, nullopt when there is none. The view points into the map
  // and is valid until this transaction writes or ends. `what` names the record in an error
  // text ("get <what> <key>"), built only on failure.
  Result<std::optional<std::string_view>> lookup(MDB_dbi dbi, std::string_view key,
                                                 std::string_view what);

  Result<VersionedOrder> decode_order_at(std::string_view key, std::string_view bytes);
  Result<StoredEvent> decode_event_at(const MDB_val& k, const MDB_val& v);
  Result<RetryEntry> decode_retry_at(std::string_view id, std::string_view bytes);
  Result<std::uint64_t> event_seq_of(const MDB_val& k);
  // The due time of a retries_due key (8 bytes of time, then a non-empty id).
  Result<core::TimestampUs> due_of(std::string_view key);
  // The seq of a fix_messages key of the session with this prefix; nullopt when the key belongs
  // to another session; kCorrupt when it has the prefix but not 4 bytes of seq >= 1 after it.
  Result<std::optional<int>> message_seq_of(std::string_view prefix, std::string_view key);
  // Meta integers (8-byte big-endian); absent is 0.
  Result<std::uint64_t> meta_u64(std::string_view name);

  std::size_t max_key_size() const {
    return static_cast<std::size_t>(mdb_env_get_maxkeysize(mdb_txn_env(txn_)));
  }
  // Empty when id can key a retry: the retries key is the id and the retries_due key is 8
  // bytes of due time plus the id, and both must fit LMDB's key size.
  std::string retry_id_error(std::string_view id) const;
  // Empty when id can key a FIX session: its fix_messages keys add '\0' and 4 bytes of seq.
  std::string session_id_error(std::string_view id) const;

  MDB_txn* txn_;
  const Dbis& dbis_;
  const std::string& path_;  // for error texts
  std::optional<StoreError> poisoned_;
};

using LmdbReadTxn = LmdbTxn<ReadTxn>;

// A write function's nested transaction (lmdb_write.cpp), or the open transaction that migrates
// the schema (lmdb_schema.cpp).
class LmdbWriteTxn final : public LmdbTxn<WriteTxn> {
 public:
  using LmdbTxn<WriteTxn>::LmdbTxn;

  Status insert_order(const core::Order& order) override;
  Result<std::uint64_t> update_order(const core::Order& order,
                                     std::uint64_t expected_version) override;
  Status put_broker_order_id(std::string_view broker, std::string_view broker_order_id,
                             std::string_view client_order_id) override;
  Status insert_cancel(const CancelRecord& record) override;
  Status put_exec(std::string_view broker, std::string_view client_order_id,
                  std::string_view exec_id, const ExecRecord& record) override;
  Result<std::uint64_t> append_event(const StoredEvent& event) override;
  Status set_published_seq(std::uint64_t seq) override;
  Result<CompactionStats> compact(core::TimestampUs events_before_us,
                                  core::TimestampUs dedup_before_us,
                                  std::size_t max_items) override;
  Status schedule_retry(const RetryEntry& entry) override;
  Status cancel_retry(std::string_view client_order_id) override;
  Status put_session(std::string_view session_id, const SessionState& state) override;
  Status put_session_message(std::string_view session_id, int seq,
                             std::string_view message) override;
  Result<std::size_t> trim_session_messages(std::string_view session_id, int below_seq,
                                            std::size_t max_items) override;
  Status reset_session(std::string_view session_id, core::TimestampUs creation_us) override;

  // Empties open_orders and the open counts, then indexes every non-terminal order: the
  // migration from schema 1. Costs one pass over orders. A record that does not decode is
  // kCorrupt naming it.
  Status rebuild_open_orders();

 private:
  Status put_meta_u64(std::string_view name, std::uint64_t value);
  // Adds delta (+1 or -1) to the broker's open count; kCorrupt when it would go below 0.
  Status add_open_count(std::string_view broker, int delta);
  // Keeps open_orders in step with one order write: `before` is the stored order (null on
  // insert), `after` the one being written. Its key exists afterwards iff `after` is open.
  Status reindex_open(const core::Order* before, const core::Order& after);
  // kAborted when the order is open and its open_orders key cannot be formed.
  Status check_open_key(const core::Order& order) const;
  Result<std::size_t> delete_session_messages(std::string_view session_id, std::int64_t below_seq,
                                              std::size_t max_items);
  // Deletes the order's retry entry and its due index key; nothing to do when it has none.
  Status drop_retry(std::string_view id);
};

// Opens (creating) every table and checks (or migrates) the schema version, in one write
// transaction (lmdb_schema.cpp). Errors name the path.
Result<Dbis> open_tables(MDB_env* env, const std::string& path);

}  // namespace brokergw::store::lmdb
