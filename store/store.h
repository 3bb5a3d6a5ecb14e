// The durable store: typed tables behind a narrow interface. The gateway sees only this
// header; LMDB stays inside store/lmdb_*.cpp. tests/support/memory_store.h is an in-memory
// twin with the same contract (and fault injection) for service tests.
//
// Tables (one LMDB database each):
//   orders        client_order_id            -> {version, order}
//   broker_ids    broker '\0' broker_order_id -> client_order_id
//   cancels       client_cancel_id            -> CancelRecord
//   exec_seen     broker '\0' client_order_id '\0' exec_id -> ExecRecord   execution reports
//                 as first stored (de-duplication, busts and corrections). A key broker '\0'
//                 exec_id (no second '\0') is a record of an earlier version, read as legacy.
//   exec_seen_by_time  first-seen time + key   -> (empty)           bounded dedup compaction
//   events        big-endian seq              -> StoredEvent       the event journal / outbox
//   open_orders   broker '\0' client_order_id -> (empty)          non-terminal orders, kept by
//                                                                  insert_order/update_order
//   retries       client_order_id             -> RetryEntry        the schedule (one per order)
//   retries_due   big-endian due_us + id      -> (empty)           the schedule by due time
//   meta          "schema_version"            -> "2"       "1" is migrated at open (the
//                                                            open_orders index is built); any
//                                                            other version is refused
//                 "last_event_seq", "published_seq"          event sequence and Kafka cursor
//                 "open_count" '\0' broker                   the broker's open_orders keys
//   fix_sessions  session_id                  -> SessionState      FIX sequence numbers
//   fix_messages  session_id '\0' big-endian u32 seq -> raw FIX message   sent messages
//
// Threads: submit() may be called from any thread. Write functions run on the store's single
// committer thread, each in its own nested transaction inside one group commit; `done`
// callbacks run on the committer thread after the group's synced commit, so they must be
// short (hand work to another thread). read() runs in the caller's thread on a read snapshot.
//
// Invariant: no `done` callback reports success before the data is on disk (fsync'd).
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "gateway/core/exec_content.h"
#include "gateway/core/order.h"
#include "gateway/core/resolution.h"

namespace brokergw::store {

enum class StoreErrc {
  kNotFound,
  kAlreadyExists,
  kVersionConflict,  // compare-and-set lost: someone else updated the order first
  kMapFull,          // the LMDB map is full: an operator must grow store.map_size_mb
  kIo,               // disk error (EIO, ENOSPC, ...)
  kCorrupt,          // a record failed to decode
  kShuttingDown,
  kAborted,  // the write function itself returned an error (see detail)
};
std::string_view to_string(StoreErrc c);

struct StoreError {
  StoreErrc code;
  std::string detail;
  // Worth retrying the same write later (conflicts, full disk once space is freed).
  bool retriable() const { return code == StoreErrc::kVersionConflict || code == StoreErrc::kIo; }
};

template <class T>
using Result = tl::expected<T, StoreError>;
using Status = Result<void>;

inline tl::unexpected<StoreError> store_error(StoreErrc code, std::string detail = {}) {
  return tl::unexpected(StoreError{code, std::move(detail)});
}

struct VersionedOrder {
  core::Order order;
  std::uint64_t version = 0;  // 1 on insert, +1 on every update
};

struct CancelRecord {
  std::string client_cancel_id;
  std::string client_order_id;
  core::TimestampUs created_us = 0;
};

// One execution event: what internal clients consume (Kafka and the polling API). The global
// event id is "<instance_id>-<seq>"; seq is gap-free within one gateway instance.
struct StoredEvent {
  std::uint64_t seq = 0;  // assigned by append_event: last_event_seq + 1
  std::string type;       // "order.fill", "order.canceled", ...
  std::string broker;
  std::string account;
  std::string client_order_id;
  core::TimestampUs at_us = 0;
  std::string body;  // JSON object text with the event's fields, rendered by the service
};

// An order's one schedule entry: what it waits for and when that falls due (core::Wait).
// Stored with the step's name (core::to_string(Step)), so the format stays readable; a record
// with another name reads as kCorrupt naming the field (retry.action). An entry due at
// core::kNeverDue is kept and indexed but never falls due (due_retries, next_retry_due).
// deadline_us is stored as well; a record written before it existed reads it as 0.
struct RetryEntry {
  std::string client_order_id;
  core::TimestampUs due_us = 0;  // core::kNeverDue for Step::kAttention
  std::uint32_t attempt = 0;     // resolution attempts already made
  core::Step step = core::Step::kDeadline;
  core::TimestampUs deadline_us = 0;  // core::Wait::deadline_us (0: none)

  core::Wait wait() const { return {step, due_us, attempt, deadline_us}; }
  static RetryEntry of(std::string client_order_id, const core::Wait& w) {
    return {std::move(client_order_id), w.due_us, w.attempt, w.step, w.deadline_us};
  }
  friend bool operator==(const RetryEntry&, const RetryEntry&) = default;
};

// One execution report as the gateway first stored it, under (broker, ClOrdID, ExecID).
struct ExecRecord {
  core::TimestampUs seen_us = 0;  // drives retention (compact)
  core::ExecContent content;      // what a later report with this ExecID must match
  // The fill it booked (zero quantity when none): busts take it back, corrections replace it.
  core::Qty booked_qty;
  core::Price booked_px;
  bool busted = false;
  bool legacy = false;  // stored by an earlier version under broker + ExecID, without content
  friend bool operator==(const ExecRecord&, const ExecRecord&) = default;
};

struct CompactionStats {
  std::size_t events_deleted = 0;
  std::size_t dedup_keys_deleted = 0;
  bool more = false;  // the per-call bound was reached; call again
};

// One FIX session's sequence numbers (the QuickFIX MessageStore lives in adapters/fix; the store
// only sees these values). session_id is QuickFIX's SessionID::toString().
struct SessionState {
  std::int32_t next_sender = 1;       // >= 1
  std::int32_t next_target = 1;       // >= 1
  core::TimestampUs creation_us = 0;  // when the session was created or last reset
};

// Orders an operator must reconcile: fills missing (core::fills_missing), unverified
// (Order::unverified), or either.
enum class Discrepancy { kAny, kFillsMissing, kUnverified };

struct OrderFilter {
  std::optional<Discrepancy> discrepancy;
  std::optional<std::string> account;
  std::optional<std::string> broker;
  std::optional<std::string> symbol;
  std::optional<core::OrderState> state;
};

class ReadTxn {
 public:
  virtual ~ReadTxn() = default;
  virtual Result<VersionedOrder> get_order(std::string_view client_order_id) = 0;
  virtual Result<std::string> find_by_broker_order_id(std::string_view broker,
                                                      std::string_view broker_order_id) = 0;
  virtual Result<CancelRecord> get_cancel(std::string_view client_cancel_id) = 0;
  // The report stored under (broker, client_order_id, exec_id); else a legacy record under
  // (broker, exec_id) (legacy = true, no content); else nullopt.
  virtual Result<std::optional<ExecRecord>> find_exec(std::string_view broker,
                                                      std::string_view client_order_id,
                                                      std::string_view exec_id) = 0;
  // Shorthand: is a report of no order (client_order_id "") stored under exec_id?
  Result<bool> exec_seen(std::string_view broker, std::string_view exec_id) {
    auto r = find_exec(broker, "", exec_id);
    if (!r) return tl::unexpected(r.error());
    return r->has_value();
  }
  // Orders in client_order_id order, strictly after `after` (empty: from the start), at most
  // `limit` matching ones.
  virtual Result<std::vector<VersionedOrder>> list_orders(const OrderFilter& filter,
                                                          std::string_view after,
                                                          std::size_t limit) = 0;
  // Visits every order; stops early when fn returns false.
  virtual Status for_each_order(const std::function<bool(const VersionedOrder&)>& fn) = 0;
  // Visits the non-terminal orders of `broker` (every broker when empty) in client_order_id
  // order, strictly after `after`, from the open-orders index (so the cost is the number of
  // open orders, not of all orders ever stored); stops early when fn returns false.
  // Every broker: brokers in byte order, each one's orders in client_order_id order, and
  // `after` applies within each broker (the walk is the index's key order, broker '\0' id).
  // fn may write through the same transaction (update the order it was given, even end it).
  // An index entry without its open order is kCorrupt.
  virtual Status for_each_open_order(std::string_view broker, std::string_view after,
                                     const std::function<bool(const VersionedOrder&)>& fn) = 0;
  // Non-terminal orders of `broker` (every broker when empty), from the index. O(1): one
  // broker is one meta lookup (the count insert_order/update_order keep), every broker is the
  // index's entry count.
  virtual Result<std::size_t> count_open_orders(std::string_view broker) = 0;

  // Events with seq > after_seq, in seq order, at most limit.
  virtual Result<std::vector<StoredEvent>> events_after(std::uint64_t after_seq,
                                                        std::size_t limit) = 0;
  virtual Result<std::uint64_t> last_event_seq() = 0;   // 0 when no event was ever appended
  virtual Result<std::uint64_t> first_event_seq() = 0;  // oldest retained event, 0 when none
  // Every event with seq <= published_seq was delivered to Kafka (0 at first).
  virtual Result<std::uint64_t> published_seq() = 0;

  virtual Result<std::optional<RetryEntry>> get_retry(std::string_view client_order_id) = 0;
  // Entries with due_us <= now_us, earliest first (ties in client_order_id order), at most
  // limit. Never a kNeverDue entry, whatever now_us.
  virtual Result<std::vector<RetryEntry>> due_retries(core::TimestampUs now_us,
                                                      std::size_t limit) = 0;
  // The earliest due time of any entry, nullopt when the schedule is empty or holds only
  // kNeverDue entries (nothing will ever fall due: the timer may sleep until the next write).
  virtual Result<std::optional<core::TimestampUs>> next_retry_due() = 0;

  // FIX session store. kNotFound when the session was never stored.
  virtual Result<SessionState> get_session(std::string_view session_id) = 0;
  // The stored messages with begin <= seq <= end, in seq order; missing seqs are skipped.
  virtual Result<std::vector<std::string>> get_session_messages(std::string_view session_id,
                                                                int begin, int end) = 0;
};

class WriteTxn : public ReadTxn {
 public:
  // Inserts with version 1; kAlreadyExists if the client_order_id is taken. insert_order and
  // update_order keep open_orders in the same transaction: the order's key is there iff its
  // state is not terminal (core::is_terminal). An open order needs a valid broker name
  // (non-empty, no '\0', at most 500 bytes) and broker + id of at most 510 bytes, else
  // kAborted.
  virtual Status insert_order(const core::Order& order) = 0;
  // Compare-and-set: succeeds only if the stored version equals expected_version; returns
  // the new version.
  virtual Result<std::uint64_t> update_order(const core::Order& order,
                                             std::uint64_t expected_version) = 0;
  virtual Status put_broker_order_id(std::string_view broker, std::string_view broker_order_id,
                                     std::string_view client_order_id) = 0;
  // kAlreadyExists if the cancel id is taken.
  virtual Status insert_cancel(const CancelRecord& record) = 0;
  // Inserts the record under (broker, client_order_id, exec_id), or replaces it (a bust or
  // correction of its fill); a replacement keeps the first seen_us, whatever record says.
  // The key must fit the index: broker + client_order_id + exec_id + 2 at most 503 bytes.
  virtual Status put_exec(std::string_view broker, std::string_view client_order_id,
                          std::string_view exec_id, const ExecRecord& record) = 0;
  // Shorthand: stores a content-less report of no order (client_order_id ""); kAlreadyExists
  // when one is stored under exec_id.
  Status mark_exec_seen(std::string_view broker, std::string_view exec_id,
                        core::TimestampUs seen_at_us) {
    auto r = find_exec(broker, "", exec_id);
    if (!r) return tl::unexpected(r.error());
    if (*r) return store_error(StoreErrc::kAlreadyExists, "exec already seen");
    ExecRecord record;
    record.seen_us = seen_at_us;
    return put_exec(broker, "", exec_id, record);
  }

  // Appends with seq = last_event_seq + 1 (ignoring event.seq) and returns that seq.
  virtual Result<std::uint64_t> append_event(const StoredEvent& event) = 0;
  // Monotonic: a value below the stored cursor is ignored; above last_event_seq is kAborted.
  virtual Status set_published_seq(std::uint64_t seq) = 0;
  // Deletes events from the oldest end while they are published (seq <= published_seq) and
  // older than events_before_us (it stops at the first one that must stay, so the kept events
  // are always one range without holes), and dedup keys first seen before dedup_before_us;
  // at most max_items deletions per call. Never deletes an unpublished event.
  // last_event_seq survives even when every event is deleted.
  virtual Result<CompactionStats> compact(core::TimestampUs events_before_us,
                                          core::TimestampUs dedup_before_us,
                                          std::size_t max_items) = 0;

  // One entry per order: replaces any earlier entry of the same order (and its due index).
  // due_us may be core::kNeverDue (Step::kAttention): such an entry never falls due.
  virtual Status schedule_retry(const RetryEntry& entry) = 0;
  // No-op when the order has no entry.
  virtual Status cancel_retry(std::string_view client_order_id) = 0;

  // FIX session store. A session_id is non-empty, has no '\0' and at most max key size - 5
  // bytes (the message key appends '\0' and 4 bytes of seq); otherwise kAborted.
  // Inserts or replaces the session's state; sequence numbers below 1 are kAborted.
  virtual Status put_session(std::string_view session_id, const SessionState& state) = 0;
  // Inserts or replaces the message stored under seq (>= 1, else kAborted).
  virtual Status put_session_message(std::string_view session_id, int seq,
                                     std::string_view message) = 0;
  // Deletes the session's messages with seq < below_seq, oldest first, at most max_items;
  // returns how many it deleted (fewer than max_items: nothing older is left).
  virtual Result<std::size_t> trim_session_messages(std::string_view session_id, int below_seq,
                                                    std::size_t max_items) = 0;
  // Deletes every message of the session and stores {1, 1, creation_us}.
  virtual Status reset_session(std::string_view session_id, core::TimestampUs creation_us) = 0;
};

struct StoreStats {
  std::uint64_t commits = 0;  // synced group commits
  std::uint64_t writes = 0;   // write functions run
  std::uint64_t failed_commits = 0;
  std::uint64_t max_batch = 0;
};

class Store {
 public:
  using WriteFn = std::function<Status(WriteTxn&)>;
  using DoneFn = std::function<void(Status)>;

  virtual ~Store() = default;

  // Queues fn for the next group commit. `done` gets fn's own error if fn failed (its writes
  // are rolled back, the rest of the group is not affected), the commit's error if the
  // commit failed, or success once the group is durable.
  virtual void submit(WriteFn fn, DoneFn done) = 0;
  virtual Status read(const std::function<Status(ReadTxn&)>& fn) = 0;
  virtual StoreStats stats() const = 0;
  // Drains queued writes, then stops the committer. Later submits get kShuttingDown.
  virtual void close() = 0;

  // Synchronous helper: runs fn in the next group commit and waits until it is durable.
  // fn fills `out` through the captured reference; it is returned only on success.
  template <class T, class F>
  Result<T> write_and_wait(F&& fn) {
    auto out = std::make_shared<std::optional<T>>();
    // Shared, not on this stack: the committer may still be inside set_value() when get()
    // returns here.
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    submit([out, f = std::forward<F>(fn)](WriteTxn& txn) -> Status { return f(txn, *out); },
           [promise](Status s) { promise->set_value(std::move(s)); });
    Status s = future.get();
    if (!s) return tl::unexpected(s.error());
    if (!out->has_value()) {
      return store_error(StoreErrc::kAborted, "write function succeeded without a result");
    }
    return std::move(**out);
  }
  Status write_and_wait(WriteFn fn) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    submit(std::move(fn), [promise](Status s) { promise->set_value(std::move(s)); });
    return future.get();
  }
};

struct LmdbOptions {
  std::string directory;  // created if missing (mode 0700)
  std::uint64_t map_size_bytes = 1ull << 30;
  std::size_t max_batch = 512;  // write functions per group commit
};

// Opens (creating if needed) the LMDB environment; errors name the path and the reason.
Result<std::unique_ptr<Store>> open_lmdb_store(const LmdbOptions& options);

}  // namespace brokergw::store
