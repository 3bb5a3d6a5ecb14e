// MemoryStore's read operations (MemoryTxn, tests/support/memory_tables.h): the LMDB store's
// reads (store/lmdb_read.cpp), answer for answer, on std::map tables.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/memory_tables.h"

namespace brokergw::testing::memory {

using store::Result;
using store::Status;
using store::store_error;
using store::StoreErrc;

template <class Base>
Result<store::VersionedOrder> MemoryTxn<Base>::get_order(std::string_view client_order_id) {
  const auto& orders = t_.orders.read();
  auto it = orders.find(client_order_id);
  if (it == orders.end()) {
    return store_error(StoreErrc::kNotFound, "order " + printable(client_order_id));
  }
  return *it->second;
}

template <class Base>
Result<std::string> MemoryTxn<Base>::find_by_broker_order_id(std::string_view broker,
                                                             std::string_view broker_order_id) {
  Result<std::string> key = broker_key(broker, broker_order_id);
  if (!key) return tl::unexpected(key.error());
  const auto& ids = t_.broker_ids.read();
  auto it = ids.find(*key);
  if (it == ids.end()) {
    return store_error(StoreErrc::kNotFound, "broker order id " + printable(*key));
  }
  return it->second;
}

template <class Base>
Result<store::CancelRecord> MemoryTxn<Base>::get_cancel(std::string_view client_cancel_id) {
  const auto& cancels = t_.cancels.read();
  auto it = cancels.find(client_cancel_id);
  if (it == cancels.end()) {
    return store_error(StoreErrc::kNotFound, "cancel " + printable(client_cancel_id));
  }
  return it->second;
}

template <class Base>
Result<std::optional<store::ExecRecord>> MemoryTxn<Base>::find_exec(
    std::string_view broker, std::string_view client_order_id, std::string_view exec_id) {
  Result<std::string> key = store::keys::exec_key(broker, client_order_id, exec_id);
  if (!key) return tl::unexpected(key.error());
  const auto& seen = t_.exec_seen.read();
  if (auto it = seen.find(*key); it != seen.end()) return std::optional(it->second);
  // A legacy key (broker '\0' exec_id) is never written by this twin, so there is none to find.
  return std::optional<store::ExecRecord>();
}

template <class Base>
Result<std::vector<store::VersionedOrder>> MemoryTxn<Base>::list_orders(
    const store::OrderFilter& filter, std::string_view after, std::size_t limit) {
  std::vector<store::VersionedOrder> out;
  const auto& orders = t_.orders.read();
  auto it = after.empty() ? orders.begin() : orders.upper_bound(after);
  for (; it != orders.end() && out.size() < limit; ++it) {
    if (store::keys::matches(filter, it->second->order)) out.push_back(*it->second);
  }
  return out;
}

// Every step looks up the first key after the last visited one, so fn may write through the
// same transaction (as with LMDB).
template <class Base>
Status MemoryTxn<Base>::for_each_order(
    const std::function<bool(const store::VersionedOrder&)>& fn) {
  std::optional<std::string> last;
  for (;;) {
    const auto& orders = t_.orders.read();
    auto it = last ? orders.upper_bound(*last) : orders.begin();
    if (it == orders.end()) return {};
    last = it->first;
    const std::shared_ptr<const store::VersionedOrder> record = it->second;
    if (!fn(*record)) return {};
  }
}

template <class Base>
Status MemoryTxn<Base>::for_each_open_order(
    std::string_view broker, std::string_view after,
    const std::function<bool(const store::VersionedOrder&)>& fn) {
  std::string pos;  // the walk goes on at the first key above pos (at or above while !skip)
  bool skip_equal = false;
  if (!broker.empty()) {
    if (!broker_name_error(broker).empty()) return {};
    pos.assign(broker).push_back('\0');
    pos.append(after);
    skip_equal = !after.empty();
  }
  for (;;) {
    const auto& index = t_.open_orders.read();
    auto it = skip_equal ? index.upper_bound(pos) : index.lower_bound(pos);
    if (it == index.end()) return {};
    const std::string key = *it;
    const std::size_t nul = key.find('\0');
    if (nul == std::string::npos || nul == 0 || nul + 1 == key.size()) {
      return store_error(StoreErrc::kCorrupt,
                         "open_orders[" + printable(key) + "]: not a broker and an id");
    }
    const std::string_view b = std::string_view(key).substr(0, nul);
    const std::string_view id = std::string_view(key).substr(nul + 1);
    if (!broker.empty() && b != broker) return {};
    if (!after.empty() && id <= after) {
      pos.assign(b).push_back('\0');
      pos.append(after);
      skip_equal = true;
      continue;
    }
    const auto& orders = t_.orders.read();
    auto o = orders.find(id);
    if (o == orders.end()) {
      return store_error(StoreErrc::kCorrupt, "open_orders[" + printable(key) + "]: no order");
    }
    const std::shared_ptr<const store::VersionedOrder> record = o->second;
    if (record->order.request.broker != b || core::is_terminal(record->order.state)) {
      return store_error(StoreErrc::kCorrupt,
                         "open_orders[" + printable(key) + "]: order is " +
                             std::string(core::to_string(record->order.state)) + " at broker " +
                             printable(record->order.request.broker));
    }
    if (!fn(*record)) return {};
    pos = key;
    skip_equal = true;
  }
}

template <class Base>
Result<std::size_t> MemoryTxn<Base>::count_open_orders(std::string_view broker) {
  if (broker.empty()) return t_.open_orders.read().size();
  const auto& counts = t_.open_counts.read();
  auto it = counts.find(broker);
  return it == counts.end() ? std::size_t{0} : static_cast<std::size_t>(it->second);
}

template <class Base>
Result<std::vector<store::StoredEvent>> MemoryTxn<Base>::events_after(std::uint64_t after_seq,
                                                                      std::size_t limit) {
  std::vector<store::StoredEvent> out;
  const auto& events = t_.events.read();
  for (auto it = events.upper_bound(after_seq); it != events.end() && out.size() < limit; ++it) {
    out.push_back(*it->second);
  }
  return out;
}

template <class Base>
Result<std::uint64_t> MemoryTxn<Base>::last_event_seq() {
  return t_.meta.read().last_event_seq;
}

template <class Base>
Result<std::uint64_t> MemoryTxn<Base>::first_event_seq() {
  const auto& events = t_.events.read();
  return events.empty() ? 0 : events.begin()->first;
}

template <class Base>
Result<std::uint64_t> MemoryTxn<Base>::published_seq() {
  return t_.meta.read().published_seq;
}

template <class Base>
Result<std::optional<store::RetryEntry>> MemoryTxn<Base>::get_retry(
    std::string_view client_order_id) {
  const auto& retries = t_.retries.read();
  auto it = retries.find(client_order_id);
  if (it == retries.end()) return std::optional<store::RetryEntry>();
  return std::optional<store::RetryEntry>(it->second);
}

template <class Base>
Result<std::vector<store::RetryEntry>> MemoryTxn<Base>::due_retries(core::TimestampUs now_us,
                                                                    std::size_t limit) {
  std::vector<store::RetryEntry> out;
  const auto& retries = t_.retries.read();
  for (const auto& [due, id] : t_.retries_due.read()) {
    if (out.size() >= limit || due > now_us || due == core::kNeverDue) break;
    auto it = retries.find(id);
    if (it == retries.end() || it->second.due_us != due) {
      return store_error(StoreErrc::kCorrupt, "retries_due[" + std::to_string(due) + "+" +
                                                  printable(id) + "]: no retries entry");
    }
    out.push_back(it->second);
  }
  return out;
}

template <class Base>
Result<std::optional<core::TimestampUs>> MemoryTxn<Base>::next_retry_due() {
  const auto& due = t_.retries_due.read();
  if (due.empty() || due.begin()->first == core::kNeverDue) {
    return std::optional<core::TimestampUs>();
  }
  return std::optional<core::TimestampUs>(due.begin()->first);
}

template <class Base>
Result<store::SessionState> MemoryTxn<Base>::get_session(std::string_view session_id) {
  if (std::string why = session_id_error(session_id); !why.empty()) {
    return store_error(StoreErrc::kNotFound, "fix session: " + why);
  }
  const auto& sessions = t_.sessions.read();
  auto it = sessions.find(session_id);
  if (it == sessions.end()) {
    return store_error(StoreErrc::kNotFound, "fix session " + printable(session_id));
  }
  return it->second;
}

template <class Base>
Result<std::vector<std::string>> MemoryTxn<Base>::get_session_messages(std::string_view session_id,
                                                                       int begin, int end) {
  std::vector<std::string> out;
  if (!session_id_error(session_id).empty()) return out;
  begin = std::max(begin, 1);
  if (end < begin) return out;
  const auto& messages = t_.messages.read();
  const std::string id(session_id);
  for (auto it = messages.lower_bound({id, begin});
       it != messages.end() && it->first.first == id && it->first.second <= end; ++it) {
    out.push_back(it->second);
  }
  return out;
}

template class MemoryTxn<store::ReadTxn>;
template class MemoryTxn<store::WriteTxn>;

}  // namespace brokergw::testing::memory
