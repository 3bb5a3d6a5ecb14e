// The LMDB implementation of store::Store (contract and tables in store/store.h, design in
// docs/STORE.md). The only file of the project that includes lmdb.h.
//
// Threads: one committer thread owns every write transaction; read() opens a read-only
// transaction in the caller's thread (MDB_NOTLS, so a thread may hold several and a reader
// slot is not tied to a thread).
//
// Group commit: submit() appends to queue_ (mutex + condvar; bounded only by memory: the
// gateway bounds in-flight work upstream, and refusing a write here would turn back pressure
// into lost orders). The committer takes up to max_batch items, runs each write function in
// a nested transaction of one parent transaction, commits the parent once (synced: the
// environment never uses MDB_NOSYNC/MDB_NOMETASYNC/MDB_MAPASYNC), then calls the callbacks.
// One fsync is shared by the whole batch, which is the point: the disk's sync latency, not
// the number of writers, bounds throughput.
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "store/order_codec.h"
#include "store/store.h"

namespace brokergw::store {

std::string_view to_string(StoreErrc c) {
  switch (c) {
    case StoreErrc::kNotFound:
      return "not_found";
    case StoreErrc::kAlreadyExists:
      return "already_exists";
    case StoreErrc::kVersionConflict:
      return "version_conflict";
    case StoreErrc::kMapFull:
      return "map_full";
    case StoreErrc::kIo:
      return "io";
    case StoreErrc::kCorrupt:
      return "corrupt";
    case StoreErrc::kShuttingDown:
      return "shutting_down";
    case StoreErrc::kAborted:
      return "aborted";
  }
  return "unknown";
}

namespace {

// Bumped when the key or record format changes; a store with another version is refused.
constexpr std::string_view kSchemaKey = "schema_version";
constexpr std::string_view kSchemaVersion = "1";
// Event sequence and Kafka cursor (meta values: 8-byte big-endian; absent means 0).
constexpr std::string_view kLastEventSeqKey = "last_event_seq";
constexpr std::string_view kPublishedSeqKey = "published_seq";
// Concurrent read transactions (LMDB's default is 126). 64 bytes each in the lock file.
constexpr unsigned kMaxReaders = 512;
// Named databases the environment may hold: the 11 of open_tables() plus room to grow. LMDB
// keeps this in the handle, not the file, so raising it later needs no migration.
constexpr unsigned kMaxDbs = 32;

MDB_val as_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Keys may carry arbitrary bytes ('\0' in broker keys); keep error texts printable and short.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 128)) {
    auto u = static_cast<unsigned char>(c);
    if (u == 0) {
      out += '/';
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 128) out += "...";
  return out;
}

StoreErrc classify(int rc) {
  switch (rc) {
    case MDB_NOTFOUND:
      return StoreErrc::kNotFound;
    case MDB_KEYEXIST:
      return StoreErrc::kAlreadyExists;
    case MDB_MAP_FULL:
      return StoreErrc::kMapFull;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return StoreErrc::kCorrupt;
    case MDB_BAD_VALSIZE:  // a key too long (or empty): the caller's input, not the disk
    case MDB_TXN_FULL:     // one write function dirtied too many pages
      return StoreErrc::kAborted;
    default:  // EIO, ENOSPC, EACCES, MDB_READERS_FULL, ...: the environment, worth a retry
      return StoreErrc::kIo;
  }
}

StoreError lmdb_error(int rc, std::string context) {
  return StoreError{classify(rc), std::move(context) + ": " + mdb_strerror(rc)};
}

// Fixed-width big-endian integers: LMDB compares keys with memcmp, so these sort numerically.
std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::string be32(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::optional<std::uint32_t> from_be32(std::string_view s) {
  if (s.size() != 4) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

std::optional<std::uint64_t> from_be64(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// Timestamps are signed; with the sign bit flipped, their big-endian bytes sort in time order
// (negative times first), which the time-ordered indexes rely on.
constexpr std::uint64_t kSignBit = 1ull << 63;
std::string time_bytes(core::TimestampUs t) {
  return be64(static_cast<std::uint64_t>(t) ^ kSignBit);
}
std::optional<core::TimestampUs> time_from_bytes(std::string_view s) {
  std::optional<std::uint64_t> v = from_be64(s);
  if (!v) return std::nullopt;
  return static_cast<core::TimestampUs>(*v ^ kSignBit);
}

// Index key of the time-ordered tables (retries_due, exec_seen_by_time): time, then the key of
// the entry it indexes, so entries due at the same time are ordered by that key.
std::string time_key(core::TimestampUs t, std::string_view suffix) {
  std::string key = time_bytes(t);
  key.append(suffix);
  return key;
}

// "<time>+<key>" for error texts.
std::string printable_time_key(std::string_view key) {
  std::optional<core::TimestampUs> t = time_from_bytes(key.substr(0, 8));
  if (!t) return printable(key);
  return std::to_string(*t) + "+" + printable(key.substr(8));
}

struct Dbis {
  MDB_dbi orders = 0;
  MDB_dbi broker_ids = 0;
  MDB_dbi cancels = 0;
  MDB_dbi exec_seen = 0;
  MDB_dbi exec_seen_by_time = 0;
  MDB_dbi events = 0;
  MDB_dbi retries = 0;
  MDB_dbi retries_due = 0;
  MDB_dbi meta = 0;
  MDB_dbi fix_sessions = 0;
  MDB_dbi fix_messages = 0;
};

// FIX session state (fix_sessions value): next_sender and next_target as 4-byte big-endian,
// creation_us as 8-byte big-endian two's complement: 16 bytes.
constexpr std::size_t kSessionStateSize = 16;

std::string encode_session_state(const SessionState& st) {
  std::string out = be32(static_cast<std::uint32_t>(st.next_sender));
  out += be32(static_cast<std::uint32_t>(st.next_target));
  out += be64(static_cast<std::uint64_t>(st.creation_us));
  return out;
}

// Empty when the session's sequence numbers are usable (>= 1).
std::string session_state_error(const SessionState& st) {
  if (st.next_sender < 1) return "next_sender " + std::to_string(st.next_sender) + " < 1";
  if (st.next_target < 1) return "next_target " + std::to_string(st.next_target) + " < 1";
  return {};
}

// fix_messages key: session_id '\0' 4-byte big-endian seq. A session id has no '\0', so the
// messages of one session are exactly the keys starting with session_id '\0', in seq order.
std::string session_prefix(std::string_view session_id) {
  std::string key(session_id);
  key.push_back('\0');
  return key;
}
std::string session_message_key(std::string_view session_id, int seq) {
  return session_prefix(session_id) + be32(static_cast<std::uint32_t>(seq));
}

// broker '\0' id: the broker name cannot contain '\0', so the split is unambiguous.
Result<std::string> broker_key(std::string_view broker, std::string_view id) {
  if (broker.empty() || broker.find('\0') != std::string_view::npos) {
    return store_error(StoreErrc::kAborted, "invalid broker name \"" + printable(broker) + "\"");
  }
  std::string key(broker);
  key.push_back('\0');
  key.append(id);
  return key;
}

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

bool matches(const OrderFilter& f, const core::Order& o) {
  return (!f.account || *f.account == o.request.account) &&
         (!f.broker || *f.broker == o.request.broker) &&
         (!f.symbol || *f.symbol == o.request.symbol) && (!f.state || *f.state == o.state);
}

// The read operations, shared by read-only and (nested) write transactions. Base is ReadTxn
// or WriteTxn. Does not own txn_.
template <class Base>
class LmdbTxn : public Base {
 public:
  LmdbTxn(MDB_txn* txn, const Dbis& dbis, const std::string& path)
      : txn_(txn), dbis_(dbis), path_(path) {}

  Result<VersionedOrder> get_order(std::string_view client_order_id) override {
    MDB_val k = as_val(client_order_id);
    MDB_val v;
    int rc = mdb_get(txn_, dbis_.orders, &k, &v);
    if (rc == MDB_NOTFOUND) {
      return store_error(StoreErrc::kNotFound, "order " + printable(client_order_id));
    }
    if (rc != 0) return fail(rc, "get order " + printable(client_order_id));
    return decode_order_at(client_order_id, v);
  }

  Result<std::string> find_by_broker_order_id(std::string_view broker,
                                              std::string_view broker_order_id) override {
    Result<std::string> key = broker_key(broker, broker_order_id);
    if (!key) return tl::unexpected(key.error());
    MDB_val k = as_val(*key);
    MDB_val v;
    int rc = mdb_get(txn_, dbis_.broker_ids, &k, &v);
    if (rc == MDB_NOTFOUND) {
      return store_error(StoreErrc::kNotFound, "broker order id " + printable(*key));
    }
    if (rc != 0) return fail(rc, "get broker order id " + printable(*key));
    return std::string(as_view(v));
  }

  Result<CancelRecord> get_cancel(std::string_view client_cancel_id) override {
    MDB_val k = as_val(client_cancel_id);
    MDB_val v;
    int rc = mdb_get(txn_, dbis_.cancels, &k, &v);
    if (rc == MDB_NOTFOUND) {
      return store_error(StoreErrc::kNotFound, "cancel " + printable(client_cancel_id));
    }
    if (rc != 0) return fail(rc, "get cancel " + printable(client_cancel_id));
    Result<CancelRecord> r = codec::decode_cancel(as_view(v));
    if (!r) {
      return store_error(StoreErrc::kCorrupt,
                         "cancels[" + printable(client_cancel_id) + "]: " + r.error().detail);
    }
    if (r->client_cancel_id != client_cancel_id) {
      return store_error(StoreErrc::kCorrupt, "cancels[" + printable(client_cancel_id) +
                                                  "]: record is for " +
                                                  printable(r->client_cancel_id));
    }
    return r;
  }

  Result<bool> exec_seen(std::string_view broker, std::string_view exec_id) override {
    Result<std::string> key = broker_key(broker, exec_id);
    if (!key) return tl::unexpected(key.error());
    MDB_val k = as_val(*key);
    MDB_val v;
    int rc = mdb_get(txn_, dbis_.exec_seen, &k, &v);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != 0) return fail(rc, "get exec_seen " + printable(*key));
    return true;
  }

  Result<std::vector<VersionedOrder>> list_orders(const OrderFilter& filter, std::string_view after,
                                                  std::size_t limit) override {
    std::vector<VersionedOrder> out;
    if (limit == 0) return out;
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.orders); rc != 0) return fail(rc, "open orders cursor");
    MDB_val k;
    MDB_val v;
    int rc;
    if (after.empty()) {
      rc = cursor.get(&k, &v, MDB_FIRST);
    } else {
      // No stored key is longer than the maximum key size, so a longer `after` can be cut
      // there: the keys greater than it are exactly the keys greater than its prefix.
      auto max_key = static_cast<std::size_t>(mdb_env_get_maxkeysize(mdb_txn_env(txn_)));
      std::string_view start = after.substr(0, max_key);
      k = as_val(start);
      rc = cursor.get(&k, &v, MDB_SET_RANGE);
      if (rc == 0 && as_view(k) == start) rc = cursor.get(&k, &v, MDB_NEXT);
    }
    for (; rc == 0 && out.size() < limit; rc = cursor.get(&k, &v, MDB_NEXT)) {
      Result<VersionedOrder> r = decode_order_at(as_view(k), v);
      if (!r) return tl::unexpected(r.error());
      if (matches(filter, r->order)) out.push_back(std::move(*r));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return fail(rc, "scan orders");
    return out;
  }

  Status for_each_order(const std::function<bool(const VersionedOrder&)>& fn) override {
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.orders); rc != 0) return fail(rc, "open orders cursor");
    MDB_val k;
    MDB_val v;
    int rc = cursor.get(&k, &v, MDB_FIRST);
    for (; rc == 0; rc = cursor.get(&k, &v, MDB_NEXT)) {
      Result<VersionedOrder> r = decode_order_at(as_view(k), v);
      if (!r) return tl::unexpected(r.error());
      if (!fn(*r)) return {};
    }
    if (rc != MDB_NOTFOUND) return fail(rc, "scan orders");
    return {};
  }

  Result<std::vector<StoredEvent>> events_after(std::uint64_t after_seq,
                                                std::size_t limit) override {
    std::vector<StoredEvent> out;
    if (limit == 0 || after_seq == std::numeric_limits<std::uint64_t>::max()) return out;
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.events); rc != 0) return fail(rc, "open events cursor");
    const std::string start = be64(after_seq + 1);
    MDB_val k = as_val(start);
    MDB_val v;
    int rc = cursor.get(&k, &v, MDB_SET_RANGE);
    for (; rc == 0 && out.size() < limit; rc = cursor.get(&k, &v, MDB_NEXT)) {
      Result<StoredEvent> e = decode_event_at(k, v);
      if (!e) return tl::unexpected(e.error());
      out.push_back(std::move(*e));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return fail(rc, "scan events");
    return out;
  }

  Result<std::uint64_t> last_event_seq() override { return meta_u64(kLastEventSeqKey); }

  Result<std::uint64_t> first_event_seq() override {
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.events); rc != 0) return fail(rc, "open events cursor");
    MDB_val k;
    MDB_val v;
    int rc = cursor.get(&k, &v, MDB_FIRST);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc != 0) return fail(rc, "first event");
    return event_seq_of(k);
  }

  Result<std::uint64_t> published_seq() override { return meta_u64(kPublishedSeqKey); }

  Result<std::optional<RetryEntry>> get_retry(std::string_view client_order_id) override {
    // No entry can exist under a key that schedule_retry refuses.
    if (!retry_id_error(client_order_id).empty()) return std::optional<RetryEntry>();
    MDB_val k = as_val(client_order_id);
    MDB_val v;
    int rc = mdb_get(txn_, dbis_.retries, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<RetryEntry>();
    if (rc != 0) return fail(rc, "get retry " + printable(client_order_id));
    Result<RetryEntry> r = decode_retry_at(client_order_id, v);
    if (!r) return tl::unexpected(r.error());
    return std::optional<RetryEntry>(std::move(*r));
  }

  Result<std::vector<RetryEntry>> due_retries(core::TimestampUs now_us,
                                              std::size_t limit) override {
    std::vector<RetryEntry> out;
    if (limit == 0) return out;
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.retries_due); rc != 0) {
      return fail(rc, "open retries_due cursor");
    }
    MDB_val k;
    MDB_val v;
    int rc = cursor.get(&k, &v, MDB_FIRST);
    for (; rc == 0 && out.size() < limit; rc = cursor.get(&k, &v, MDB_NEXT)) {
      Result<core::TimestampUs> due = due_of(as_view(k));
      if (!due) return tl::unexpected(due.error());
      if (*due > now_us) break;
      const std::string_view id = as_view(k).substr(8);
      MDB_val ek = as_val(id);
      MDB_val ev;
      int erc = mdb_get(txn_, dbis_.retries, &ek, &ev);
      if (erc == MDB_NOTFOUND) {
        return store_error(StoreErrc::kCorrupt,
                           "retries_due[" + printable_time_key(as_view(k)) + "]: no retries entry");
      }
      if (erc != 0) return fail(erc, "get retry " + printable(id));
      Result<RetryEntry> r = decode_retry_at(id, ev);
      if (!r) return tl::unexpected(r.error());
      if (r->due_us != *due) {
        return store_error(StoreErrc::kCorrupt, "retries_due[" + printable_time_key(as_view(k)) +
                                                    "]: retries entry is due at " +
                                                    std::to_string(r->due_us));
      }
      out.push_back(std::move(*r));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return fail(rc, "scan retries_due");
    return out;
  }

  Result<std::optional<core::TimestampUs>> next_retry_due() override {
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.retries_due); rc != 0) {
      return fail(rc, "open retries_due cursor");
    }
    MDB_val k;
    MDB_val v;
    int rc = cursor.get(&k, &v, MDB_FIRST);
    if (rc == MDB_NOTFOUND) return std::optional<core::TimestampUs>();
    if (rc != 0) return fail(rc, "first retries_due");
    Result<core::TimestampUs> due = due_of(as_view(k));
    if (!due) return tl::unexpected(due.error());
    return std::optional<core::TimestampUs>(*due);
  }

  Result<SessionState> get_session(std::string_view session_id) override {
    if (std::string why = session_id_error(session_id); !why.empty()) {
      return store_error(StoreErrc::kNotFound, "fix session: " + why);
    }
    MDB_val k = as_val(session_id);
    MDB_val v;
    int rc = mdb_get(txn_, dbis_.fix_sessions, &k, &v);
    if (rc == MDB_NOTFOUND) {
      return store_error(StoreErrc::kNotFound, "fix session " + printable(session_id));
    }
    if (rc != 0) return fail(rc, "get fix session " + printable(session_id));
    const std::string_view bytes = as_view(v);
    const std::string where = "fix_sessions[" + printable(session_id) + "]: ";
    if (bytes.size() != kSessionStateSize) {
      return store_error(StoreErrc::kCorrupt,
                         where + std::to_string(bytes.size()) + " bytes, not a session state");
    }
    SessionState st;
    st.next_sender = static_cast<std::int32_t>(*from_be32(bytes.substr(0, 4)));
    st.next_target = static_cast<std::int32_t>(*from_be32(bytes.substr(4, 4)));
    st.creation_us = static_cast<core::TimestampUs>(*from_be64(bytes.substr(8, 8)));
    if (std::string why = session_state_error(st); !why.empty()) {
      return store_error(StoreErrc::kCorrupt, where + why);
    }
    return st;
  }

  Result<std::vector<std::string>> get_session_messages(std::string_view session_id, int begin,
                                                        int end) override {
    std::vector<std::string> out;
    // No message can exist under a session id that put_session_message refuses.
    if (!session_id_error(session_id).empty()) return out;
    begin = std::max(begin, 1);
    if (end < begin) return out;
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.fix_messages); rc != 0) {
      return fail(rc, "open fix_messages cursor");
    }
    const std::string prefix = session_prefix(session_id);
    const std::string start = session_message_key(session_id, begin);
    MDB_val k = as_val(start);
    MDB_val v;
    int rc = cursor.get(&k, &v, MDB_SET_RANGE);
    for (; rc == 0; rc = cursor.get(&k, &v, MDB_NEXT)) {
      Result<std::optional<int>> seq = message_seq_of(prefix, as_view(k));
      if (!seq) return tl::unexpected(seq.error());
      if (!*seq || **seq > end) break;  // another session, or past the range
      out.emplace_back(as_view(v));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return fail(rc, "scan fix_messages");
    return out;
  }

  // The first LMDB failure seen in this transaction (not "not found"/"exists"). After one,
  // LMDB refuses the transaction, so a write function that ignored it must not succeed.
  const std::optional<StoreError>& poisoned() const { return poisoned_; }

 protected:
  tl::unexpected<StoreError> fail(int rc, std::string context) {
    StoreError e = lmdb_error(rc, path_ + ": " + context);
    if (!poisoned_) poisoned_ = e;
    return tl::unexpected(std::move(e));
  }

  Result<VersionedOrder> decode_order_at(std::string_view key, const MDB_val& v) {
    Result<VersionedOrder> r = codec::decode_order(as_view(v));
    if (!r) {
      return store_error(StoreErrc::kCorrupt,
                         "orders[" + printable(key) + "]: " + r.error().detail);
    }
    if (r->order.request.client_order_id != key) {
      return store_error(StoreErrc::kCorrupt, "orders[" + printable(key) + "]: record is for " +
                                                  printable(r->order.request.client_order_id));
    }
    return r;
  }

  std::size_t max_key_size() const {
    return static_cast<std::size_t>(mdb_env_get_maxkeysize(mdb_txn_env(txn_)));
  }

  // Empty when id can key a retry: the retries key is the id and the retries_due key is 8
  // bytes of due time plus the id, and both must fit LMDB's key size.
  std::string retry_id_error(std::string_view id) const {
    if (id.empty()) return "empty client_order_id";
    if (8 + id.size() > max_key_size()) {
      return "client_order_id of " + std::to_string(id.size()) + " bytes; a retry key holds " +
             std::to_string(max_key_size() - 8);
    }
    return {};
  }

  // Empty when id can key a FIX session: its fix_messages keys add '\0' and 4 bytes of seq.
  std::string session_id_error(std::string_view id) const {
    if (id.empty()) return "empty session id";
    if (id.find('\0') != std::string_view::npos) {
      return "session id \"" + printable(id) + "\" contains \\0";
    }
    if (id.size() + 5 > max_key_size()) {
      return "session id of " + std::to_string(id.size()) + " bytes; a session key holds " +
             std::to_string(max_key_size() - 5);
    }
    return {};
  }

  // The seq of a fix_messages key of the session with this prefix; nullopt when the key belongs
  // to another session; kCorrupt when it has the prefix but not 4 bytes of seq >= 1 after it.
  Result<std::optional<int>> message_seq_of(std::string_view prefix, std::string_view key) {
    if (key.substr(0, prefix.size()) != prefix) return std::optional<int>();
    std::optional<std::uint32_t> seq = from_be32(key.substr(prefix.size()));
    if (!seq || *seq == 0 || *seq > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) {
      return store_error(StoreErrc::kCorrupt,
                         "fix_messages[" + printable(key) + "]: not a session id and a seq");
    }
    return std::optional<int>(static_cast<int>(*seq));
  }

  // Meta integers (8-byte big-endian); absent is 0.
  Result<std::uint64_t> meta_u64(std::string_view name) {
    MDB_val k = as_val(name);
    MDB_val v;
    int rc = mdb_get(txn_, dbis_.meta, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc != 0) return fail(rc, "get meta " + std::string(name));
    std::optional<std::uint64_t> n = from_be64(as_view(v));
    if (!n) {
      return store_error(StoreErrc::kCorrupt, "meta[" + std::string(name) +
                                                  "]: " + std::to_string(v.mv_size) +
                                                  " bytes, not an 8-byte integer");
    }
    return *n;
  }

  Result<std::uint64_t> event_seq_of(const MDB_val& k) {
    std::optional<std::uint64_t> seq = from_be64(as_view(k));
    if (!seq || *seq == 0) {
      return store_error(StoreErrc::kCorrupt,
                         "events[" + printable(as_view(k)) + "]: key is not a sequence number");
    }
    return *seq;
  }

  Result<StoredEvent> decode_event_at(const MDB_val& k, const MDB_val& v) {
    Result<std::uint64_t> seq = event_seq_of(k);
    if (!seq) return tl::unexpected(seq.error());
    Result<StoredEvent> r = codec::decode_event(as_view(v));
    if (!r) {
      return store_error(StoreErrc::kCorrupt,
                         "events[" + std::to_string(*seq) + "]: " + r.error().detail);
    }
    if (r->seq != *seq) {
      return store_error(StoreErrc::kCorrupt, "events[" + std::to_string(*seq) +
                                                  "]: record is for seq " + std::to_string(r->seq));
    }
    return r;
  }

  Result<RetryEntry> decode_retry_at(std::string_view id, const MDB_val& v) {
    Result<RetryEntry> r = codec::decode_retry(as_view(v));
    if (!r) {
      return store_error(StoreErrc::kCorrupt,
                         "retries[" + printable(id) + "]: " + r.error().detail);
    }
    if (r->client_order_id != id) {
      return store_error(StoreErrc::kCorrupt, "retries[" + printable(id) + "]: record is for " +
                                                  printable(r->client_order_id));
    }
    return r;
  }

  // The due time of a retries_due key (8 bytes of time, then a non-empty id).
  Result<core::TimestampUs> due_of(std::string_view key) {
    std::optional<core::TimestampUs> t;
    if (key.size() > 8) t = time_from_bytes(key.substr(0, 8));
    if (!t) {
      return store_error(StoreErrc::kCorrupt,
                         "retries_due[" + printable(key) + "]: not a due time and an id");
    }
    return *t;
  }

  MDB_txn* txn_;
  const Dbis& dbis_;
  const std::string& path_;  // for error texts
  std::optional<StoreError> poisoned_;
};

using LmdbReadTxn = LmdbTxn<ReadTxn>;

class LmdbWriteTxn final : public LmdbTxn<WriteTxn> {
 public:
  using LmdbTxn<WriteTxn>::LmdbTxn;

  Status insert_order(const core::Order& order) override {
    const std::string& id = order.request.client_order_id;
    std::string bytes = codec::encode_order(VersionedOrder{order, 1});
    MDB_val k = as_val(id);
    MDB_val v = as_val(bytes);
    int rc = mdb_put(txn_, dbis_.orders, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      return store_error(StoreErrc::kAlreadyExists, "order " + printable(id) + " exists");
    }
    if (rc != 0) return fail(rc, "insert order " + printable(id));
    return {};
  }

  Result<std::uint64_t> update_order(const core::Order& order,
                                     std::uint64_t expected_version) override {
    const std::string& id = order.request.client_order_id;
    Result<VersionedOrder> current = get_order(id);
    if (!current) return tl::unexpected(current.error());
    if (current->version != expected_version) {
      return store_error(StoreErrc::kVersionConflict, "order " + printable(id) + " is at version " +
                                                          std::to_string(current->version) +
                                                          ", expected " +
                                                          std::to_string(expected_version));
    }
    std::uint64_t next = expected_version + 1;
    std::string bytes = codec::encode_order(VersionedOrder{order, next});
    MDB_val k = as_val(id);
    MDB_val v = as_val(bytes);
    if (int rc = mdb_put(txn_, dbis_.orders, &k, &v, 0); rc != 0) {
      return fail(rc, "update order " + printable(id));
    }
    return next;
  }

  // An upsert: a broker may keep its OrderID across a cancel/replace chain, and the latest
  // client order id is the one to find.
  Status put_broker_order_id(std::string_view broker, std::string_view broker_order_id,
                             std::string_view client_order_id) override {
    Result<std::string> key = broker_key(broker, broker_order_id);
    if (!key) return tl::unexpected(key.error());
    MDB_val k = as_val(*key);
    MDB_val v = as_val(client_order_id);
    if (int rc = mdb_put(txn_, dbis_.broker_ids, &k, &v, 0); rc != 0) {
      return fail(rc, "put broker order id " + printable(*key));
    }
    return {};
  }

  Status insert_cancel(const CancelRecord& record) override {
    std::string bytes = codec::encode_cancel(record);
    MDB_val k = as_val(record.client_cancel_id);
    MDB_val v = as_val(bytes);
    int rc = mdb_put(txn_, dbis_.cancels, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      return store_error(StoreErrc::kAlreadyExists,
                         "cancel " + printable(record.client_cancel_id) + " exists");
    }
    if (rc != 0) return fail(rc, "insert cancel " + printable(record.client_cancel_id));
    return {};
  }

  // Two puts: exec_seen (the key, with its first-seen time) and exec_seen_by_time (time + key),
  // the index compact() walks from its oldest end.
  Status mark_exec_seen(std::string_view broker, std::string_view exec_id,
                        core::TimestampUs seen_at_us) override {
    Result<std::string> key = broker_key(broker, exec_id);
    if (!key) return tl::unexpected(key.error());
    const std::string index = time_key(seen_at_us, *key);
    if (index.size() > max_key_size()) {
      return store_error(StoreErrc::kAborted,
                         "exec " + printable(*key) + ": key of " + std::to_string(key->size()) +
                             " bytes; an exec key holds " + std::to_string(max_key_size() - 8));
    }
    const std::string seen = time_bytes(seen_at_us);
    MDB_val k = as_val(*key);
    MDB_val v = as_val(seen);
    int rc = mdb_put(txn_, dbis_.exec_seen, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      return store_error(StoreErrc::kAlreadyExists, "exec " + printable(*key) + " already seen");
    }
    if (rc != 0) return fail(rc, "mark exec seen " + printable(*key));
    MDB_val ik = as_val(index);
    MDB_val empty{0, nullptr};
    if (rc = mdb_put(txn_, dbis_.exec_seen_by_time, &ik, &empty, 0); rc != 0) {
      return fail(rc, "index exec seen " + printable(*key));
    }
    return {};
  }

  // The sequence lives in meta, not in the last key of events: compaction may empty the table
  // and the next event must still get last + 1. A failing write function aborts its nested
  // transaction, meta included, so its seq is handed out again: the sequence stays gap-free.
  Result<std::uint64_t> append_event(const StoredEvent& event) override {
    Result<std::uint64_t> last = last_event_seq();
    if (!last) return tl::unexpected(last.error());
    if (*last == std::numeric_limits<std::uint64_t>::max()) {
      return store_error(StoreErrc::kAborted, "event sequence exhausted");
    }
    StoredEvent record = event;
    record.seq = *last + 1;
    const std::string key = be64(record.seq);
    const std::string bytes = codec::encode_event(record);
    MDB_val k = as_val(key);
    MDB_val v = as_val(bytes);
    // MDB_APPEND: keys only grow, so pages fill completely; a key at or below the last one
    // means events and meta disagree.
    int rc = mdb_put(txn_, dbis_.events, &k, &v, MDB_APPEND);
    if (rc == MDB_KEYEXIST) {
      return store_error(StoreErrc::kCorrupt,
                         "events: an event at or after seq " + std::to_string(record.seq) +
                             " exists, but meta[last_event_seq] is " + std::to_string(*last));
    }
    if (rc != 0) return fail(rc, "append event " + std::to_string(record.seq));
    if (Status s = put_meta_u64(kLastEventSeqKey, record.seq); !s) {
      return tl::unexpected(s.error());
    }
    return record.seq;
  }

  Status set_published_seq(std::uint64_t seq) override {
    Result<std::uint64_t> last = last_event_seq();
    if (!last) return tl::unexpected(last.error());
    if (seq > *last) {
      return store_error(StoreErrc::kAborted, "published_seq " + std::to_string(seq) +
                                                  " is beyond last_event_seq " +
                                                  std::to_string(*last));
    }
    Result<std::uint64_t> current = published_seq();
    if (!current) return tl::unexpected(current.error());
    if (seq <= *current) return {};  // a late or repeated delivery report: the cursor stays
    return put_meta_u64(kPublishedSeqKey, seq);
  }

  // Events go from the oldest end and stop at the first one that must stay (unpublished or
  // recent), so the retained events are always the contiguous range first..last. Then dedup
  // keys, oldest first through exec_seen_by_time. Every loop takes the first key afresh: what
  // it deletes is always the front of its table.
  Result<CompactionStats> compact(core::TimestampUs events_before_us,
                                  core::TimestampUs dedup_before_us,
                                  std::size_t max_items) override {
    CompactionStats stats;
    std::size_t budget = max_items;
    Result<std::uint64_t> published = published_seq();
    if (!published) return tl::unexpected(published.error());

    Cursor events;
    if (int rc = events.open(txn_, dbis_.events); rc != 0) return fail(rc, "open events cursor");
    for (;;) {
      MDB_val k;
      MDB_val v;
      int rc = events.get(&k, &v, MDB_FIRST);
      if (rc == MDB_NOTFOUND) break;
      if (rc != 0) return fail(rc, "first event");
      Result<StoredEvent> e = decode_event_at(k, v);
      if (!e) return tl::unexpected(e.error());
      if (e->seq > *published || e->at_us >= events_before_us) break;
      if (budget == 0) {
        stats.more = true;
        return stats;
      }
      if (rc = events.del(); rc != 0) return fail(rc, "delete event " + std::to_string(e->seq));
      ++stats.events_deleted;
      --budget;
    }

    Cursor index;
    if (int rc = index.open(txn_, dbis_.exec_seen_by_time); rc != 0) {
      return fail(rc, "open exec_seen_by_time cursor");
    }
    for (;;) {
      MDB_val k;
      MDB_val v;
      int rc = index.get(&k, &v, MDB_FIRST);
      if (rc == MDB_NOTFOUND) break;
      if (rc != 0) return fail(rc, "first exec_seen_by_time");
      const std::string index_key(as_view(k));  // copied: the page changes on delete
      std::optional<core::TimestampUs> seen_at;
      if (index_key.size() > 8) seen_at = time_from_bytes(std::string_view(index_key).substr(0, 8));
      if (!seen_at) {
        return store_error(StoreErrc::kCorrupt, "exec_seen_by_time[" + printable(index_key) +
                                                    "]: not a time and an exec key");
      }
      if (*seen_at >= dedup_before_us) break;
      if (budget == 0) {
        stats.more = true;
        return stats;
      }
      // The index entry and its exec_seen entry are written and deleted together; one without
      // the other is corruption, not something to paper over.
      const std::string exec_key = index_key.substr(8);
      MDB_val ek = as_val(exec_key);
      MDB_val ev;
      int erc = mdb_get(txn_, dbis_.exec_seen, &ek, &ev);
      if (erc != 0 && erc != MDB_NOTFOUND) return fail(erc, "get exec_seen " + printable(exec_key));
      if (erc == MDB_NOTFOUND || time_from_bytes(as_view(ev)) != seen_at) {
        return store_error(StoreErrc::kCorrupt, "exec_seen_by_time[" +
                                                    printable_time_key(index_key) +
                                                    "]: exec_seen has no entry seen at that time");
      }
      if (rc = index.del(); rc != 0) return fail(rc, "delete exec_seen_by_time entry");
      if (rc = mdb_del(txn_, dbis_.exec_seen, &ek, nullptr); rc != 0) {
        return fail(rc, "delete exec_seen " + printable(exec_key));
      }
      ++stats.dedup_keys_deleted;
      --budget;
    }
    return stats;
  }

  Status schedule_retry(const RetryEntry& entry) override {
    const std::string& id = entry.client_order_id;
    if (std::string why = retry_id_error(id); !why.empty()) {
      return store_error(StoreErrc::kAborted, "schedule retry: " + why);
    }
    if (Status s = drop_retry(id); !s) return s;
    const std::string bytes = codec::encode_retry(entry);
    MDB_val k = as_val(id);
    MDB_val v = as_val(bytes);
    if (int rc = mdb_put(txn_, dbis_.retries, &k, &v, 0); rc != 0) {
      return fail(rc, "schedule retry " + printable(id));
    }
    const std::string due_key = time_key(entry.due_us, id);
    MDB_val dk = as_val(due_key);
    MDB_val empty{0, nullptr};
    if (int rc = mdb_put(txn_, dbis_.retries_due, &dk, &empty, 0); rc != 0) {
      return fail(rc, "index retry " + printable(id));
    }
    return {};
  }

  Status cancel_retry(std::string_view client_order_id) override {
    return drop_retry(client_order_id);
  }

  Status put_session(std::string_view session_id, const SessionState& state) override {
    if (std::string why = session_id_error(session_id); !why.empty()) {
      return store_error(StoreErrc::kAborted, "put fix session: " + why);
    }
    if (std::string why = session_state_error(state); !why.empty()) {
      return store_error(StoreErrc::kAborted,
                         "put fix session " + printable(session_id) + ": " + why);
    }
    const std::string bytes = encode_session_state(state);
    MDB_val k = as_val(session_id);
    MDB_val v = as_val(bytes);
    if (int rc = mdb_put(txn_, dbis_.fix_sessions, &k, &v, 0); rc != 0) {
      return fail(rc, "put fix session " + printable(session_id));
    }
    return {};
  }

  Status put_session_message(std::string_view session_id, int seq,
                             std::string_view message) override {
    if (std::string why = session_id_error(session_id); !why.empty()) {
      return store_error(StoreErrc::kAborted, "put fix message: " + why);
    }
    if (seq < 1) {
      return store_error(StoreErrc::kAborted, "put fix message " + printable(session_id) +
                                                  ": seq " + std::to_string(seq) + " < 1");
    }
    const std::string key = session_message_key(session_id, seq);
    MDB_val k = as_val(key);
    MDB_val v = as_val(message);
    if (int rc = mdb_put(txn_, dbis_.fix_messages, &k, &v, 0); rc != 0) {
      return fail(rc, "put fix message " + printable(session_id) + " " + std::to_string(seq));
    }
    return {};
  }

  Result<std::size_t> trim_session_messages(std::string_view session_id, int below_seq,
                                            std::size_t max_items) override {
    if (!session_id_error(session_id).empty()) return std::size_t{0};
    return delete_session_messages(session_id, below_seq, max_items);
  }

  Status reset_session(std::string_view session_id, core::TimestampUs creation_us) override {
    if (std::string why = session_id_error(session_id); !why.empty()) {
      return store_error(StoreErrc::kAborted, "reset fix session: " + why);
    }
    Result<std::size_t> deleted =
        delete_session_messages(session_id, std::numeric_limits<std::int64_t>::max(),
                                std::numeric_limits<std::size_t>::max());
    if (!deleted) return tl::unexpected(deleted.error());
    return put_session(session_id, SessionState{1, 1, creation_us});
  }

 private:
  Status put_meta_u64(std::string_view name, std::uint64_t value) {
    const std::string bytes = be64(value);
    MDB_val k = as_val(name);
    MDB_val v = as_val(bytes);
    if (int rc = mdb_put(txn_, dbis_.meta, &k, &v, 0); rc != 0) {
      return fail(rc, "put meta " + std::string(name));
    }
    return {};
  }

  // Deletes the session's messages with seq < below_seq, oldest first, at most max_items.
  // Every round takes the session's first key afresh: what it deletes is always the front.
  Result<std::size_t> delete_session_messages(std::string_view session_id, std::int64_t below_seq,
                                              std::size_t max_items) {
    const std::string prefix = session_prefix(session_id);
    Cursor cursor;
    if (int rc = cursor.open(txn_, dbis_.fix_messages); rc != 0) {
      return fail(rc, "open fix_messages cursor");
    }
    std::size_t deleted = 0;
    while (deleted < max_items) {
      MDB_val k = as_val(prefix);
      MDB_val v;
      int rc = cursor.get(&k, &v, MDB_SET_RANGE);
      if (rc == MDB_NOTFOUND) break;
      if (rc != 0) return fail(rc, "first fix message of " + printable(session_id));
      Result<std::optional<int>> seq = message_seq_of(prefix, as_view(k));
      if (!seq) return tl::unexpected(seq.error());
      if (!*seq || **seq >= below_seq) break;
      if (rc = cursor.del(); rc != 0) {
        return fail(rc,
                    "delete fix message " + printable(session_id) + " " + std::to_string(**seq));
      }
      ++deleted;
    }
    return deleted;
  }

  // Deletes the order's retry entry and its due index key; nothing to do when it has none.
  Status drop_retry(std::string_view id) {
    Result<std::optional<RetryEntry>> old = get_retry(id);
    if (!old) return tl::unexpected(old.error());
    if (!*old) return {};
    const std::string due_key = time_key((*old)->due_us, id);
    MDB_val dk = as_val(due_key);
    int rc = mdb_del(txn_, dbis_.retries_due, &dk, nullptr);
    if (rc == MDB_NOTFOUND) {
      return store_error(StoreErrc::kCorrupt, "retries[" + printable(id) + "]: no retries_due[" +
                                                  printable_time_key(due_key) + "]");
    }
    if (rc != 0) return fail(rc, "unindex retry " + printable(id));
    MDB_val k = as_val(id);
    if (rc = mdb_del(txn_, dbis_.retries, &k, nullptr); rc != 0) {
      return fail(rc, "delete retry " + printable(id));
    }
    return {};
  }
};

class LmdbStore final : public Store {
 public:
  LmdbStore(MDB_env* env, const Dbis& dbis, std::string path, std::size_t max_batch)
      : env_(env),
        dbis_(dbis),
        path_(std::move(path)),
        max_batch_(std::max<std::size_t>(1, max_batch)) {
    committer_ = std::thread([this] { run_committer(); });
  }

  ~LmdbStore() override { close(); }

  // Any thread. After close(), `done` runs at once in the caller's thread.
  void submit(WriteFn fn, DoneFn done) override {
    {
      std::lock_guard lock(queue_mu_);
      if (!closing_) {
        queue_.push_back(Item{std::move(fn), std::move(done)});
        queue_cv_.notify_one();
        return;
      }
    }
    if (done) done(store_error(StoreErrc::kShuttingDown, path_ + ": store is closed"));
  }

  // Any thread, on its own snapshot. fn must not call close() (close waits for readers).
  Status read(const std::function<Status(ReadTxn&)>& fn) override {
    // Announce the reader before checking the flag; close() sets the flag before waiting for
    // the count. With seq_cst, one of the two sees the other.
    active_reads_.fetch_add(1);
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { n.fetch_sub(1); }
    } leave{active_reads_};
    if (reads_closed_.load()) {
      return store_error(StoreErrc::kShuttingDown, path_ + ": store is closed");
    }
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path_ + ": begin read transaction"));
    }
    struct Abort {
      MDB_txn* txn;
      ~Abort() { mdb_txn_abort(txn); }
    } abort_txn{txn};
    LmdbReadTxn t(txn, dbis_, path_);
    return fn(t);
  }

  StoreStats stats() const override {
    StoreStats s;
    s.commits = commits_.load(std::memory_order_relaxed);
    s.writes = writes_.load(std::memory_order_relaxed);
    s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    s.max_batch = max_batch_seen_.load(std::memory_order_relaxed);
    return s;
  }

  // Any thread but the committer (a `done` callback cannot wait for its own thread).
  // Idempotent; concurrent callers all return after the store is closed.
  void close() override {
    std::lock_guard close_lock(close_mu_);
    if (env_ == nullptr) return;
    if (std::this_thread::get_id() == committer_.get_id()) {
      std::fprintf(stderr, "brokergw store %s: close() called from a done callback\n",
                   path_.c_str());
      std::abort();
    }
    {
      std::lock_guard lock(queue_mu_);
      closing_ = true;
    }
    queue_cv_.notify_all();
    committer_.join();
    reads_closed_.store(true);
    while (active_reads_.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    mdb_env_close(env_);
    env_ = nullptr;
  }

 private:
  struct Item {
    WriteFn fn;
    DoneFn done;
  };

  // Committer thread.
  void run_committer() {
    std::vector<Item> batch;
    batch.reserve(std::min<std::size_t>(max_batch_, 4096));
    for (;;) {
      {
        std::unique_lock lock(queue_mu_);
        queue_cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;  // closing, and everything queued before it is done
        std::size_t n = std::min(max_batch_, queue_.size());
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      commit_batch(batch);
      batch.clear();
    }
  }

  // Committer thread: one synced commit for the whole batch, then every callback.
  void commit_batch(std::vector<Item>& batch) {
    std::vector<Status> results(batch.size());
    MDB_txn* parent = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &parent); rc != 0) {
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      StoreError e = lmdb_error(rc, path_ + ": begin write transaction");
      for (Status& r : results) r = tl::unexpected(e);
    } else {
      writes_.fetch_add(batch.size(), std::memory_order_relaxed);
      std::uint64_t seen = max_batch_seen_.load(std::memory_order_relaxed);
      if (batch.size() > seen) max_batch_seen_.store(batch.size(), std::memory_order_relaxed);

      std::size_t succeeded = 0;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        results[i] = run_nested(parent, batch[i].fn);
        if (results[i]) ++succeeded;
      }
      if (succeeded == 0) {
        mdb_txn_abort(parent);  // nothing to make durable; spare the fsync
      } else if (int rc = mdb_txn_commit(parent); rc != 0) {
        failed_commits_.fetch_add(1, std::memory_order_relaxed);
        StoreError e = lmdb_error(rc, path_ + ": commit");
        for (Status& r : results) {
          if (r) r = tl::unexpected(e);
        }
      } else {
        commits_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(std::move(results[i]));
    }
  }

  // Committer thread: fn in its own nested transaction; its failure undoes only its writes.
  Status run_nested(MDB_txn* parent, const WriteFn& fn) {
    MDB_txn* child = nullptr;
    if (int rc = mdb_txn_begin(env_, parent, 0, &child); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path_ + ": begin nested transaction"));
    }
    LmdbWriteTxn txn(child, dbis_, path_);
    Status s;
    try {
      s = fn ? fn(txn) : Status{};
    } catch (const std::exception& e) {
      s = store_error(StoreErrc::kAborted, std::string("write function threw: ") + e.what());
    } catch (...) {
      s = store_error(StoreErrc::kAborted, "write function threw");
    }
    if (s && txn.poisoned()) s = tl::unexpected(*txn.poisoned());
    if (!s) {
      mdb_txn_abort(child);
      return s;
    }
    if (int rc = mdb_txn_commit(child); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path_ + ": commit nested transaction"));
    }
    return s;
  }

  MDB_env* env_;  // null once closed; guarded by close_mu_ for close()
  const Dbis dbis_;
  const std::string path_;
  const std::size_t max_batch_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;  // guarded by queue_mu_
  bool closing_ = false;    // guarded by queue_mu_
  std::thread committer_;

  std::mutex close_mu_;
  std::atomic<int> active_reads_{0};
  std::atomic<bool> reads_closed_{false};

  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> failed_commits_{0};
  std::atomic<std::uint64_t> max_batch_seen_{0};  // written by the committer only
};

Status ensure_directory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return store_error(StoreErrc::kIo, dir + ": exists and is not a directory");
    }
    return {};
  }
  if (errno != ENOENT) {
    return store_error(StoreErrc::kIo, dir + ": stat: " + std::strerror(errno));
  }
  std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return store_error(StoreErrc::kIo, parent.string() + ": create directory: " + ec.message());
    }
  }
  // 0700: the store holds client orders; nobody but the service user reads it.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return store_error(StoreErrc::kIo, dir + ": create directory: " + std::strerror(errno));
  }
  return {};
}

// Opens the tables and checks the schema version, in one write transaction.
Result<Dbis> open_tables(MDB_env* env, const std::string& path) {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0) {
    return tl::unexpected(lmdb_error(rc, path + ": begin transaction"));
  }
  Dbis d;
  const std::pair<const char*, MDB_dbi*> tables[] = {{"orders", &d.orders},
                                                     {"broker_ids", &d.broker_ids},
                                                     {"cancels", &d.cancels},
                                                     {"exec_seen", &d.exec_seen},
                                                     {"exec_seen_by_time", &d.exec_seen_by_time},
                                                     {"events", &d.events},
                                                     {"retries", &d.retries},
                                                     {"retries_due", &d.retries_due},
                                                     {"meta", &d.meta},
                                                     {"fix_sessions", &d.fix_sessions},
                                                     {"fix_messages", &d.fix_messages}};
  for (const auto& [name, dbi] : tables) {
    if (int rc = mdb_dbi_open(txn, name, MDB_CREATE, dbi); rc != 0) {
      mdb_txn_abort(txn);
      return tl::unexpected(lmdb_error(rc, path + ": open table " + name));
    }
  }
  MDB_val k = as_val(kSchemaKey);
  MDB_val v;
  int rc = mdb_get(txn, d.meta, &k, &v);
  if (rc == MDB_NOTFOUND) {
    v = as_val(kSchemaVersion);
    rc = mdb_put(txn, d.meta, &k, &v, 0);
  } else if (rc == 0 && as_view(v) != kSchemaVersion) {
    mdb_txn_abort(txn);
    return store_error(StoreErrc::kCorrupt, path + ": schema version " + printable(as_view(v)) +
                                                ", this build reads " +
                                                std::string(kSchemaVersion));
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return tl::unexpected(lmdb_error(rc, path + ": schema version"));
  }
  if (rc = mdb_txn_commit(txn); rc != 0) {
    return tl::unexpected(lmdb_error(rc, path + ": commit table creation"));
  }
  return d;
}

}  // namespace

Result<std::unique_ptr<Store>> open_lmdb_store(const LmdbOptions& options) {
  const std::string& path = options.directory;
  if (path.empty()) return store_error(StoreErrc::kIo, "store directory not set");
  if (Status s = ensure_directory(path); !s) return tl::unexpected(s.error());

  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env); rc != 0) {
    return tl::unexpected(lmdb_error(rc, path + ": create LMDB environment"));
  }
  auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::uint64_t map_size = (options.map_size_bytes + page - 1) / page * page;
  int rc = mdb_env_set_maxdbs(env, kMaxDbs);
  if (rc == 0) rc = mdb_env_set_maxreaders(env, kMaxReaders);
  if (rc == 0) rc = mdb_env_set_mapsize(env, static_cast<std::size_t>(map_size));
  // MDB_NOTLS: read transactions are not tied to threads. No MDB_NOSYNC, MDB_NOMETASYNC or
  // MDB_MAPASYNC: a commit returns only once it is on disk.
  if (rc == 0) rc = mdb_env_open(env, path.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) {
    mdb_env_close(env);
    return tl::unexpected(lmdb_error(rc, path + ": open LMDB environment"));
  }
  // A killed process leaves its reader slots behind; free them so they pin no old pages.
  int dead = 0;
  mdb_reader_check(env, &dead);

  Result<Dbis> dbis = open_tables(env, path);
  if (!dbis) {
    mdb_env_close(env);
    return tl::unexpected(dbis.error());
  }
  return std::unique_ptr<Store>(new LmdbStore(env, *dbis, path, options.max_batch));
}

}  // namespace brokergw::store
