// MemoryStore: an in-memory twin of the LMDB store (store::Store, store/store.h) for service
// tests, with fault injection. It owns every table as std::map/std::set values; nothing touches
// the disk, so "durable" means "committed in memory".
//
// Same semantics as open_lmdb_store() (tests/integration/store_contract_test.cpp runs one
// contract against both): submit() from any thread queues a write function; one committer
// thread takes up to max_batch of them, runs each in its own nested transaction (its failure,
// throw, or an injected fault it ignored rolls back only its own writes), applies the group at
// once, then runs every `done` callback on the committer thread. read() runs in the caller's
// thread on a snapshot of the last applied group: it never waits for the committer (a read
// function may even wait for a write it submitted, as with LMDB's MVCC). Keys follow LMDB's limits
// (511 bytes; empty or longer keys are kAborted on write) and orders, ties and error codes are the
// LMDB store's (byte order of keys, kCorrupt where an index disagrees with its table).
//
// Threads: every public member may be called from any thread, except close() (and the
// destructor) from a `done` callback, which aborts as in the LMDB store. Fault predicates run on
// the committer thread, inside a write function, and must not call the store.
//
// Invariants: a snapshot shows whole groups only; a group either applies every write of the
// functions that succeeded in it or (injected commit failure) none; a `done` callback reports
// success only after its group was applied; stats().commits counts applied groups.
//
// Cost: a group copies each table it writes once (orders and events hold their records behind
// shared pointers, so that is a node per record), so it is meant for test-sized data.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string_view>

#include "store/store.h"

namespace brokergw::testing {

// One write operation a write function is about to perform, as fail_writes_matching sees it.
struct WriteOp {
  std::string_view name;  // the WriteTxn method: "insert_order", "update_order", "append_event",
                          // "schedule_retry", "put_session_message", ...
  std::string_view key;   // its record's key: the client_order_id (orders, retries), the client
                          // cancel id, broker '\0' id (broker ids, exec ids), the session id;
                          // empty for events, the published cursor and compaction
};

struct FaultCounters {
  std::uint64_t commits = 0;                   // groups applied (as stats().commits)
  std::uint64_t injected_commit_failures = 0;  // groups dropped by fail_commit
  std::uint64_t injected_write_failures = 0;   // functions failed unrun by fail_next_writes
  std::uint64_t injected_op_failures = 0;      // operations failed by fail_writes_matching
  std::uint64_t map_full_failures = 0;         // operations refused by set_map_full
};

class MemoryStore final : public store::Store {
 public:
  explicit MemoryStore(std::size_t max_batch = 512);
  ~MemoryStore() override;  // close()
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // store::Store. After close(), submit runs `done` at once in the caller's thread with
  // kShuttingDown, and read() is kShuttingDown.
  void submit(WriteFn fn, DoneFn done) override;
  store::Status read(const std::function<store::Status(store::ReadTxn&)>& fn) override;
  store::StoreStats stats() const override;
  void close() override;

  // Blocks until every function submitted before the call has run and its `done` returned.
  // Not from a `done` callback.
  void flush();

  // ---- fault injection (any thread; each takes effect for what the committer does next) ----

  // The n-th group commit from now (n >= 1; 0 counts as 1) fails with `code`: nothing of that
  // group is applied, and every function of it that had succeeded gets the error (one that
  // failed by itself keeps its own error, as with LMDB). A group in which every function
  // failed is no commit (LMDB aborts it without a sync) and does not count.
  void fail_commit(std::size_t n, store::StoreErrc code);
  // The next `count` functions submitted after this call fail with `code` without running.
  void fail_next_writes(std::size_t count, store::StoreErrc code);
  // Up to `count` write operations for which pred returns true fail with `code` and change
  // nothing; the function then fails with that error even if it ignored it (as an LMDB error
  // poisons its transaction). Replaces an earlier predicate; a null pred removes it.
  void fail_writes_matching(std::function<bool(const WriteOp&)> pred, store::StoreErrc code,
                            std::size_t count = std::numeric_limits<std::size_t>::max());
  // While full, every operation that stores a record (insert, update, upsert, append, schedule,
  // session puts and resets) fails with kMapFull and poisons its function, like LMDB's
  // MDB_MAP_FULL; lookups, deletions (cancel_retry, compact, trims) and set_published_seq (a
  // fixed-size overwrite) still work, so a test can check that reads go on.
  void set_map_full(bool full);
  // Removes every pending fault (counters stay).
  void clear_faults();
  FaultCounters faults() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace brokergw::testing
