// MemoryStore's write operations (MemoryWriteTxn, tests/support/memory_tables.h): the LMDB
// store's writes (store/lmdb_write.cpp), check for check, on the committer's working tables,
// each change preceded by its undo entry.
#include <limits>
#include <string>
#include <utility>

#include "tests/support/memory_tables.h"

namespace brokergw::testing::memory {

using store::Result;
using store::Status;
using store::store_error;
using store::StoreErrc;

namespace {

Status key_fits(std::string_view what, std::string_view key) {
  if (key.empty() || key.size() > kMaxKey) {
    return store_error(
        StoreErrc::kAborted,
        std::string(what) + " key of " + std::to_string(key.size()) + " bytes: MDB_BAD_VALSIZE");
  }
  return {};
}

constexpr std::size_t kOpenCountPrefixSize = 11;  // the LMDB store's meta "open_count\0"

}  // namespace

Status MemoryWriteTxn::check_faults(std::string_view name, std::string_view key, bool storing) {
  if (!faults_) return {};
  std::optional<store::StoreError> e = faults_(WriteOp{name, key}, storing);
  if (!e) return {};
  return poison(std::move(*e));
}

tl::unexpected<store::StoreError> MemoryWriteTxn::poison(store::StoreError e) {
  if (!poisoned_) poisoned_ = e;
  return tl::unexpected(std::move(e));
}

void MemoryWriteTxn::rollback() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  undo_.clear();
}

Meta& MemoryWriteTxn::write_meta() {
  Meta& m = t_.meta.write();
  undo_.emplace_back([&m, old = m] { m = old; });
  return m;
}

// ---- orders and the open-orders index --------------------------------------------------------

Status MemoryWriteTxn::check_open_key(const core::Order& order) const {
  if (core::is_terminal(order.state)) return {};
  const std::string& broker = order.request.broker;
  const std::string& id = order.request.client_order_id;
  if (std::string why = broker_name_error(broker); !why.empty()) {
    return store_error(StoreErrc::kAborted, "order " + printable(id) + ": " + why);
  }
  if (broker.size() + 1 + id.size() > kMaxKey || kOpenCountPrefixSize + broker.size() > kMaxKey) {
    return store_error(StoreErrc::kAborted,
                       "order " + printable(id) + ": broker and client_order_id of " +
                           std::to_string(broker.size() + id.size()) +
                           " bytes; an open_orders key holds " + std::to_string(kMaxKey - 1));
  }
  return {};
}

Status MemoryWriteTxn::reindex_open(const core::Order* before, const core::Order& after) {
  const bool was_open = before != nullptr && !core::is_terminal(before->state);
  const bool is_open = !core::is_terminal(after.state);
  if (was_open && is_open && before->request.broker == after.request.broker) return {};
  const std::string& id = after.request.client_order_id;
  auto& index = t_.open_orders.write();
  auto& counts = t_.open_counts.write();
  if (was_open) {
    const std::string key = *broker_key(before->request.broker, id);
    if (index.count(key) == 0) {
      return store_error(StoreErrc::kCorrupt, "orders[" + printable(id) + "] is open but " +
                                                  "open_orders has no " + printable(key));
    }
    save_member(index, key);
    index.erase(key);
    save(counts, before->request.broker);
    if (--counts[before->request.broker] == 0) counts.erase(before->request.broker);
  }
  if (is_open) {
    const std::string key = *broker_key(after.request.broker, id);
    if (index.count(key) != 0) {
      return store_error(StoreErrc::kCorrupt, "open_orders[" + printable(key) +
                                                  "] exists for an order that was not open");
    }
    save_member(index, key);
    index.insert(key);
    save(counts, after.request.broker);
    ++counts[after.request.broker];
  }
  return {};
}

Status MemoryWriteTxn::insert_order(const core::Order& order) {
  const std::string& id = order.request.client_order_id;
  if (Status s = check_faults("insert_order", id, false); !s) return s;
  if (Status s = key_fits("order", id); !s) return poison(s.error());
  if (Status s = check_open_key(order); !s) return s;
  auto& orders = t_.orders.write();
  if (orders.count(id) != 0) {
    return store_error(StoreErrc::kAlreadyExists, "order " + printable(id) + " exists");
  }
  if (Status s = storing("insert_order", id); !s) return s;
  save(orders, id);
  orders.emplace(id,
                 std::make_shared<const store::VersionedOrder>(store::VersionedOrder{order, 1}));
  return reindex_open(nullptr, order);
}

Result<std::uint64_t> MemoryWriteTxn::update_order(const core::Order& order,
                                                   std::uint64_t expected_version) {
  const std::string& id = order.request.client_order_id;
  if (Status s = check_faults("update_order", id, false); !s) return tl::unexpected(s.error());
  Result<store::VersionedOrder> current = get_order(id);
  if (!current) return tl::unexpected(current.error());
  if (current->version != expected_version) {
    return store_error(StoreErrc::kVersionConflict, "order " + printable(id) + " is at version " +
                                                        std::to_string(current->version) +
                                                        ", expected " +
                                                        std::to_string(expected_version));
  }
  if (Status s = check_open_key(order); !s) return tl::unexpected(s.error());
  if (Status s = storing("update_order", id); !s) return tl::unexpected(s.error());
  const std::uint64_t next = expected_version + 1;
  auto& orders = t_.orders.write();
  save(orders, id);
  orders.insert_or_assign(
      id, std::make_shared<const store::VersionedOrder>(store::VersionedOrder{order, next}));
  if (Status s = reindex_open(&current->order, order); !s) return tl::unexpected(s.error());
  return next;
}

Status MemoryWriteTxn::put_broker_order_id(std::string_view broker,
                                           std::string_view broker_order_id,
                                           std::string_view client_order_id) {
  Result<std::string> key = broker_key(broker, broker_order_id);
  if (Status s = check_faults("put_broker_order_id", key ? *key : std::string(broker), false); !s) {
    return s;
  }
  if (!key) return tl::unexpected(key.error());
  if (Status s = key_fits("broker order id", *key); !s) return poison(s.error());
  if (Status s = storing("put_broker_order_id", *key); !s) return s;
  auto& ids = t_.broker_ids.write();
  save(ids, *key);
  ids.insert_or_assign(*key, std::string(client_order_id));
  return {};
}

Status MemoryWriteTxn::insert_cancel(const store::CancelRecord& record) {
  const std::string& id = record.client_cancel_id;
  if (Status s = check_faults("insert_cancel", id, false); !s) return s;
  if (Status s = key_fits("cancel", id); !s) return poison(s.error());
  auto& cancels = t_.cancels.write();
  if (cancels.count(id) != 0) {
    return store_error(StoreErrc::kAlreadyExists, "cancel " + printable(id) + " exists");
  }
  if (Status s = storing("insert_cancel", id); !s) return s;
  save(cancels, id);
  cancels.emplace(id, record);
  return {};
}

Status MemoryWriteTxn::put_exec(std::string_view broker, std::string_view client_order_id,
                                std::string_view exec_id, const store::ExecRecord& record) {
  Result<std::string> key = store::keys::exec_key(broker, client_order_id, exec_id);
  if (Status s = check_faults("put_exec", key ? *key : std::string(broker), false); !s) return s;
  if (!key) return tl::unexpected(key.error());
  if (8 + key->size() > kMaxKey) {
    return store_error(StoreErrc::kAborted,
                       "exec " + printable(*key) + ": key of " + std::to_string(key->size()) +
                           " bytes; an exec key holds " + std::to_string(kMaxKey - 8));
  }
  if (Status s = storing("put_exec", *key); !s) return s;
  auto& seen = t_.exec_seen.write();
  save(seen, *key);
  store::ExecRecord stored = record;
  if (auto it = seen.find(*key); it != seen.end()) {
    stored.seen_us = it->second.seen_us;  // a replacement keeps the first-seen time
    it->second = stored;
    return {};
  }
  auto& by_time = t_.exec_seen_by_time.write();
  seen.emplace(*key, stored);
  save_member(by_time, {stored.seen_us, *key});
  by_time.insert({stored.seen_us, *key});
  return {};
}

// ---- events ----------------------------------------------------------------------------------

Result<std::uint64_t> MemoryWriteTxn::append_event(const store::StoredEvent& event) {
  if (Status s = check_faults("append_event", {}, false); !s) return tl::unexpected(s.error());
  const std::uint64_t last = t_.meta.read().last_event_seq;
  if (last == std::numeric_limits<std::uint64_t>::max()) {
    return store_error(StoreErrc::kAborted, "event sequence exhausted");
  }
  if (Status s = storing("append_event", {}); !s) return tl::unexpected(s.error());
  auto record = std::make_shared<store::StoredEvent>(event);
  record->seq = last + 1;
  auto& events = t_.events.write();
  save(events, record->seq);
  events.emplace(record->seq, record);
  write_meta().last_event_seq = record->seq;
  return record->seq;
}

Status MemoryWriteTxn::set_published_seq(std::uint64_t seq) {
  if (Status s = check_faults("set_published_seq", {}, false); !s) return s;
  const Meta& meta = t_.meta.read();
  if (seq > meta.last_event_seq) {
    return store_error(StoreErrc::kAborted, "published_seq " + std::to_string(seq) +
                                                " is beyond last_event_seq " +
                                                std::to_string(meta.last_event_seq));
  }
  if (seq <= meta.published_seq) return {};
  write_meta().published_seq = seq;
  return {};
}

Result<store::CompactionStats> MemoryWriteTxn::compact(core::TimestampUs events_before_us,
                                                       core::TimestampUs dedup_before_us,
                                                       std::size_t max_items) {
  if (Status s = check_faults("compact", {}, false); !s) return tl::unexpected(s.error());
  store::CompactionStats stats;
  std::size_t budget = max_items;
  const std::uint64_t published = t_.meta.read().published_seq;
  for (;;) {
    const auto& events = t_.events.read();
    if (events.empty()) break;
    const std::uint64_t seq = events.begin()->first;
    const core::TimestampUs at_us = events.begin()->second->at_us;
    if (seq > published || at_us >= events_before_us) break;
    if (budget == 0) {
      stats.more = true;
      return stats;
    }
    auto& w = t_.events.write();
    save(w, seq);
    w.erase(w.begin());
    ++stats.events_deleted;
    --budget;
  }
  for (;;) {
    const auto& by_time = t_.exec_seen_by_time.read();
    if (by_time.empty()) break;
    const auto entry = *by_time.begin();
    if (entry.first >= dedup_before_us) break;
    if (budget == 0) {
      stats.more = true;
      return stats;
    }
    auto& seen = t_.exec_seen.write();
    auto& index = t_.exec_seen_by_time.write();
    save_member(index, entry);
    index.erase(entry);
    save(seen, entry.second);
    seen.erase(entry.second);
    ++stats.dedup_keys_deleted;
    --budget;
  }
  return stats;
}

// ---- the schedule ----------------------------------------------------------------------------

Status MemoryWriteTxn::schedule_retry(const store::RetryEntry& entry) {
  const std::string& id = entry.client_order_id;
  if (Status s = check_faults("schedule_retry", id, false); !s) return s;
  if (std::string why = retry_id_error(id); !why.empty()) {
    return store_error(StoreErrc::kAborted, "schedule retry: " + why);
  }
  if (Status s = storing("schedule_retry", id); !s) return s;
  if (Status s = drop_retry(id); !s) return s;
  auto& retries = t_.retries.write();
  auto& due = t_.retries_due.write();
  save(retries, id);
  retries.emplace(id, entry);
  save_member(due, {entry.due_us, id});
  due.insert({entry.due_us, id});
  return {};
}

Status MemoryWriteTxn::cancel_retry(std::string_view client_order_id) {
  if (Status s = check_faults("cancel_retry", client_order_id, false); !s) return s;
  return drop_retry(client_order_id);
}

Status MemoryWriteTxn::drop_retry(std::string_view id) {
  auto it = t_.retries.read().find(id);
  if (it == t_.retries.read().end()) return {};
  const std::pair<core::TimestampUs, std::string> due_key{it->second.due_us, std::string(id)};
  auto& retries = t_.retries.write();
  auto& due = t_.retries_due.write();
  save_member(due, due_key);
  due.erase(due_key);
  save(retries, id);
  retries.erase(retries.find(id));
  return {};
}

// ---- FIX sessions ----------------------------------------------------------------------------

Status MemoryWriteTxn::put_session(std::string_view session_id, const store::SessionState& state) {
  if (Status s = check_faults("put_session", session_id, false); !s) return s;
  if (std::string why = session_id_error(session_id); !why.empty()) {
    return store_error(StoreErrc::kAborted, "put fix session: " + why);
  }
  if (state.next_sender < 1 || state.next_target < 1) {
    return store_error(StoreErrc::kAborted,
                       "put fix session " + printable(session_id) + ": sequence numbers below 1");
  }
  if (Status s = storing("put_session", session_id); !s) return s;
  auto& sessions = t_.sessions.write();
  save(sessions, session_id);
  sessions.insert_or_assign(std::string(session_id), state);
  return {};
}

Status MemoryWriteTxn::put_session_message(std::string_view session_id, int seq,
                                           std::string_view message) {
  if (Status s = check_faults("put_session_message", session_id, false); !s) return s;
  if (std::string why = session_id_error(session_id); !why.empty()) {
    return store_error(StoreErrc::kAborted, "put fix message: " + why);
  }
  if (seq < 1) {
    return store_error(StoreErrc::kAborted, "put fix message " + printable(session_id) + ": seq " +
                                                std::to_string(seq) + " < 1");
  }
  if (Status s = storing("put_session_message", session_id); !s) return s;
  auto& messages = t_.messages.write();
  const std::pair<std::string, int> key{std::string(session_id), seq};
  save(messages, key);
  messages.insert_or_assign(key, std::string(message));
  return {};
}

Result<std::size_t> MemoryWriteTxn::trim_session_messages(std::string_view session_id,
                                                          int below_seq, std::size_t max_items) {
  if (Status s = check_faults("trim_session_messages", session_id, false); !s) {
    return tl::unexpected(s.error());
  }
  if (!session_id_error(session_id).empty()) return std::size_t{0};
  return delete_messages(session_id, below_seq, max_items);
}

Status MemoryWriteTxn::reset_session(std::string_view session_id, core::TimestampUs creation_us) {
  if (Status s = check_faults("reset_session", session_id, false); !s) return s;
  if (std::string why = session_id_error(session_id); !why.empty()) {
    return store_error(StoreErrc::kAborted, "reset fix session: " + why);
  }
  if (Status s = storing("reset_session", session_id); !s) return s;
  delete_messages(session_id, std::numeric_limits<std::int64_t>::max(),
                  std::numeric_limits<std::size_t>::max());
  auto& sessions = t_.sessions.write();
  save(sessions, session_id);
  sessions.insert_or_assign(std::string(session_id), store::SessionState{1, 1, creation_us});
  return {};
}

std::size_t MemoryWriteTxn::delete_messages(std::string_view session_id, std::int64_t below_seq,
                                            std::size_t max_items) {
  const std::string id(session_id);
  std::size_t deleted = 0;
  while (deleted < max_items) {
    const auto& messages = t_.messages.read();
    auto it = messages.lower_bound({id, 1});
    if (it == messages.end() || it->first.first != id || it->first.second >= below_seq) break;
    const std::pair<std::string, int> key = it->first;
    auto& w = t_.messages.write();
    save(w, key);
    w.erase(key);
    ++deleted;
  }
  return deleted;
}

}  // namespace brokergw::testing::memory
