// MemoryStore (tests/support/memory_store.h): the queue, the committer thread and its group
// commits, snapshots for readers, and the fault injection. The committer mirrors the LMDB
// store's (store/lmdb_store.cpp): up to max_batch functions per group, each in its own nested
// transaction (here: an undo log on the group's copy-on-write tables), one apply per group
// (here: publishing the copies as the readers' next snapshot), then every callback.
#include "tests/support/memory_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/memory_tables.h"

namespace brokergw::testing {

using store::Status;
using store::StoreErrc;
using store::StoreError;

struct MemoryStore::Impl {
  struct Item {
    WriteFn fn;
    DoneFn done;
    std::optional<StoreErrc> doomed;  // fail_next_writes: fails with this, unrun
  };

  explicit Impl(std::size_t max_batch) : max_batch(std::max<std::size_t>(1, max_batch)) {
    fault_check = [this](const WriteOp& op, bool storing) { return check_op(op, storing); };
    committer = std::thread([this] { run_committer(); });
    committer_id = committer.get_id();
  }

  // Committer thread.
  void run_committer() {
    std::vector<Item> batch;
    for (;;) {
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [this] { return !queue.empty() || closing; });
        if (queue.empty()) return;
        std::size_t n = std::min(max_batch, queue.size());
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      commit_batch(batch);
      {
        std::lock_guard lock(queue_mu);
        completed += batch.size();
      }
      done_cv.notify_all();
      batch.clear();
    }
  }

  // Committer thread: every function, one apply (or none), then every callback.
  void commit_batch(std::vector<Item>& batch) {
    std::vector<Status> results(batch.size());
    std::size_t ran = 0;
    std::size_t succeeded = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].doomed) {
        {
          std::lock_guard lock(fault_mu);
          ++counters.injected_write_failures;
        }
        results[i] = store::store_error(*batch[i].doomed,
                                        "memory store: injected write failure (fail_next_writes)");
        continue;
      }
      ++ran;
      results[i] = run_nested(batch[i].fn);
      if (results[i]) ++succeeded;
    }
    writes.fetch_add(ran, std::memory_order_relaxed);
    if (batch.size() > max_batch_seen.load(std::memory_order_relaxed)) {
      max_batch_seen.store(batch.size(), std::memory_order_relaxed);
    }
    if (succeeded == 0) {
      work.discard();  // nothing to apply (LMDB aborts such a group without a sync)
    } else {
      std::optional<StoreErrc> fault;
      {
        std::lock_guard lock(fault_mu);
        ++commit_attempts;
        auto it = commit_faults.find(commit_attempts);
        if (it != commit_faults.end()) {
          fault = it->second;
          commit_faults.erase(it);
          ++counters.injected_commit_failures;
        }
      }
      if (fault) {
        work.discard();
        failed_commits.fetch_add(1, std::memory_order_relaxed);
        const StoreError e{*fault, "memory store: injected commit failure (fail_commit)"};
        for (Status& r : results) {
          if (r) r = tl::unexpected(e);
        }
      } else {
        work.publish();
        {
          std::lock_guard lock(snap_mu);
          published = work;
        }
        commits.fetch_add(1, std::memory_order_relaxed);
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(std::move(results[i]));
    }
  }

  // Committer thread: fn in its own nested transaction; its failure undoes only its writes.
  Status run_nested(const WriteFn& fn) {
    memory::MemoryWriteTxn txn(work, fault_check);
    Status s;
    try {
      s = fn ? fn(txn) : Status{};
    } catch (const std::exception& e) {
      s = store::store_error(StoreErrc::kAborted, std::string("write function threw: ") + e.what());
    } catch (...) {
      s = store::store_error(StoreErrc::kAborted, "write function threw");
    }
    if (s && txn.poisoned()) s = tl::unexpected(*txn.poisoned());
    if (!s) txn.rollback();
    return s;
  }

  // Committer thread, inside a write operation.
  std::optional<StoreError> check_op(const WriteOp& op, bool storing) {
    std::lock_guard lock(fault_mu);
    if (storing) {
      if (!map_full) return std::nullopt;
      ++counters.map_full_failures;
      return StoreError{StoreErrc::kMapFull,
                        "memory store: map full (set_map_full): " + std::string(op.name)};
    }
    if (!op_pred || op_count == 0 || !op_pred(op)) return std::nullopt;
    --op_count;
    ++counters.injected_op_failures;
    return StoreError{op_code, "memory store: injected failure (fail_writes_matching) of " +
                                   std::string(op.name) + " " + memory::printable(op.key)};
  }

  void abort_on_committer(const char* what) const {
    if (std::this_thread::get_id() == committer_id) {
      std::fprintf(stderr, "brokergw memory store: %s called from a done callback\n", what);
      std::abort();
    }
  }

  const std::size_t max_batch;

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::condition_variable done_cv;
  std::deque<Item> queue;       // guarded by queue_mu
  bool closing = false;         // guarded by queue_mu
  std::uint64_t submitted = 0;  // guarded by queue_mu
  std::uint64_t completed = 0;  // guarded by queue_mu; callbacks returned
  std::thread committer;
  std::thread::id committer_id;  // set once, before any other thread sees the store

  std::mutex close_mu;
  bool closed = false;  // guarded by close_mu
  std::atomic<bool> reads_closed{false};

  std::mutex snap_mu;
  memory::Tables published;  // guarded by snap_mu; what read() copies (no private copies)
  memory::Tables work;       // committer only

  std::mutex fault_mu;  // guards everything below up to the counters; taken after queue_mu
  std::map<std::uint64_t, StoreErrc> commit_faults;  // commit attempt number -> code
  std::uint64_t commit_attempts = 0;
  std::size_t doom_count = 0;
  StoreErrc doom_code = StoreErrc::kIo;
  std::function<bool(const WriteOp&)> op_pred;
  StoreErrc op_code = StoreErrc::kIo;
  std::size_t op_count = 0;
  bool map_full = false;
  FaultCounters counters;
  memory::FaultCheck fault_check;  // set once, before the committer starts

  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> failed_commits{0};
  std::atomic<std::uint64_t> max_batch_seen{0};
};

MemoryStore::MemoryStore(std::size_t max_batch) : impl_(std::make_unique<Impl>(max_batch)) {}

MemoryStore::~MemoryStore() { close(); }

void MemoryStore::submit(WriteFn fn, DoneFn done) {
  {
    std::lock_guard lock(impl_->queue_mu);
    if (!impl_->closing) {
      std::optional<StoreErrc> doomed;
      {
        std::lock_guard faults(impl_->fault_mu);
        if (impl_->doom_count > 0) {
          --impl_->doom_count;
          doomed = impl_->doom_code;
        }
      }
      impl_->queue.push_back(Impl::Item{std::move(fn), std::move(done), doomed});
      ++impl_->submitted;
      impl_->queue_cv.notify_one();
      return;
    }
  }
  if (done) done(store::store_error(StoreErrc::kShuttingDown, "memory store: closed"));
}

Status MemoryStore::read(const std::function<Status(store::ReadTxn&)>& fn) {
  if (impl_->reads_closed.load()) {
    return store::store_error(StoreErrc::kShuttingDown, "memory store: closed");
  }
  memory::Tables snapshot = [this] {
    std::lock_guard lock(impl_->snap_mu);
    return impl_->published;  // the tables' shared pointers, not their contents
  }();
  memory::MemoryReadTxn txn(snapshot);
  return fn(txn);
}

store::StoreStats MemoryStore::stats() const {
  store::StoreStats s;
  s.commits = impl_->commits.load(std::memory_order_relaxed);
  s.writes = impl_->writes.load(std::memory_order_relaxed);
  s.failed_commits = impl_->failed_commits.load(std::memory_order_relaxed);
  s.max_batch = impl_->max_batch_seen.load(std::memory_order_relaxed);
  return s;
}

void MemoryStore::close() {
  std::lock_guard close_lock(impl_->close_mu);
  if (impl_->closed) return;
  impl_->abort_on_committer("close()");
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->closing = true;
  }
  impl_->queue_cv.notify_all();
  impl_->committer.join();
  impl_->reads_closed.store(true);
  impl_->closed = true;
}

void MemoryStore::flush() {
  impl_->abort_on_committer("flush()");
  std::unique_lock lock(impl_->queue_mu);
  const std::uint64_t target = impl_->submitted;
  impl_->done_cv.wait(lock, [&] { return impl_->completed >= target; });
}

void MemoryStore::fail_commit(std::size_t n, StoreErrc code) {
  std::lock_guard lock(impl_->fault_mu);
  impl_->commit_faults[impl_->commit_attempts + std::max<std::size_t>(n, 1)] = code;
}

void MemoryStore::fail_next_writes(std::size_t count, StoreErrc code) {
  std::lock_guard lock(impl_->fault_mu);
  impl_->doom_count = count;
  impl_->doom_code = code;
}

void MemoryStore::fail_writes_matching(std::function<bool(const WriteOp&)> pred, StoreErrc code,
                                       std::size_t count) {
  std::lock_guard lock(impl_->fault_mu);
  impl_->op_pred = std::move(pred);
  impl_->op_code = code;
  impl_->op_count = impl_->op_pred ? count : 0;
}

void MemoryStore::set_map_full(bool full) {
  std::lock_guard lock(impl_->fault_mu);
  impl_->map_full = full;
}

void MemoryStore::clear_faults() {
  std::lock_guard lock(impl_->fault_mu);
  impl_->commit_faults.clear();
  impl_->doom_count = 0;
  impl_->op_pred = nullptr;
  impl_->op_count = 0;
  impl_->map_full = false;
}

FaultCounters MemoryStore::faults() const {
  std::lock_guard lock(impl_->fault_mu);
  FaultCounters c = impl_->counters;
  c.commits = impl_->commits.load(std::memory_order_relaxed);
  return c;
}

}  // namespace brokergw::testing
