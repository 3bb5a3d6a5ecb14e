// Internal to MemoryStore (tests/support/memory_store.h): its tables and the transactions that
// implement store::ReadTxn and store::WriteTxn on them. Only tests/support/memory_*.cpp include
// this header.
//
// Tables: one std::map or std::set per LMDB table, keyed as the LMDB store keys it (std::string
// compares bytes as memcmp does, so every walk has LMDB's order). Each table is copy-on-write
// (Cow): a published snapshot is never changed; the committer's first write to a table in a
// group clones it, and the group's end either publishes the clones or drops them.
//
// Threads: a MemoryTxn is used by one thread: a reader on its own snapshot copy of Tables, or the
// committer on its working Tables. MemoryWriteTxn records an undo entry before each change, so a
// failed write function is rolled back without touching the rest of its group.
//
// Invariants (kept by MemoryWriteTxn as by the LMDB store): retries and retries_due hold the
// same entries; exec_seen and exec_seen_by_time the same keys; open_orders holds broker '\0' id
// exactly for the non-terminal orders and open_counts the number of each broker's keys (no
// entry for 0); meta.last_event_seq >= every event's seq.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/keys.h"
#include "store/store.h"
#include "tests/support/memory_store.h"

namespace brokergw::testing::memory {

constexpr std::size_t kMaxKey = 511;  // LMDB's default maximum key size

template <class T>
class Cow {
 public:
  const T& read() const { return own_ ? *own_ : *shared_; }
  T& write() {
    if (!own_) own_ = std::make_shared<T>(*shared_);
    return *own_;
  }
  void publish() {
    if (own_) shared_ = std::move(own_);
    own_.reset();
  }
  void discard() { own_.reset(); }
  bool dirty() const { return own_ != nullptr; }

 private:
  std::shared_ptr<const T> shared_ = std::make_shared<const T>();
  std::shared_ptr<T> own_;
};

struct Meta {
  std::uint64_t last_event_seq = 0;
  std::uint64_t published_seq = 0;
};

struct Tables {
  template <class V>
  using ByKey = std::map<std::string, V, std::less<>>;
  using TimeIndex = std::set<std::pair<core::TimestampUs, std::string>>;

  Cow<ByKey<std::shared_ptr<const store::VersionedOrder>>> orders;
  Cow<ByKey<std::string>> broker_ids;
  Cow<ByKey<store::CancelRecord>> cancels;
  Cow<ByKey<store::ExecRecord>> exec_seen;  // seen_us is the first-seen time
  Cow<TimeIndex> exec_seen_by_time;
  Cow<std::map<std::uint64_t, std::shared_ptr<const store::StoredEvent>>> events;
  Cow<std::set<std::string, std::less<>>> open_orders;
  Cow<ByKey<std::uint64_t>> open_counts;
  Cow<ByKey<store::RetryEntry>> retries;
  Cow<TimeIndex> retries_due;
  Cow<Meta> meta;
  Cow<ByKey<store::SessionState>> sessions;
  Cow<std::map<std::pair<std::string, int>, std::string>> messages;

  template <class F>
  void each(F&& f) {
    f(orders), f(broker_ids), f(cancels), f(exec_seen), f(exec_seen_by_time), f(events);
    f(open_orders), f(open_counts), f(retries), f(retries_due), f(meta), f(sessions);
    f(messages);
  }
  void publish() {
    each([](auto& t) { t.publish(); });
  }
  void discard() {
    each([](auto& t) { t.discard(); });
  }
};

// The store's own key rules (store/keys.h), with LMDB's default maximum key size.
using store::keys::broker_key;
using store::keys::broker_name_error;
using store::keys::printable;
inline std::string retry_id_error(std::string_view id) {
  return store::keys::retry_id_error(id, kMaxKey);
}
inline std::string session_id_error(std::string_view id) {
  return store::keys::session_id_error(id, kMaxKey);
}

// The read operations, on a snapshot (Base = ReadTxn) or the committer's working tables
// (Base = WriteTxn). Does not own the tables.
template <class Base>
class MemoryTxn : public Base {
 public:
  explicit MemoryTxn(Tables& t) : t_(t) {}

  store::Result<store::VersionedOrder> get_order(std::string_view client_order_id) override;
  store::Result<std::string> find_by_broker_order_id(std::string_view broker,
                                                     std::string_view broker_order_id) override;
  store::Result<store::CancelRecord> get_cancel(std::string_view client_cancel_id) override;
  store::Result<std::optional<store::ExecRecord>> find_exec(std::string_view broker,
                                                            std::string_view client_order_id,
                                                            std::string_view exec_id) override;
  store::Result<std::vector<store::VersionedOrder>> list_orders(const store::OrderFilter& filter,
                                                                std::string_view after,
                                                                std::size_t limit) override;
  store::Status for_each_order(
      const std::function<bool(const store::VersionedOrder&)>& fn) override;
  store::Status for_each_open_order(
      std::string_view broker, std::string_view after,
      const std::function<bool(const store::VersionedOrder&)>& fn) override;
  store::Result<std::size_t> count_open_orders(std::string_view broker) override;
  store::Result<std::vector<store::StoredEvent>> events_after(std::uint64_t after_seq,
                                                              std::size_t limit) override;
  store::Result<std::uint64_t> last_event_seq() override;
  store::Result<std::uint64_t> first_event_seq() override;
  store::Result<std::uint64_t> published_seq() override;
  store::Result<std::optional<store::RetryEntry>> get_retry(
      std::string_view client_order_id) override;
  store::Result<std::vector<store::RetryEntry>> due_retries(core::TimestampUs now_us,
                                                            std::size_t limit) override;
  store::Result<std::optional<core::TimestampUs>> next_retry_due() override;
  store::Result<store::SessionState> get_session(std::string_view session_id) override;
  store::Result<std::vector<std::string>> get_session_messages(std::string_view session_id,
                                                               int begin, int end) override;

 protected:
  Tables& t_;
};

using MemoryReadTxn = MemoryTxn<store::ReadTxn>;

// What a write operation asks the store's fault injection: nullopt to go on, else the error it
// fails with. Asked once when the operation starts (storing false: fail_writes_matching), and
// once more right before an operation that stores a record changes anything (storing true:
// set_map_full), after its own checks, so a duplicate is kAlreadyExists even when full.
using FaultCheck = std::function<std::optional<store::StoreError>(const WriteOp& op, bool storing)>;

// One write function's nested transaction on the committer's working tables.
class MemoryWriteTxn final : public MemoryTxn<store::WriteTxn> {
 public:
  MemoryWriteTxn(Tables& t, const FaultCheck& faults) : MemoryTxn(t), faults_(faults) {}

  store::Status insert_order(const core::Order& order) override;
  store::Result<std::uint64_t> update_order(const core::Order& order,
                                            std::uint64_t expected_version) override;
  store::Status put_broker_order_id(std::string_view broker, std::string_view broker_order_id,
                                    std::string_view client_order_id) override;
  store::Status insert_cancel(const store::CancelRecord& record) override;
  store::Status put_exec(std::string_view broker, std::string_view client_order_id,
                         std::string_view exec_id, const store::ExecRecord& record) override;
  store::Result<std::uint64_t> append_event(const store::StoredEvent& event) override;
  store::Status set_published_seq(std::uint64_t seq) override;
  store::Result<store::CompactionStats> compact(core::TimestampUs events_before_us,
                                                core::TimestampUs dedup_before_us,
                                                std::size_t max_items) override;
  store::Status schedule_retry(const store::RetryEntry& entry) override;
  store::Status cancel_retry(std::string_view client_order_id) override;
  store::Status put_session(std::string_view session_id, const store::SessionState& state) override;
  store::Status put_session_message(std::string_view session_id, int seq,
                                    std::string_view message) override;
  store::Result<std::size_t> trim_session_messages(std::string_view session_id, int below_seq,
                                                   std::size_t max_items) override;
  store::Status reset_session(std::string_view session_id, core::TimestampUs creation_us) override;

  // The first injected failure this function met (it fails with it even if it ignored it).
  const std::optional<store::StoreError>& poisoned() const { return poisoned_; }
  // Undoes every change of this function, newest first.
  void rollback();

 private:
  // The fault injection's answers for this operation; a failure poisons the transaction.
  store::Status check_faults(std::string_view name, std::string_view key, bool storing);
  store::Status storing(std::string_view name, std::string_view key) {
    return check_faults(name, key, true);
  }
  tl::unexpected<store::StoreError> poison(store::StoreError e);
  store::Status check_open_key(const core::Order& order) const;
  store::Status reindex_open(const core::Order* before, const core::Order& after);
  store::Status drop_retry(std::string_view id);
  std::size_t delete_messages(std::string_view session_id, std::int64_t below_seq,
                              std::size_t max_items);

  // Records how to restore m[key] (or its absence) before a change.
  template <class M, class K>
  void save(M& m, const K& key) {
    auto it = m.find(key);
    if (it == m.end()) {
      undo_.emplace_back([&m, k = typename M::key_type(key)] { m.erase(k); });
    } else {
      undo_.emplace_back([&m, entry = *it] { m.insert_or_assign(entry.first, entry.second); });
    }
  }
  // The same for a set member.
  template <class S>
  void save_member(S& s, const typename S::key_type& v) {
    if (s.count(v) != 0) {
      undo_.emplace_back([&s, v] { s.insert(v); });
    } else {
      undo_.emplace_back([&s, v] { s.erase(v); });
    }
  }
  Meta& write_meta();

  const FaultCheck& faults_;
  std::optional<store::StoreError> poisoned_;
  std::vector<std::function<void()>> undo_;
};

}  // namespace brokergw::testing::memory
