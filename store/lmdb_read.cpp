// The read operations of the LMDB store (LmdbTxn, store/lmdb_internal.h), shared by read-only
// and nested write transactions.
#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "store/lmdb_internal.h"
#include "store/order_codec.h"

namespace brokergw::store::lmdb {
template <class Base>
tl::unexpected<StoreError> LmdbTxn<Base>::fail(int rc, std::string context) {
  StoreError e = lmdb_error(rc, path_ + ": " + context);
  if (!poisoned_) poisoned_ = e;
  return tl::unexpected(std::move(e));
}

template <class Base>
Result<std::optional<std::string_view>> LmdbTxn<Base>::lookup(MDB_dbi dbi, std::string_view key,
                                                              std::string_view what) {
  MDB_val k = as_val(key);
  MDB_val v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return fail(rc, "get " + std::string(what) + " " + printable(key));
  return std::optional<std::string_view>(as_view(v));
}

template <class Base>
Result<VersionedOrder> LmdbTxn<Base>::get_order(std::string_view client_order_id) {
  auto v = lookup(dbis_.orders, client_order_id, "order");
  if (!v) return tl::unexpected(v.error());
  if (!*v) return store_error(StoreErrc::kNotFound, "order " + printable(client_order_id));
  return decode_order_at(client_order_id, **v);
}

template <class Base>
Result<std::string> LmdbTxn<Base>::find_by_broker_order_id(std::string_view broker,
                                                           std::string_view broker_order_id) {
  Result<std::string> key = broker_key(broker, broker_order_id);
  if (!key) return tl::unexpected(key.error());
  auto v = lookup(dbis_.broker_ids, *key, "broker order id");
  if (!v) return tl::unexpected(v.error());
  if (!*v) return store_error(StoreErrc::kNotFound, "broker order id " + printable(*key));
  return std::string(**v);
}

template <class Base>
Result<CancelRecord> LmdbTxn<Base>::get_cancel(std::string_view client_cancel_id) {
  auto v = lookup(dbis_.cancels, client_cancel_id, "cancel");
  if (!v) return tl::unexpected(v.error());
  if (!*v) return store_error(StoreErrc::kNotFound, "cancel " + printable(client_cancel_id));
  Result<CancelRecord> r = codec::decode_cancel(**v);
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

// The value is the 8-byte first-seen time, then the record (codec::encode_exec); a legacy
// record (broker '\0' exec_id, from before content was kept) is the time alone.
template <class Base>
Result<std::optional<ExecRecord>> LmdbTxn<Base>::find_exec(std::string_view broker,
                                                           std::string_view client_order_id,
                                                           std::string_view exec_id) {
  Result<std::string> key = keys::exec_key(broker, client_order_id, exec_id);
  if (!key) return tl::unexpected(key.error());
  auto v = lookup(dbis_.exec_seen, *key, "exec_seen");
  if (!v) return tl::unexpected(v.error());
  if (*v) {
    std::optional<core::TimestampUs> seen = time_from_bytes(std::string_view(**v).substr(0, 8));
    auto record =
        codec::decode_exec(std::string_view(**v).substr(std::min<std::size_t>(8, (*v)->size())));
    if (!seen || !record) {
      return store_error(StoreErrc::kCorrupt,
                         "exec_seen[" + printable(*key) + "]: " +
                             (record ? std::string("no first-seen time") : record.error().detail));
    }
    record->seen_us = *seen;
    return std::optional<ExecRecord>(std::move(*record));
  }
  Result<std::string> legacy = broker_key(broker, exec_id);
  if (!legacy) return tl::unexpected(legacy.error());
  auto old = lookup(dbis_.exec_seen, *legacy, "exec_seen");
  if (!old) return tl::unexpected(old.error());
  if (!*old) return std::optional<ExecRecord>();
  ExecRecord record;
  record.legacy = true;
  record.seen_us = time_from_bytes(**old).value_or(0);
  return std::optional<ExecRecord>(std::move(record));
}

template <class Base>
Result<std::vector<VersionedOrder>> LmdbTxn<Base>::list_orders(const OrderFilter& filter,
                                                               std::string_view after,
                                                               std::size_t limit) {
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
    std::string_view start = after.substr(0, max_key_size());
    k = as_val(start);
    rc = cursor.get(&k, &v, MDB_SET_RANGE);
    if (rc == 0 && as_view(k) == start) rc = cursor.get(&k, &v, MDB_NEXT);
  }
  for (; rc == 0 && out.size() < limit; rc = cursor.get(&k, &v, MDB_NEXT)) {
    Result<VersionedOrder> r = decode_order_at(as_view(k), as_view(v));
    if (!r) return tl::unexpected(r.error());
    if (keys::matches(filter, r->order)) out.push_back(std::move(*r));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return fail(rc, "scan orders");
  return out;
}

template <class Base>
Status LmdbTxn<Base>::for_each_order(const std::function<bool(const VersionedOrder&)>& fn) {
  Cursor cursor;
  if (int rc = cursor.open(txn_, dbis_.orders); rc != 0) return fail(rc, "open orders cursor");
  MDB_val k;
  MDB_val v;
  int rc = cursor.get(&k, &v, MDB_FIRST);
  for (; rc == 0; rc = cursor.get(&k, &v, MDB_NEXT)) {
    Result<VersionedOrder> r = decode_order_at(as_view(k), as_view(v));
    if (!r) return tl::unexpected(r.error());
    if (!fn(*r)) return {};
  }
  if (rc != MDB_NOTFOUND) return fail(rc, "scan orders");
  return {};
}

// Every step seeks afresh from the last visited key (copied), so fn may write in the same
// transaction (even end the order it was handed) without invalidating the walk.
template <class Base>
Status LmdbTxn<Base>::for_each_open_order(std::string_view broker, std::string_view after,
                                          const std::function<bool(const VersionedOrder&)>& fn) {
  const std::size_t max_key = max_key_size();
  std::string pos;  // seek target; empty: the first key
  bool skip_equal = false;
  if (!broker.empty()) {
    // No key can exist under a broker name that the order writes refuse.
    if (!broker_name_error(broker).empty() || broker.size() + 1 > max_key) return {};
    pos.assign(broker).push_back('\0');
    // A longer `after` can be cut to what fits (see list_orders).
    pos.append(after.substr(0, max_key - pos.size()));
    skip_equal = !after.empty();
  }
  Cursor cursor;
  if (int rc = cursor.open(txn_, dbis_.open_orders); rc != 0) {
    return fail(rc, "open open_orders cursor");
  }
  for (;;) {
    MDB_val k;
    MDB_val v;
    int rc;
    if (pos.empty()) {
      rc = cursor.get(&k, &v, MDB_FIRST);
    } else {
      k = as_val(pos);
      rc = cursor.get(&k, &v, MDB_SET_RANGE);
      if (rc == 0 && skip_equal && as_view(k) == pos) rc = cursor.get(&k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) return {};
    if (rc != 0) return fail(rc, "scan open_orders");
    const std::string key(as_view(k));
    const std::size_t nul = key.find('\0');
    if (nul == std::string::npos || nul == 0 || nul + 1 == key.size()) {
      return store_error(StoreErrc::kCorrupt,
                         "open_orders[" + printable(key) + "]: not a broker and an id");
    }
    const std::string_view b = std::string_view(key).substr(0, nul);
    const std::string_view id = std::string_view(key).substr(nul + 1);
    if (!broker.empty() && b != broker) return {};
    if (!after.empty() && id <= after) {
      // Every broker: the first key of a broker; go to its first id after `after`.
      pos.assign(b).push_back('\0');
      pos.append(after.substr(0, max_key - pos.size()));
      skip_equal = true;
      continue;
    }
    auto bytes = lookup(dbis_.orders, id, "order");
    if (!bytes) return tl::unexpected(bytes.error());
    if (!*bytes) {
      return store_error(StoreErrc::kCorrupt, "open_orders[" + printable(key) + "]: no order");
    }
    Result<VersionedOrder> r = decode_order_at(id, **bytes);
    if (!r) return tl::unexpected(r.error());
    if (r->order.request.broker != b || core::is_terminal(r->order.state)) {
      return store_error(StoreErrc::kCorrupt, "open_orders[" + printable(key) + "]: order is " +
                                                  std::string(core::to_string(r->order.state)) +
                                                  " at broker " +
                                                  printable(r->order.request.broker));
    }
    if (!fn(*r)) return {};
    pos = key;
    skip_equal = true;
  }
}

// Every broker: the table's entry count (mdb_stat, O(1)); one broker: its meta count (one
// lookup).
template <class Base>
Result<std::size_t> LmdbTxn<Base>::count_open_orders(std::string_view broker) {
  if (broker.empty()) {
    MDB_stat st;
    if (int rc = mdb_stat(txn_, dbis_.open_orders, &st); rc != 0) {
      return fail(rc, "stat open_orders");
    }
    return static_cast<std::size_t>(st.ms_entries);
  }
  if (!broker_name_error(broker).empty()) return std::size_t{0};
  std::string name(kOpenCountPrefix);
  name.append(broker);
  if (name.size() > max_key_size()) return std::size_t{0};
  Result<std::uint64_t> n = meta_u64(name);
  if (!n) return tl::unexpected(n.error());
  return static_cast<std::size_t>(*n);
}

template <class Base>
Result<std::vector<StoredEvent>> LmdbTxn<Base>::events_after(std::uint64_t after_seq,
                                                             std::size_t limit) {
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

template <class Base>
Result<std::uint64_t> LmdbTxn<Base>::first_event_seq() {
  Cursor cursor;
  if (int rc = cursor.open(txn_, dbis_.events); rc != 0) return fail(rc, "open events cursor");
  MDB_val k;
  MDB_val v;
  int rc = cursor.get(&k, &v, MDB_FIRST);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) return fail(rc, "first event");
  return event_seq_of(k);
}

template <class Base>
Result<std::optional<RetryEntry>> LmdbTxn<Base>::get_retry(std::string_view client_order_id) {
  // No entry can exist under a key that schedule_retry refuses.
  if (!retry_id_error(client_order_id).empty()) return std::optional<RetryEntry>();
  auto v = lookup(dbis_.retries, client_order_id, "retry");
  if (!v) return tl::unexpected(v.error());
  if (!*v) return std::optional<RetryEntry>();
  Result<RetryEntry> r = decode_retry_at(client_order_id, **v);
  if (!r) return tl::unexpected(r.error());
  return std::optional<RetryEntry>(std::move(*r));
}

// kNeverDue keys sort after every real time; the walk stops at the first one.
template <class Base>
Result<std::vector<RetryEntry>> LmdbTxn<Base>::due_retries(core::TimestampUs now_us,
                                                           std::size_t limit) {
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
    if (*due > now_us || *due == core::kNeverDue) break;
    const std::string_view id = as_view(k).substr(8);
    auto bytes = lookup(dbis_.retries, id, "retry");
    if (!bytes) return tl::unexpected(bytes.error());
    if (!*bytes) {
      return store_error(StoreErrc::kCorrupt,
                         "retries_due[" + printable_time_key(as_view(k)) + "]: no retries entry");
    }
    Result<RetryEntry> r = decode_retry_at(id, **bytes);
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

template <class Base>
Result<std::optional<core::TimestampUs>> LmdbTxn<Base>::next_retry_due() {
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
  // The first key never due: every later one is never due too.
  if (*due == core::kNeverDue) return std::optional<core::TimestampUs>();
  return std::optional<core::TimestampUs>(*due);
}

template <class Base>
Result<SessionState> LmdbTxn<Base>::get_session(std::string_view session_id) {
  if (std::string why = session_id_error(session_id); !why.empty()) {
    return store_error(StoreErrc::kNotFound, "fix session: " + why);
  }
  auto v = lookup(dbis_.fix_sessions, session_id, "fix session");
  if (!v) return tl::unexpected(v.error());
  if (!*v) return store_error(StoreErrc::kNotFound, "fix session " + printable(session_id));
  const std::string_view bytes = **v;
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

template <class Base>
Result<std::vector<std::string>> LmdbTxn<Base>::get_session_messages(std::string_view session_id,
                                                                     int begin, int end) {
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

// ---- record checks ---------------------------------------------------------------------------

template <class Base>
Result<VersionedOrder> LmdbTxn<Base>::decode_order_at(std::string_view key,
                                                      std::string_view bytes) {
  Result<VersionedOrder> r = codec::decode_order(bytes);
  if (!r) {
    return store_error(StoreErrc::kCorrupt, "orders[" + printable(key) + "]: " + r.error().detail);
  }
  if (r->order.request.client_order_id != key) {
    return store_error(StoreErrc::kCorrupt, "orders[" + printable(key) + "]: record is for " +
                                                printable(r->order.request.client_order_id));
  }
  return r;
}

template <class Base>
Result<std::uint64_t> LmdbTxn<Base>::event_seq_of(const MDB_val& k) {
  std::optional<std::uint64_t> seq = from_be64(as_view(k));
  if (!seq || *seq == 0) {
    return store_error(StoreErrc::kCorrupt,
                       "events[" + printable(as_view(k)) + "]: key is not a sequence number");
  }
  return *seq;
}

template <class Base>
Result<StoredEvent> LmdbTxn<Base>::decode_event_at(const MDB_val& k, const MDB_val& v) {
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

template <class Base>
Result<RetryEntry> LmdbTxn<Base>::decode_retry_at(std::string_view id, std::string_view bytes) {
  Result<RetryEntry> r = codec::decode_retry(bytes);
  if (!r) {
    return store_error(StoreErrc::kCorrupt, "retries[" + printable(id) + "]: " + r.error().detail);
  }
  if (r->client_order_id != id) {
    return store_error(StoreErrc::kCorrupt, "retries[" + printable(id) + "]: record is for " +
                                                printable(r->client_order_id));
  }
  return r;
}

template <class Base>
Result<core::TimestampUs> LmdbTxn<Base>::due_of(std::string_view key) {
  std::optional<core::TimestampUs> t;
  if (key.size() > 8) t = time_from_bytes(key.substr(0, 8));
  if (!t) {
    return store_error(StoreErrc::kCorrupt,
                       "retries_due[" + printable(key) + "]: not a due time and an id");
  }
  return *t;
}

template <class Base>
Result<std::optional<int>> LmdbTxn<Base>::message_seq_of(std::string_view prefix,
                                                         std::string_view key) {
  if (key.substr(0, prefix.size()) != prefix) return std::optional<int>();
  std::optional<std::uint32_t> seq = from_be32(key.substr(prefix.size()));
  if (!seq || *seq == 0 || *seq > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) {
    return store_error(StoreErrc::kCorrupt,
                       "fix_messages[" + printable(key) + "]: not a session id and a seq");
  }
  return std::optional<int>(static_cast<int>(*seq));
}

template <class Base>
Result<std::uint64_t> LmdbTxn<Base>::meta_u64(std::string_view name) {
  auto v = lookup(dbis_.meta, name, "meta");
  if (!v) return tl::unexpected(v.error());
  if (!*v) return 0;
  std::optional<std::uint64_t> n = from_be64(**v);
  if (!n) {
    return store_error(StoreErrc::kCorrupt, "meta[" + printable(name) +
                                                "]: " + std::to_string((*v)->size()) +
                                                " bytes, not an 8-byte integer");
  }
  return *n;
}

template <class Base>
std::string LmdbTxn<Base>::retry_id_error(std::string_view id) const {
  return keys::retry_id_error(id, max_key_size());
}

template <class Base>
std::string LmdbTxn<Base>::session_id_error(std::string_view id) const {
  return keys::session_id_error(id, max_key_size());
}

template class LmdbTxn<ReadTxn>;
template class LmdbTxn<WriteTxn>;

}  // namespace brokergw::store::lmdb
