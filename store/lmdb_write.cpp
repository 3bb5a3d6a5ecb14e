// The write operations of the LMDB store (LmdbWriteTxn, store/lmdb_internal.h). Each runs in a
// write function's nested transaction on the committer thread; every index is written in the
// same transaction as the record it indexes.
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "store/lmdb_internal.h"
#include "store/order_codec.h"

namespace brokergw::store::lmdb {
namespace {

const MDB_val kEmpty{0, nullptr};

std::string open_count_name(std::string_view broker) {
  std::string name(kOpenCountPrefix);
  name.append(broker);
  return name;
}

}  // namespace

// ---- orders and the open-orders index --------------------------------------------------------

Status LmdbWriteTxn::check_open_key(const core::Order& order) const {
  if (core::is_terminal(order.state)) return {};
  const std::string& broker = order.request.broker;
  const std::string& id = order.request.client_order_id;
  if (std::string why = broker_name_error(broker); !why.empty()) {
    return store_error(StoreErrc::kAborted, "order " + printable(id) + ": " + why);
  }
  if (broker.size() + 1 + id.size() > max_key_size() ||
      open_count_name(broker).size() > max_key_size()) {
    return store_error(StoreErrc::kAborted, "order " + printable(id) +
                                                ": broker and client_order_id of " +
                                                std::to_string(broker.size() + id.size()) +
                                                " bytes; an open_orders key holds " +
                                                std::to_string(max_key_size() - 1));
  }
  return {};
}

Status LmdbWriteTxn::add_open_count(std::string_view broker, int delta) {
  const std::string name = open_count_name(broker);
  Result<std::uint64_t> n = meta_u64(name);
  if (!n) return tl::unexpected(n.error());
  if (delta < 0 && *n == 0) {
    return store_error(StoreErrc::kCorrupt, "meta[" + printable(name) + "]: 0, one to remove");
  }
  const std::uint64_t next = delta < 0 ? *n - 1 : *n + 1;
  if (next != 0) return put_meta_u64(name, next);
  MDB_val k = as_val(name);
  if (int rc = mdb_del(txn_, dbis_.meta, &k, nullptr); rc != 0) {
    return fail(rc, "delete meta " + printable(name));
  }
  return {};
}

// The order's key is broker '\0' id. Both ends are checked, so an index entry that went missing
// (or one left behind) is reported as corruption instead of being papered over.
Status LmdbWriteTxn::reindex_open(const core::Order* before, const core::Order& after) {
  const bool was_open = before != nullptr && !core::is_terminal(before->state);
  const bool is_open = !core::is_terminal(after.state);
  if (was_open && is_open && before->request.broker == after.request.broker) return {};
  const std::string& id = after.request.client_order_id;
  if (was_open) {
    Result<std::string> key = broker_key(before->request.broker, id);
    if (!key) return tl::unexpected(key.error());
    MDB_val k = as_val(*key);
    int rc = mdb_del(txn_, dbis_.open_orders, &k, nullptr);
    if (rc == MDB_NOTFOUND) {
      return store_error(StoreErrc::kCorrupt, "orders[" + printable(id) + "] is open but " +
                                                  "open_orders has no " + printable(*key));
    }
    if (rc != 0) return fail(rc, "unindex open order " + printable(*key));
    if (Status s = add_open_count(before->request.broker, -1); !s) return s;
  }
  if (is_open) {
    Result<std::string> key = broker_key(after.request.broker, id);
    if (!key) return tl::unexpected(key.error());
    MDB_val k = as_val(*key);
    MDB_val v = kEmpty;
    int rc = mdb_put(txn_, dbis_.open_orders, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
      return store_error(StoreErrc::kCorrupt, "open_orders[" + printable(*key) +
                                                  "] exists for an order that was not open");
    }
    if (rc != 0) return fail(rc, "index open order " + printable(*key));
    if (Status s = add_open_count(after.request.broker, +1); !s) return s;
  }
  return {};
}

Status LmdbWriteTxn::insert_order(const core::Order& order) {
  const std::string& id = order.request.client_order_id;
  if (Status s = check_open_key(order); !s) return s;
  std::string bytes = codec::encode_order(VersionedOrder{order, 1});
  MDB_val k = as_val(id);
  MDB_val v = as_val(bytes);
  int rc = mdb_put(txn_, dbis_.orders, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) {
    return store_error(StoreErrc::kAlreadyExists, "order " + printable(id) + " exists");
  }
  if (rc != 0) return fail(rc, "insert order " + printable(id));
  return reindex_open(nullptr, order);
}

Result<std::uint64_t> LmdbWriteTxn::update_order(const core::Order& order,
                                                 std::uint64_t expected_version) {
  const std::string& id = order.request.client_order_id;
  Result<VersionedOrder> current = get_order(id);
  if (!current) return tl::unexpected(current.error());
  if (current->version != expected_version) {
    return store_error(StoreErrc::kVersionConflict, "order " + printable(id) + " is at version " +
                                                        std::to_string(current->version) +
                                                        ", expected " +
                                                        std::to_string(expected_version));
  }
  if (Status s = check_open_key(order); !s) return tl::unexpected(s.error());
  std::uint64_t next = expected_version + 1;
  std::string bytes = codec::encode_order(VersionedOrder{order, next});
  MDB_val k = as_val(id);
  MDB_val v = as_val(bytes);
  if (int rc = mdb_put(txn_, dbis_.orders, &k, &v, 0); rc != 0) {
    return fail(rc, "update order " + printable(id));
  }
  if (Status s = reindex_open(&current->order, order); !s) return tl::unexpected(s.error());
  return next;
}

Status LmdbWriteTxn::rebuild_open_orders() {
  if (int rc = mdb_drop(txn_, dbis_.open_orders, 0); rc != 0) return fail(rc, "empty open_orders");
  {
    Cursor meta;
    if (int rc = meta.open(txn_, dbis_.meta); rc != 0) return fail(rc, "open meta cursor");
    for (;;) {
      MDB_val k = as_val(kOpenCountPrefix);
      MDB_val v;
      int rc = meta.get(&k, &v, MDB_SET_RANGE);
      if (rc == MDB_NOTFOUND) break;
      if (rc != 0) return fail(rc, "scan meta");
      if (as_view(k).substr(0, kOpenCountPrefix.size()) != kOpenCountPrefix) break;
      if (rc = meta.del(); rc != 0) return fail(rc, "delete meta open count");
    }
  }
  std::map<std::string, std::uint64_t> counts;
  Cursor orders;
  if (int rc = orders.open(txn_, dbis_.orders); rc != 0) return fail(rc, "open orders cursor");
  MDB_val k;
  MDB_val v;
  int rc = orders.get(&k, &v, MDB_FIRST);
  for (; rc == 0; rc = orders.get(&k, &v, MDB_NEXT)) {
    Result<VersionedOrder> r = decode_order_at(as_view(k), as_view(v));
    if (!r) return tl::unexpected(r.error());
    const core::Order& o = r->order;
    if (core::is_terminal(o.state)) continue;
    if (Status s = check_open_key(o); !s) {
      return store_error(StoreErrc::kCorrupt, "orders[" + printable(as_view(k)) +
                                                  "]: cannot be indexed: " + s.error().detail);
    }
    const std::string key = *broker_key(o.request.broker, o.request.client_order_id);
    MDB_val ik = as_val(key);
    MDB_val iv = kEmpty;
    // A put through the table, not the cursor: the orders cursor stays where it is.
    if (int prc = mdb_put(txn_, dbis_.open_orders, &ik, &iv, 0); prc != 0) {
      return fail(prc, "index open order " + printable(key));
    }
    ++counts[o.request.broker];
  }
  if (rc != MDB_NOTFOUND) return fail(rc, "scan orders");
  for (const auto& [broker, n] : counts) {
    if (Status s = put_meta_u64(open_count_name(broker), n); !s) return s;
  }
  return {};
}

// An upsert: a broker may keep its OrderID across a cancel/replace chain, and the latest
// client order id is the one to find.
Status LmdbWriteTxn::put_broker_order_id(std::string_view broker, std::string_view broker_order_id,
                                         std::string_view client_order_id) {
  Result<std::string> key = broker_key(broker, broker_order_id);
  if (!key) return tl::unexpected(key.error());
  MDB_val k = as_val(*key);
  MDB_val v = as_val(client_order_id);
  if (int rc = mdb_put(txn_, dbis_.broker_ids, &k, &v, 0); rc != 0) {
    return fail(rc, "put broker order id " + printable(*key));
  }
  return {};
}

Status LmdbWriteTxn::insert_cancel(const CancelRecord& record) {
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

// Two puts: exec_seen (the key -> first-seen time + record) and exec_seen_by_time (time +
// key), the index compact() walks from its oldest end. A replacement keeps the first-seen time,
// so the index entry stays as it is.
Status LmdbWriteTxn::put_exec(std::string_view broker, std::string_view client_order_id,
                              std::string_view exec_id, const ExecRecord& record) {
  Result<std::string> key = keys::exec_key(broker, client_order_id, exec_id);
  if (!key) return tl::unexpected(key.error());
  if (8 + key->size() > max_key_size()) {
    return store_error(StoreErrc::kAborted,
                       "exec " + printable(*key) + ": key of " + std::to_string(key->size()) +
                           " bytes; an exec key holds " + std::to_string(max_key_size() - 8));
  }
  auto existing = lookup(dbis_.exec_seen, *key, "exec_seen");
  if (!existing) return tl::unexpected(existing.error());
  core::TimestampUs seen_at = record.seen_us;
  if (*existing) {
    std::optional<core::TimestampUs> first =
        time_from_bytes(std::string_view(**existing).substr(0, 8));
    if (!first) {
      return store_error(StoreErrc::kCorrupt, "exec_seen[" + printable(*key) + "]: no time");
    }
    seen_at = *first;
  }
  const std::string value = time_bytes(seen_at) + codec::encode_exec(record);
  MDB_val k = as_val(*key);
  MDB_val v = as_val(value);
  int rc = mdb_put(txn_, dbis_.exec_seen, &k, &v, 0);
  if (rc != 0) return fail(rc, "store exec " + printable(*key));
  if (*existing) return {};
  const std::string index = time_key(seen_at, *key);
  MDB_val ik = as_val(index);
  MDB_val empty = kEmpty;
  if (rc = mdb_put(txn_, dbis_.exec_seen_by_time, &ik, &empty, 0); rc != 0) {
    return fail(rc, "index exec seen " + printable(*key));
  }
  return {};
}

// ---- events ----------------------------------------------------------------------------------

// The sequence lives in meta, not in the last key of events: compaction may empty the table
// and the next event must still get last + 1. A failing write function aborts its nested
// transaction, meta included, so its seq is handed out again: the sequence stays gap-free.
Result<std::uint64_t> LmdbWriteTxn::append_event(const StoredEvent& event) {
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

Status LmdbWriteTxn::set_published_seq(std::uint64_t seq) {
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
Result<CompactionStats> LmdbWriteTxn::compact(core::TimestampUs events_before_us,
                                              core::TimestampUs dedup_before_us,
                                              std::size_t max_items) {
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
    auto seen = lookup(dbis_.exec_seen, exec_key, "exec_seen");
    if (!seen) return tl::unexpected(seen.error());
    if (!*seen || time_from_bytes(std::string_view(**seen).substr(0, 8)) != seen_at) {
      return store_error(StoreErrc::kCorrupt, "exec_seen_by_time[" + printable_time_key(index_key) +
                                                  "]: exec_seen has no entry seen at that time");
    }
    if (rc = index.del(); rc != 0) return fail(rc, "delete exec_seen_by_time entry");
    MDB_val ek = as_val(exec_key);
    if (rc = mdb_del(txn_, dbis_.exec_seen, &ek, nullptr); rc != 0) {
      return fail(rc, "delete exec_seen " + printable(exec_key));
    }
    ++stats.dedup_keys_deleted;
    --budget;
  }
  return stats;
}

// ---- the schedule ----------------------------------------------------------------------------

// A kNeverDue entry is indexed like any other: its key sorts after every real due time, and
// the due walks stop there.
Status LmdbWriteTxn::schedule_retry(const RetryEntry& entry) {
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
  MDB_val empty = kEmpty;
  if (int rc = mdb_put(txn_, dbis_.retries_due, &dk, &empty, 0); rc != 0) {
    return fail(rc, "index retry " + printable(id));
  }
  return {};
}

Status LmdbWriteTxn::cancel_retry(std::string_view client_order_id) {
  return drop_retry(client_order_id);
}

Status LmdbWriteTxn::drop_retry(std::string_view id) {
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

// ---- FIX sessions ----------------------------------------------------------------------------

Status LmdbWriteTxn::put_session(std::string_view session_id, const SessionState& state) {
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

Status LmdbWriteTxn::put_session_message(std::string_view session_id, int seq,
                                         std::string_view message) {
  if (std::string why = session_id_error(session_id); !why.empty()) {
    return store_error(StoreErrc::kAborted, "put fix message: " + why);
  }
  if (seq < 1) {
    return store_error(StoreErrc::kAborted, "put fix message " + printable(session_id) + ": seq " +
                                                std::to_string(seq) + " < 1");
  }
  const std::string key = session_message_key(session_id, seq);
  MDB_val k = as_val(key);
  MDB_val v = as_val(message);
  if (int rc = mdb_put(txn_, dbis_.fix_messages, &k, &v, 0); rc != 0) {
    return fail(rc, "put fix message " + printable(session_id) + " " + std::to_string(seq));
  }
  return {};
}

Result<std::size_t> LmdbWriteTxn::trim_session_messages(std::string_view session_id, int below_seq,
                                                        std::size_t max_items) {
  if (!session_id_error(session_id).empty()) return std::size_t{0};
  return delete_session_messages(session_id, below_seq, max_items);
}

Status LmdbWriteTxn::reset_session(std::string_view session_id, core::TimestampUs creation_us) {
  if (std::string why = session_id_error(session_id); !why.empty()) {
    return store_error(StoreErrc::kAborted, "reset fix session: " + why);
  }
  Result<std::size_t> deleted =
      delete_session_messages(session_id, std::numeric_limits<std::int64_t>::max(),
                              std::numeric_limits<std::size_t>::max());
  if (!deleted) return tl::unexpected(deleted.error());
  return put_session(session_id, SessionState{1, 1, creation_us});
}

// Deletes the session's messages with seq < below_seq, oldest first, at most max_items.
// Every round takes the session's first key afresh: what it deletes is always the front.
Result<std::size_t> LmdbWriteTxn::delete_session_messages(std::string_view session_id,
                                                          std::int64_t below_seq,
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
      return fail(rc, "delete fix message " + printable(session_id) + " " + std::to_string(**seq));
    }
    ++deleted;
  }
  return deleted;
}

Status LmdbWriteTxn::put_meta_u64(std::string_view name, std::uint64_t value) {
  const std::string bytes = be64(value);
  MDB_val k = as_val(name);
  MDB_val v = as_val(bytes);
  if (int rc = mdb_put(txn_, dbis_.meta, &k, &v, 0); rc != 0) {
    return fail(rc, "put meta " + printable(name));
  }
  return {};
}

}  // namespace brokergw::store::lmdb
